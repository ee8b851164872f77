"""Clock ticks: one record per partition of subject-events carrying `now`, for the timers of every subject there."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from runtime.settings import Settings
from schemas.subject_events import SUBJECT_EVENTS, Headers, iso, tick_headers


@dataclass(frozen=True, slots=True)
class TickMessage:
    """One tick record: sent to an explicit partition, with no key (a tick is about no subject)."""

    topic: str
    partition: int
    value: bytes
    headers: Headers


def tick_messages(settings: Settings, now: datetime, partitions: Iterable[int]) -> list[TickMessage]:
    """The tick records at `now` for the given partitions of subject-events."""
    topic = settings.topic(SUBJECT_EVENTS)
    return [TickMessage(topic, p, iso(now).encode(), tick_headers(now)) for p in sorted(set(partitions))]


def subject_event_partitions(producer: Any, settings: Settings, timeout_s: float = 10.0) -> list[int]:
    """The partitions of subject-events as a kafka-python producer sees them."""
    topic = settings.topic(SUBJECT_EVENTS)
    found = producer.partitions_for(topic)  # waits for metadata (max_block_ms)
    if not found:
        raise RuntimeError(f"topic {topic} has no partitions: provision it first (drive-alerts topics apply)")
    return sorted(found)


def send_ticks(producer: Any, settings: Settings, now: datetime, partitions: Iterable[int] | None = None) -> int:
    """Send a tick at `now` to every (or the given) partition with a kafka-python producer; flushes; the count."""
    chosen = subject_event_partitions(producer, settings) if partitions is None else partitions
    messages = tick_messages(settings, now, chosen)
    for m in messages:
        producer.send(m.topic, key=None, value=m.value, partition=m.partition, headers=m.headers)
    producer.flush()
    return len(messages)


async def send_ticks_async(topic: Any, settings: Settings, now: datetime, partitions: Iterable[int]) -> int:
    """Send ticks through a faust topic (the wall-clock ticker); returns how many were sent."""
    messages = tick_messages(settings, now, partitions)
    for m in messages:
        await topic.send(key=None, value=m.value, partition=m.partition, headers=m.headers, force=True)
    return len(messages)
