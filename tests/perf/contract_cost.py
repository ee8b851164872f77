"""Benchmark (not a pytest test): the contract's cost per event — validate (JSON form -> datum) and decode.

Run:  .venv/bin/python -m tests.perf.contract_cost --events 3000 --repeat 7
Builds a realistic mix of agency events (entrypoints/bench/data.py's EVENT_MIX, plus case and staff snapshots),
then times, in CPU time per event and best of --repeat passes: from_json (validation and conversion of the JSON form),
AvroCodec.decode (Confluent bytes -> datum), event_from_datum (datum -> typed Event), both together, and
AvroCodec.decode_typed (bytes -> typed Event in one step), and prints microseconds per event.
"""
from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from entrypoints.bench.data import agency_record, case_record, pick_event_type, staff_records
from schemas.codec import AvroCodec
from schemas.events import event_from_datum
from schemas.jsonform import from_json


def workload(count: int, seed: int = 11) -> list[tuple[str, dict[str, Any]]]:
    """`count` (topic, JSON-form record) pairs: nine in ten agency events in the bench mix, one in ten case records."""
    rng = random.Random(seed)
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    staff = staff_records(40, now)
    out: list[tuple[str, dict[str, Any]]] = []
    for n in range(count):
        if n % 10 == 9:
            out.append(("case", staff[n % len(staff)] if n % 20 == 19 else case_record(rng.randrange(400), now)))
        else:
            topic, event_type = pick_event_type(rng)
            out.append((topic, agency_record(rng.randrange(400), event_type, now, rng)))
    return out


def best_per_event(fn: Callable[[], None], count: int, repeat: int) -> float:
    """The fastest of `repeat` runs of fn, in CPU microseconds per event (CPU time: the machine is shared)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        fn()
        best = min(best, time.process_time() - started)
    return best / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    records = workload(args.events)
    codec = AvroCodec()
    datums = [(topic, from_json(topic, record)) for topic, record in records]
    encoded = [(topic, codec.encode(topic, datum)) for topic, datum in datums]
    decoded = [(topic, codec.decode(value, topic)) for topic, value in encoded]

    def validate() -> None:
        for topic, record in records:
            from_json(topic, record)

    def decode() -> None:
        for topic, value in encoded:
            codec.decode(value, topic)

    def to_event() -> None:
        for topic, datum in decoded:
            event_from_datum(topic, datum)

    def decode_to_event() -> None:
        for topic, value in encoded:
            event_from_datum(topic, codec.decode(value, topic))

    def decode_typed() -> None:
        for topic, value in encoded:
            codec.decode_typed(value, topic)

    n = len(records)
    result = {
        "events": n,
        "validate_us": round(best_per_event(validate, n, args.repeat), 2),
        "avro_decode_us": round(best_per_event(decode, n, args.repeat), 2),
        "event_from_datum_us": round(best_per_event(to_event, n, args.repeat), 2),
        "decode_to_event_us": round(best_per_event(decode_to_event, n, args.repeat), 2),
    }
    if hasattr(codec, "decode_typed"):  # not in the contract before this script was written
        result["decode_typed_us"] = round(best_per_event(decode_typed, n, args.repeat), 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
