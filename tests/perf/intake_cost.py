"""Benchmark (not a pytest test): records/s through the intake on SQLite, one batch of N records vs N single submits.

Run:  .venv/bin/python -m tests.perf.intake_cost --records 100 --rounds 5 [--acks instant]
Each round journals --records fresh incident records into a fresh SQLite journal (WAL, as the intake runs) with
the real codec, hasher and vault and a producer that acknowledges on flush (--acks instant: at once): first one
Intake.submit per record (one journal commit each), then as many other records in one Intake.submit_many (one
commit for the batch). Both timings end with Intake.flush (every row marked published). Prints the best round of
each: the intake's own cost, without HTTP or a broker in the way.
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
    """Accepts every send; acknowledges it at once (`instant`) or on flush, as a real producer's I/O thread does a
    little later (then both ways mark their rows published in one transaction and differ only in journal commits)."""

    def __init__(self, instant: bool) -> None:
        self.instant = instant
        self.sent = 0
        self.unacked: list[Future] = []

    def send(self, topic: str, value: bytes, key: bytes) -> Future:
        future = Future()
        self.unacked.append(future)
        if self.instant:
            self.flush()
        return future

    def flush(self, timeout: float | None = None) -> None:
        for future in self.unacked:
            future.success(SimpleNamespace(partition=0, offset=self.sent))
            self.sent += 1
        self.unacked.clear()


def fresh_intake(folder: Path, name: str, instant: bool) -> Intake:
    url = f"sqlite:///{folder / name}"
    upgrade(url)
    engine = make_engine(url)
    vault = DeadLetterVault(engine, Sealer(b"perf-dead-letter-key"), retention_days=30)
    publisher = RecordPublisher(AckingProducer(instant), AvroCodec(prefix="p."), "p.")
    return Intake(journal=Journal(engine), publisher=publisher, hasher=NameHasher(b"perf-key"), vault=vault,
                  prefix="p.")


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
    parser.add_argument("--acks", choices=("flush", "instant"), default="flush",
                        help="when the producer acknowledges: on flush (later, as over a network) or at once")
    args = parser.parse_args()
    # Time the work, not the console.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    singles: list[float] = []
    batches: list[float] = []
    instant = args.acks == "instant"
    with TemporaryDirectory() as tmp:
        for round_no in range(args.rounds):
            intake = fresh_intake(Path(tmp), f"single-{round_no}.db", instant)
            single = records(args.records)
            singles.append(timed(lambda: ([intake.submit("incident", r, ORIGIN) for r in single], intake.flush())))
            intake = fresh_intake(Path(tmp), f"batch-{round_no}.db", instant)
            batch = [Submission("incident", r, ORIGIN) for r in records(args.records)]
            batches.append(timed(lambda: (intake.submit_many(batch), intake.flush())))
    n, best = args.records, f"best of {args.rounds}, acks {args.acks}"
    print(f"{n} single submits: {min(singles) * 1000:.1f} ms = {n / min(singles):,.0f} records/s ({best})")
    print(f"one batch of {n}:   {min(batches) * 1000:.1f} ms = {n / min(batches):,.0f} records/s ({best})")


if __name__ == "__main__":
    main()
