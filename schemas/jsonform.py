"""The integrator JSON form <-> Avro datum of a topic's latest schema (strict; every bad field named by path)."""
from __future__ import annotations

from typing import Any

from schemas.errors import FieldError, ValidationFailed
from schemas.jsonrender import JsonWriter, iso_timestamp
from schemas.jsonvalidate import JsonReader

__all__ = ["FieldError", "ValidationFailed", "from_json", "to_json", "validate", "iso_timestamp"]


def validate(topic: str, obj: Any) -> list[FieldError]:
    """Every contract problem of a JSON-form record ([] when it is valid)."""
    reader = JsonReader(topic)
    reader.read(obj)
    return reader.errors


def from_json(topic: str, obj: Any) -> dict[str, Any]:
    """A datum fastavro can write with the topic's latest schema; raises ValidationFailed naming every bad field.

    Timestamps become aware datetimes, dates `datetime.date`, bytes from base64; `details` stays a plain dict
    (the codec picks its union branch from `event_type`).
    """
    reader = JsonReader(topic)
    datum = reader.read(obj)
    if datum is None:
        raise ValidationFailed(reader.errors)
    return datum


def to_json(topic: str, datum: dict[str, Any]) -> dict[str, Any]:
    """The JSON form of a datum: ISO-8601 UTC strings, plain details, null optional fields left out."""
    return JsonWriter(topic).render(datum)
