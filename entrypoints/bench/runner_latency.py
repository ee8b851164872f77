"""Wires the latency part: registry on the broker, worker and dispatcher children, the in-process intake."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from connectors.intake.submit import build_intake
from entrypoints.bench.data import Encoded
from entrypoints.bench.latency import RateLatency, child, child_env, measure_rate
from entrypoints.bench.pipeline import produce
from entrypoints.bench.sms_sink import SmsSink
from migrations import upgrade
from runtime.db import make_engine
from runtime.kafka import make_producer
from runtime.settings import Settings


def run_latency(settings: Settings, workdir: Path, registry: Sequence[Encoded], subjects: int,
                rates: Sequence[int], seconds: float, progress: Callable[[str], None],
                settle_s: float = 8.0) -> list[RateLatency]:
    """Latency at each offered rate through intake, worker, dispatcher and the SMS sink."""

    produce(settings, registry)
    upgrade(settings.resolved_database_url)  # the dispatcher's ledger
    # The intake's journal gets its own SQLite file: sharing one with the dispatcher serialises both on its lock.
    url = f"sqlite:///{workdir / 'intake-journal.db'}"
    upgrade(url)
    engine = make_engine(url)
    ledger = make_engine(settings.resolved_database_url)
    producer = make_producer(settings)
    try:
        with SmsSink() as sink:
            env = child_env(settings, workdir, sink)
            with child("worker", env, "streams_worker_ready"), child("dispatcher", env, "dispatcher_started"):
                progress("worker and dispatcher ready; offering events through the intake")
                intake = build_intake(settings, engine, producer)
                return [measure_rate(intake, ledger, sink, rate, seconds, subjects, progress, settle_s) for rate in rates]
    finally:
        producer.close()
        engine.dispose()
        ledger.dispose()
