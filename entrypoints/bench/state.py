"""State cost: bytes of stored state per subject and the RSS of a process holding the state of N subjects.

Measured in a fresh child interpreter with the real rule engine: each subject's case and a few agency events
are applied with streams.rules.apply and the resulting state's stored bytes (streams.subject_states.encode_state)
kept in a dict, as the worker's memory store keeps the table; bytes per subject are those the changelog carries.
"""
from __future__ import annotations

import multiprocessing
import random
import resource
from dataclasses import dataclass
from datetime import UTC, datetime

from entrypoints.bench.data import EVENT_MIX, agency_record, case_record
from runtime.settings import Settings
from schemas.events import event_from_datum
from schemas.jsonform import from_json
from streams.app import rule_config
from streams.rules import apply, empty
from streams.subject_states import encode_state

EVENTS_PER_SUBJECT = 4


@dataclass(frozen=True)
class StateCost:
    """State of `subjects` subjects: mean changelog bytes per subject and the RSS growth of holding them."""

    subjects: int
    bytes_per_subject: float
    rss_mb: float
    rss_growth_mb: float


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure(subjects: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]

    config, now, rng = rule_config(Settings()), datetime.now(UTC), random.Random(3)
    kinds = [(t, e) for t, e, _ in EVENT_MIX]
    templates = [event_from_datum(t, from_json(t, agency_record(0, e, now, rng))) for t, e in kinds]
    before = _rss_mb()
    table: dict[str, bytes] = {}
    total_bytes = 0
    for i in range(subjects):
        case = event_from_datum("case", from_json("case", case_record(i, now)))
        state, _ = apply(empty(case.details.subject_id), case, now, config)
        for n in range(EVENTS_PER_SUBJECT):
            state, _ = apply(state, _with_id(templates[(i + n) % len(templates)], f"bench-{i}-{n}"), now, config)
        stored = encode_state(state)
        total_bytes += len(stored)
        table[state.subject_id] = stored
    out.put(StateCost(subjects, total_bytes / max(subjects, 1), _rss_mb(), _rss_mb() - before))


def _with_id(event, event_id: str):  # noqa: ANN001, ANN202 - a typed Event with another event id
    import dataclasses

    return dataclasses.replace(event, event_id=event_id)


def measure_state(subjects: int, timeout_s: float = 600.0) -> StateCost:
    """Runs the measurement in a fresh interpreter (spawn), so the RSS is that of the state alone."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_measure, args=(subjects, queue), daemon=True)
    child.start()
    try:
        return queue.get(timeout=timeout_s)
    finally:
        child.join(10)
