"""Coded one-line summaries of agency events for the chronology: types, codes, refs, counts, dates; never free text."""
from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import Enum
from typing import Any

from schemas.events import Event

# Only strings under these field-name endings are kept: they are identifiers or codes by contract.
_CODED_SUFFIXES = ("_ref", "_refs", "_code", "_area", "_id")
# Never summarised even when coded: contact details of staff and whole identifier lists.
_SKIPPED = frozenset({"phone_e164", "email", "on_call", "identifiers", "person_ids", "name_hash", "date_of_birth"})
MAX_SUMMARY = 300


def _date(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M") if (at.hour, at.minute) != (0, 0) else at.strftime("%Y-%m-%d")


def _conditions(items: tuple[Any, ...]) -> str:
    kinds = ", ".join(str(c.kind) for c in items)
    return f"{len(items)} ({kinds})" if items else "0"


def _value(name: str, value: Any) -> str | None:
    """The coded text of one field, or None to leave it out."""
    if value is None or name in _SKIPPED:
        return None
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return _date(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value if name.endswith(_CODED_SUFFIXES) else None
    if isinstance(value, tuple):
        if name.endswith("conditions"):
            return _conditions(value)
        if all(isinstance(v, str) for v in value):
            return ", ".join(value) if name.endswith(_CODED_SUFFIXES) else None
        return str(len(value))  # e.g. linked victims: a count only
    if dataclasses.is_dataclass(value) and hasattr(value, "kind"):
        return str(value.kind)  # a LocationRef: its kind, never the coded place itself
    return None


def summarise(event: Event) -> str:
    """`EVENT_TYPE: field=value, ...` built only from enums, flags, refs, codes, counts and dates."""
    parts = []
    for spec in dataclasses.fields(event.details):
        text = _value(spec.name, getattr(event.details, spec.name))
        if text:
            parts.append(f"{spec.name}={text}")
    summary = f"{event.event_type.value}: " + "; ".join(parts) if parts else str(event.event_type.value)
    return summary[:MAX_SUMMARY]
