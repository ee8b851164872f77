"""Wires the latency part: registry on the broker, worker and dispatcher children, the in-process intake."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.intake.submit import build_intake
from entrypoints.bench.data import Encoded, encode
from entrypoints.bench.engine import PureEngine
from entrypoints.bench.latency import RateLatency, child, child_env, measure_rate
from entrypoints.bench.pipeline import produce
from entrypoints.bench.sms_sink import SmsSink
from migrations import upgrade
from runtime.db import make_engine
from runtime.kafka import make_producer
from runtime.settings import Settings
from schemas.codec import AvroCodec
from streams.app import rule_config

WARM_UP = (5, 4.0)  # rate and seconds offered, unmeasured, before the first measured rate


def run_latency(settings: Settings, workdir: Path, registry: Sequence[Encoded], subjects: int,
                rates: Sequence[int], seconds: float, progress: Callable[[str], None],
                settle_s: float = 8.0) -> list[RateLatency]:
    """Latency at each offered rate through intake, worker, dispatcher and the SMS sink (after a warm-up)."""
    raises_sms = sms_predictor(settings, registry)

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
                rate, warm_s = WARM_UP
                measure_rate(intake, ledger, sink, rate, warm_s, subjects, lambda _m: None, settle_s, raises_sms, seed=1)
                progress("  warmed up; measuring")
                return [measure_rate(intake, ledger, sink, rate, seconds, subjects, progress, settle_s, raises_sms)
                        for rate in rates]
    finally:
        producer.close()
        engine.dispose()
        ledger.dispose()


def sms_predictor(settings: Settings, registry: Sequence[Encoded]) -> Callable[[str, dict[str, Any]], bool]:
    """Whether the rules answer an offered record with an alert (the bench sends every alert by SMS): the pure engine
    in step with the worker, so events that raise nothing by design are counted apart, not as unmeasured."""
    engine = PureEngine(rule_config(settings), AvroCodec(prefix=settings.topic_prefix))
    now = datetime.now(UTC)
    for record in registry:
        engine.learn(record, now)

    def raises_sms(topic: str, record: dict[str, Any]) -> bool:
        return engine.step(encode(engine.codec, topic, record), datetime.now(UTC)) > 0

    return raises_sms
