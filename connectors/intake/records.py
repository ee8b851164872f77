"""Records in the intake's own terms: canonical JSON (content hashes), Kafka key, event id."""
from __future__ import annotations

import json
import queue
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from schemas.catalogue import NO_PERSON_EVENT_TYPES


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON of a datum (sorted keys; datetimes as UTC ISO; bytes as hex) for content hashes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=_canonical_default).encode("utf-8")


def _canonical_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).isoformat(timespec="milliseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"cannot canonicalise {type(value).__name__}")


def record_key(topic: str, record: dict[str, Any]) -> str:
    """Kafka key of a valid JSON-form record: SCHEME:value of the first person id; case: subject or staff."""
    if topic == "case":
        details = record["details"]
        if record["event_type"] in NO_PERSON_EVENT_TYPES:
            return f"staff:{details['staff_id']}"
        return str(details["subject_id"])
    first = record["person_ids"][0]
    return f"{first['scheme']}:{first['value']}"


def event_id_of(record: object) -> str | None:
    """The record's event_id when it is a text (anything else sent there is no id)."""
    return record["event_id"] if isinstance(record, dict) and isinstance(record.get("event_id"), str) else None


def take_all(items: queue.SimpleQueue[Any]) -> list[Any]:
    """Everything queued now."""
    taken: list[Any] = []
    while not items.empty():
        taken.append(items.get_nowait())
    return taken
