"""The internal subject-events topic: its record kinds and headers (value: the source record's original bytes)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

SUBJECT_EVENTS = "subject-events"  # short name: settings.topic(SUBJECT_EVENTS)
KIND_EVENT = "event"  # a source record about the keyed subject (value: its Confluent-framed Avro bytes)
KIND_POSSIBLE_MATCH = "possible_match"  # a source record that may be about the keyed subject: ask, never link
KIND_TICK = "tick"  # the clock: sent to every partition, header `now`, no subject
KINDS = (KIND_EVENT, KIND_POSSIBLE_MATCH, KIND_TICK)
KIND_HEADER, TOPIC_HEADER, NOW_HEADER = "kind", "topic", "now"  # the headers: a record's kind, source topic, tick time

Headers = list[tuple[str, bytes]]


def forward_headers(kind: str, topic: str) -> Headers:
    """Headers of a forwarded source record: its kind and the short name of the topic it came from."""
    return [(KIND_HEADER, kind.encode()), (TOPIC_HEADER, topic.encode())]


def tick_headers(now: datetime) -> Headers:
    """Headers of a clock tick at `now` (ISO-8601, UTC)."""
    return [(KIND_HEADER, KIND_TICK.encode()), (NOW_HEADER, iso(now).encode())]


def header(headers: Iterable[tuple[str, Any]] | Mapping[str, Any] | None, name: str) -> str | None:
    """A header's value as text (the last one when repeated); None when absent."""
    if not headers:
        return None
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    found = None
    for key, value in pairs:
        if key == name:
            found = value.decode() if isinstance(value, bytes | bytearray) else str(value)
    return found


def iso(at: datetime) -> str:
    """ISO-8601 text of an aware instant, in UTC."""
    return at.astimezone(UTC).isoformat()


def parse_iso(text: str) -> datetime:
    """The aware instant of ISO-8601 text (naive text is taken as UTC)."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
