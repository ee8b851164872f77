"""JSON form -> Avro datum: strict validation that names every bad field by path, and conversion on the way."""
from __future__ import annotations

import base64
import binascii
import re
from datetime import date, datetime
from typing import Any

from schemas import avro_schemas as registry
from schemas._schemawalk import Schema, full_name, resolve, type_name
from schemas.catalogue import EVENT_TYPES, NO_PERSON_EVENT_TYPES
from schemas.errors import FieldError

# A symbol a reader falls back to for values it does not know; never accepted from a sender.
READER_ONLY_SYMBOL = "UNKNOWN"
MAX_EVENT_ID = 128
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
TIMESTAMP_HINT = "must be an ISO-8601 timestamp with a time zone, e.g. 2026-11-22T10:00:00Z"
_MISSING = object()
_INVALID = object()

# (record full name, field) whose string may be empty; event_id has its own length rule
_EMPTY_ALLOWED = {("drive.deadletter.FieldError", "path")}
_HHMM_FIELDS = {("drive.common.CurfewHours", "start"), ("drive.common.CurfewHours", "end")}
# what each Condition kind needs besides the common fields
_CONDITION_NEEDS = {
    "NO_CONTACT": ("protected_person_ref",),
    "EXCLUSION_ZONE": ("location_ref",),
    "CURFEW": ("curfew", "location_ref"),
    "RESIDENCE": ("location_ref",),
    "NO_APPROACH_SCHOOL": ("location_ref",),
}


def join(path: str, name: str) -> str:
    """Path of a field inside a record at path."""
    return f"{path}.{name}" if path else name


class JsonReader:
    """Converts one JSON-form record of a topic to an Avro datum of its latest schema, collecting errors."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.schema, self.names = registry.latest_with_names(topic)  # shared and cached: never mutated
        self.errors: list[FieldError] = []

    def error(self, path: str, message: str) -> object:
        self.errors.append(FieldError(path, message))
        return _INVALID

    def read(self, obj: Any) -> dict | None:
        """The datum, or None when errors were found (see self.errors)."""
        if not isinstance(obj, dict):
            self.error("", "must be a JSON object")
            return None
        datum = self.record(obj, self.schema, "", None, envelope=self.topic in EVENT_TYPES)
        return None if self.errors else datum

    # --- records
    def record(self, obj: Any, schema: Schema, path: str, namespace: str | None, envelope: bool = False) -> Any:
        if not isinstance(obj, dict):
            return self.error(path, "must be an object")
        schema, namespace = resolve(schema, namespace, self.names)
        name = full_name(schema["name"], namespace)
        out: dict[str, Any] = {}
        for field in schema["fields"]:
            fname, fpath = field["name"], join(path, field["name"])
            value = obj.get(fname, _MISSING)
            if envelope and fname == "details":
                out[fname] = self.details(value, out.get("event_type"), fpath)
            elif value is _MISSING:
                out[fname] = self.absent(field, fpath)
            else:
                out[fname] = self.value(value, field["type"], fpath, namespace, (name, fname))
            if envelope:
                self.check_envelope_field(fname, out)
        for key in obj:
            if key not in out:
                self.error(join(path, str(key)), "unknown field")
        if name == "drive.common.Condition":
            self.check_condition(out, path)
        return out

    def absent(self, field: Schema, path: str) -> Any:
        if "default" not in field:
            return self.error(path, "required field missing")
        default = field["default"]
        return list(default) if isinstance(default, list) else default

    def details(self, value: Any, event_type: Any, path: str) -> Any:
        if value is _MISSING:
            return self.error(path, "required field missing")
        branches = EVENT_TYPES[self.topic]
        if not isinstance(event_type, str) or event_type not in branches:
            return value if isinstance(value, dict) else self.error(path, "must be an object")
        branch, namespace = resolve(f"{self.schema['namespace']}.{branches[event_type]}", None, self.names)
        return self.record(value, branch, path, namespace)

    # --- any value
    def value(self, value: Any, schema: Any, path: str, namespace: str | None, where: tuple[str, str]) -> Any:
        schema, namespace = resolve(schema, namespace, self.names)
        kind = type_name(schema)
        if kind == "union":
            return self.union(value, schema, path, namespace, where)
        if value is None:
            return self.error(path, "must not be null")
        if isinstance(schema, dict) and "logicalType" in schema:
            return self.logical(value, schema["logicalType"], path)
        if kind == "record":
            return self.record(value, schema, path, namespace)
        if kind == "enum":
            return self.enum(value, schema, path)
        if kind == "array":
            return self.array(value, schema["items"], path, namespace, where)
        return self.primitive(value, kind, path, where)

    def union(self, value: Any, schema: list, path: str, namespace: str | None, where: tuple[str, str]) -> Any:
        if value is None:
            return None if "null" in schema else self.error(path, "must not be null")
        branches = [b for b in schema if b != "null"]
        if len(branches) != 1:  # only details has several branches, and it is chosen by event_type
            return self.error(path, "unsupported union")
        return self.value(value, branches[0], path, namespace, where)

    def enum(self, value: Any, schema: Schema, path: str) -> Any:
        allowed = [s for s in schema["symbols"] if s != READER_ONLY_SYMBOL]
        if not isinstance(value, str) or value not in allowed:
            return self.error(path, f"must be one of {', '.join(allowed)}")
        return value

    def array(self, value: Any, items: Any, path: str, namespace: str | None, where: tuple[str, str]) -> Any:
        if not isinstance(value, list):
            return self.error(path, "must be an array")
        return [self.value(item, items, f"{path}[{i}]", namespace, where) for i, item in enumerate(value)]

    def primitive(self, value: Any, kind: str, path: str, where: tuple[str, str]) -> Any:
        if kind == "string":
            if not isinstance(value, str):
                return self.error(path, "must be a string")
            if not value and where not in _EMPTY_ALLOWED and where[1] != "event_id":
                return self.error(path, "must not be empty")
            if where in _HHMM_FIELDS and not _HHMM.match(value):
                return self.error(path, "must be a time of day HH:MM (24-hour)")
            return value
        if kind == "boolean":
            return value if isinstance(value, bool) else self.error(path, "must be true or false")
        if kind in ("int", "long"):
            low, high = _INT32 if kind == "int" else _INT64
            if not isinstance(value, int) or isinstance(value, bool):
                return self.error(path, "must be an integer")
            return value if low <= value <= high else self.error(path, f"must be between {low} and {high}")
        if kind in ("float", "double"):
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                return self.error(path, "must be a number")
            return float(value)
        if kind == "bytes":
            if not isinstance(value, str):
                return self.error(path, "must be base64 text")
            try:
                return base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                return self.error(path, "must be base64 text")
        return self.error(path, f"unsupported type {kind}")

    def logical(self, value: Any, logical_type: str, path: str) -> Any:
        if logical_type == "timestamp-millis":
            return self.timestamp(value, path)
        if logical_type == "date":
            if not isinstance(value, str) or not _DATE.match(value):
                return self.error(path, "must be a date YYYY-MM-DD")
            try:
                return date.fromisoformat(value)
            except ValueError:
                return self.error(path, "must be a date YYYY-MM-DD")
        return self.error(path, f"unsupported logical type {logical_type}")

    def timestamp(self, value: Any, path: str) -> Any:
        if not isinstance(value, str) or "T" not in value:
            return self.error(path, TIMESTAMP_HINT)
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return self.error(path, TIMESTAMP_HINT)
        if moment.tzinfo is None or moment.utcoffset() is None:
            return self.error(path, "must include a time zone (Z or +HH:MM), e.g. 2026-11-22T10:00:00Z")
        return moment

    # --- rules beyond types
    def check_envelope_field(self, name: str, out: dict[str, Any]) -> None:
        value = out[name]
        if name == "event_id" and isinstance(value, str) and not 1 <= len(value) <= MAX_EVENT_ID:
            self.error(name, f"must be 1 to {MAX_EVENT_ID} characters")
        elif name == "schema_version" and isinstance(value, int):
            latest = registry.latest_version(self.topic)
            if not 1 <= value <= latest:
                self.error(name, f"must be between 1 and {latest} (the latest version of this topic)")
        elif name == "person_ids" and value == [] and out.get("event_type") not in NO_PERSON_EVENT_TYPES:
            self.error(name, "must hold at least one identifier")

    def check_condition(self, out: dict[str, Any], path: str) -> None:
        kind = out.get("kind")
        for needed in _CONDITION_NEEDS.get(kind if isinstance(kind, str) else "", ()):
            if out.get(needed) is None:
                self.error(join(path, needed), f"required when kind is {kind}")
