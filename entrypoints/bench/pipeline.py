"""Pipeline throughput: a backlog on the agency topics through one in-process streams worker to the alert topic."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from entrypoints.bench.data import Encoded
from runtime.kafka import make_producer
from runtime.settings import Settings
from schemas.subject_events import SUBJECT_EVENTS
from streams.app import AGENCY_TOPICS, create_app
from streams.metrics import ALERTS
from streams.worker import start_worker, stop_worker

STALL_S = 120.0  # no progress for this long: the run is reported as stuck


@dataclass(frozen=True)
class BacklogResult:
    """How long one worker took over a backlog of agency events (from its first record to its last)."""

    events: int
    seconds: float
    produce_seconds: float
    alerts: int

    @property
    def events_per_s(self) -> float:
        """Agency events through identity, state and rules per second."""
        return self.events / self.seconds if self.seconds > 0 else 0.0


def produce(settings: Settings, records: Sequence[Encoded], **overrides: object) -> float:
    """Sends the records with the project's kafka-python producer and waits for every ack; seconds taken."""
    producer = make_producer(settings, **overrides)
    try:
        start = time.perf_counter()
        for r in records:
            producer.send(settings.topic(r.topic), key=r.key, value=r.value)
        producer.flush()
        return time.perf_counter() - start
    finally:
        producer.close()


def _done(app: object, events: int) -> tuple[int, int, int, bool]:

    resolved = sum(app.processed[t] for t in AGENCY_TOPICS)  # type: ignore[attr-defined]
    correlated = app.processed[SUBJECT_EVENTS]  # type: ignore[attr-defined]
    forwarded = sum(app.forwarded.values())  # type: ignore[attr-defined]
    return resolved, correlated, forwarded, resolved >= events and correlated >= forwarded


async def run_backlog(settings: Settings, workdir: Path, registry: Sequence[Encoded], events: Sequence[Encoded],
                      progress: Callable[[str], None]) -> BacklogResult:
    """Produces the registry and the backlog first, then runs one worker until it has handled every event."""

    await asyncio.to_thread(produce, settings, registry)
    produce_s = await asyncio.to_thread(produce, settings, events)
    progress(f"backlog of {len(events):,} events produced in {produce_s:.1f} s; starting the worker")
    alerts_before = _alert_count(ALERTS)
    app = create_app(settings, datadir=workdir / f"worker-{len(events)}")
    worker = await start_worker(app)
    try:
        first = last_report = None
        last_seen, last_change = -1, time.perf_counter()
        while True:
            await asyncio.sleep(0.05)
            now = time.perf_counter()
            resolved, correlated, forwarded, finished = _done(app, len(events))
            if resolved and first is None:
                first = now
            if resolved + correlated != last_seen:
                last_seen, last_change = resolved + correlated, now
            if finished:
                break
            if now - last_change > STALL_S:
                raise RuntimeError(f"worker stalled at {resolved} of {len(events)} events")
            if last_report is None or now - last_report >= 5:
                last_report = now
                rate = resolved / (now - first) if first and now > first else 0.0
                progress(f"  resolved {resolved:,} / {len(events):,} ({rate:,.0f}/s); correlated {correlated:,} / "
                         f"{forwarded:,} forwarded")
        seconds = time.perf_counter() - (first or time.perf_counter())
    finally:
        await stop_worker(worker)
    return BacklogResult(len(events), seconds, produce_s, _alert_count(ALERTS) - alerts_before)


def _alert_count(counter: object) -> int:
    return int(sum(s.value for m in counter.collect() for s in m.samples if s.name.endswith("_total")))  # type: ignore[attr-defined]
