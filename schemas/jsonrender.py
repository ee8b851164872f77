"""Avro datum -> JSON form: ISO-8601 UTC timestamps, YYYY-MM-DD dates, base64 bytes, plain details, no nulls."""
from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta
from typing import Any

from schemas import avro_schemas as registry
from schemas._schemawalk import Schema, resolve, type_name
from schemas.catalogue import EVENT_TYPES

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso_timestamp(moment: datetime | int) -> str:
    """A timestamp (aware datetime or epoch millis) as ISO-8601 UTC with Z, milliseconds only when non-zero."""
    if isinstance(moment, int):
        moment = _EPOCH + timedelta(milliseconds=moment)
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    millis = moment.microsecond // 1000
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"


class JsonWriter:
    """Renders datums of one topic's latest schema in the JSON form."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.schema, self.names = registry.latest_with_names(topic)  # shared and cached: never mutated

    def render(self, datum: dict[str, Any]) -> dict[str, Any]:
        """The JSON form of a datum (optional fields that are null are left out)."""
        return self.record(datum, self.schema, None, envelope=self.topic in EVENT_TYPES)

    def record(self, datum: dict[str, Any], schema: Schema, namespace: str | None, envelope: bool = False) -> dict:
        out: dict[str, Any] = {}
        for field in schema["fields"]:
            name = field["name"]
            value = datum.get(name, field.get("default"))
            if envelope and name == "details":
                out[name] = self.details(value, datum["event_type"])
            elif value is not None:
                out[name] = self.value(value, field["type"], namespace)
        return out

    def details(self, value: Any, event_type: str) -> dict[str, Any]:
        if isinstance(value, tuple):
            value = value[1]
        record_name = f"{self.schema['namespace']}.{EVENT_TYPES[self.topic][str(event_type)]}"
        branch, namespace = resolve(record_name, None, self.names)
        return self.record(value, branch, namespace)

    def value(self, value: Any, schema: Any, namespace: str | None) -> Any:
        schema, namespace = resolve(schema, namespace, self.names)
        kind = type_name(schema)
        if kind == "union":
            branch = next(b for b in schema if b != "null")
            return self.value(value, branch, namespace)
        if isinstance(schema, dict) and schema.get("logicalType") == "timestamp-millis":
            return iso_timestamp(value)
        if isinstance(schema, dict) and schema.get("logicalType") == "date":
            return value.isoformat() if isinstance(value, date) else (date(1970, 1, 1) + timedelta(days=value)).isoformat()
        if kind == "record":
            return self.record(value, schema, namespace)
        if kind == "array":
            return [self.value(item, schema["items"], namespace) for item in value]
        if kind == "enum":
            return str(value)
        if kind == "bytes":
            return base64.b64encode(value).decode("ascii")
        return value
