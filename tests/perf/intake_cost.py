"""Benchmark (not a pytest test): records/s through the intake on SQLite, one batch of N records vs N single submits.

Run:  .venv/bin/python -m tests.perf.intake_cost --records 100 --rounds 5
Each round journals --records fresh incident records into a fresh SQLite journal (WAL, as the intake runs) with
the real codec, hasher and vault and a producer that acknowledges at once: first one Intake.submit per record
(one commit each), then the same number of other records in one Intake.submit_many (one commit for the batch). Both timings end with Intake.flush (the rows marked published).
Prints the best round of each: the intake's own cost, without HTTP or a broker in the way.
"""
from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from types import SimpleNamespace
from typing import Any

import structlog
from kafka.future import Future

from connectors.intake.journal import Journal
from connectors.intake.pseudonymise import NameHasher
from connectors.intake.publisher import RecordPublisher
from connectors.intake.sealed import DeadLetterVault, Sealer
from connectors.intake.submit import Intake, Origin, Submission
from migrations import upgrade
from runtime.db import make_engine
from schemas.codec import AvroCodec
from tests.samples.events import sample

ORIGIN = Origin("http", "police-wm", "POST /v1/topics/incident/events")


class AckingProducer:
    """Accepts every send and acknowledges it at once (offsets in send order)."""

    def __init__(self) -> None:
        self.sent = 0

    def send(self, topic: str, value: bytes, key: bytes) -> Future:
        future = Future()
        future.success(SimpleNamespace(partition=0, offset=self.sent))
        self.sent += 1
        return future

    def flush(self, timeout: float | None = None) -> None:
        return None


def fresh_intake(folder: Path, name: str) -> Intake:
    url = f"sqlite:///{folder / name}"
    upgrade(url)
    engine = make_engine(url)
    vault = DeadLetterVault(engine, Sealer(b"perf-dead-letter-key"), retention_days=30)
    return Intake(journal=Journal(engine), publisher=RecordPublisher(AckingProducer(), AvroCodec(prefix="p."), "p."),
                  hasher=NameHasher(b"perf-key"), vault=vault, prefix="p.")


def records(count: int) -> list[dict[str, Any]]:
    made = [sample("incident", "DOMESTIC_INCIDENT") for _ in range(count)]
    for record in made:
        record.pop("name_hash", None)  # integrators send a name, never a hash: the door reduces it
    return made


def timed(work: Any) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))  # time the work, not the console
    singles, batches = [], []
    with TemporaryDirectory() as tmp:
        for round_no in range(args.rounds):
            intake = fresh_intake(Path(tmp), f"single-{round_no}.db")
            single = records(args.records)
            singles.append(timed(lambda: ([intake.submit("incident", r, ORIGIN) for r in single], intake.flush())))
            intake = fresh_intake(Path(tmp), f"batch-{round_no}.db")
            batch = [Submission("incident", r, ORIGIN) for r in records(args.records)]
            batches.append(timed(lambda: (intake.submit_many(batch), intake.flush())))
    n = args.records
    print(f"{n} single submits: {min(singles) * 1000:.1f} ms = {n / min(singles):,.0f} records/s (best of {args.rounds})")
    print(f"one batch of {n}:   {min(batches) * 1000:.1f} ms = {n / min(batches):,.0f} records/s (best of {args.rounds})")


if __name__ == "__main__":
    main()
