"""The integrator JSON form <-> Avro datum of a topic's latest schema (strict; every bad field named by path)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from schemas.errors import FieldError, Reason, ValidationFailed
from schemas.jsonrender import JsonWriter, iso_timestamp
from schemas.jsonvalidate import read_record
from schemas.jsonvalues import Limits

__all__ = ["FieldError", "Limits", "Reason", "ValidationFailed", "from_json", "to_json", "validate", "iso_timestamp"]
DEFAULT_LIMITS = Limits()


def validate(topic: str, obj: Any, *, now: datetime | None = None, limits: Limits = DEFAULT_LIMITS) -> list[FieldError]:
    """Every contract problem of a JSON-form record ([] when it is valid); never raises for JSON-like input.

    With `now` (an aware datetime), occurred_at and recorded_at must also fall in the limits' window around it.
    """
    return read_record(topic, obj, now, limits)[1]


def from_json(topic: str, obj: Any, *, now: datetime | None = None, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """A datum fastavro can write with the topic's latest schema; raises ValidationFailed naming every bad field.

    Timestamps become aware UTC datetimes, dates `datetime.date`, bytes from base64; `details` stays a plain dict
    (the codec picks its union branch from `event_type`). For any JSON-like input nothing but ValidationFailed
    is raised. `now` and `limits` as for validate.
    """
    datum, errors = read_record(topic, obj, now, limits)
    if errors:
        raise ValidationFailed(errors)
    return datum


def to_json(topic: str, datum: dict[str, Any]) -> dict[str, Any]:
    """The JSON form of a datum: ISO-8601 UTC strings, plain details, null optional fields left out."""
    return JsonWriter(topic).render(datum)
