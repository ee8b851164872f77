"""Pipeline throughput: a backlog of agency events through one `drive-alerts worker` process to the alert topic.

The registry (staff and one case snapshot per subject) is produced and fully handled first, outside the timed
window; then the agency events are produced and the window runs from the worker's first resolved agency record to
the moment every record it forwarded has been correlated.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from entrypoints.bench.data import Encoded
from entrypoints.bench.worker_child import WorkerChild, worker_child
from runtime.kafka import make_producer
from runtime.settings import Settings
from schemas.subject_events import SUBJECT_EVENTS
from streams.app import AGENCY_TOPICS

STALL_S = 120.0  # no progress for this long: the run is reported as stuck
POLL_S = 0.05


@dataclass(frozen=True)
class BacklogResult:
    """How long one worker took over a backlog of agency events (from its first record to its last)."""

    events: int
    seconds: float
    produce_seconds: float
    subjects: int
    rss_mb: float  # the worker process's resident memory at the end

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


def run_backlog(settings: Settings, workdir: Path, registry: Sequence[Encoded], events: Sequence[Encoded],
                progress: Callable[[str], None], subjects: int) -> BacklogResult:
    """The registry handled first (untimed), then the agency events through the same worker (timed)."""
    produce(settings, registry)
    with worker_child(settings, workdir / f"worker-{subjects}-{len(events)}") as worker:
        _wait_for(worker, lambda records, forwarded: records.get("case", 0) >= len(registry)
                  and records.get(SUBJECT_EVENTS, 0) >= forwarded, "the registry", progress)
        before, _ = worker.counters()
        base = sum(before.get(t, 0) for t in AGENCY_TOPICS)
        progress(f"  registry of {subjects:,} subjects handled; producing {len(events):,} agency events")
        produce_s = produce(settings, events)
        first = _wait_for(worker, lambda records, _f: sum(records.get(t, 0) for t in AGENCY_TOPICS) > base,
                          "the first agency record", progress)
        done = _wait_for(worker, lambda records, forwarded: sum(records.get(t, 0) for t in AGENCY_TOPICS)
                         >= base + len(events) and records.get(SUBJECT_EVENTS, 0) >= forwarded,
                         "the backlog", progress)
        return BacklogResult(len(events), done - first, produce_s, subjects, worker.rss_mb())


def _wait_for(worker: WorkerChild, finished: Callable[[dict[str, int], int], bool], what: str,
              progress: Callable[[str], None]) -> float:
    """Polls the worker's counters until `finished`; the perf_counter() when it was first seen."""
    last_total, last_change, last_report = -1, time.perf_counter(), time.perf_counter()
    while True:
        records, forwarded = worker.counters()
        now = time.perf_counter()
        if finished(records, forwarded):
            return now
        total = sum(records.values())
        if total != last_total:
            last_total, last_change = total, now
        if now - last_change > STALL_S:
            raise RuntimeError(f"the worker stalled waiting for {what} ({records}, {forwarded} forwarded)")
        if now - last_report >= 10:
            last_report = now
            progress(f"  ... {what}: {records}, {forwarded:,} forwarded")
        time.sleep(POLL_S)
