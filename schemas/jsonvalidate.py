"""The JSON-form validator, compiled once per topic from its annotated schema into a tree of small readers.

Everything it checks comes from the .avsc files: Avro types, and the `drive.*` attributes for what Avro cannot
say (formats, lengths, item counts, ranges, event-time windows, fields one field's value requires). Reading a
record converts it to the Avro datum on the way and collects every problem, in document order.
"""
from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from schemas import avro_schemas as registry
from schemas._schemawalk import Schema, full_name, resolve, type_name
from schemas.catalogue import EVENT_TYPES
from schemas.errors import FieldError, Reason
from schemas.formats import TextRule, formats, printable_key
from schemas.jsonvalues import (
    INVALID,
    MISSING,
    Context,
    Limits,
    Read,
    boolean_reader,
    bytes_reader,
    date_reader,
    enum_reader,
    integer_reader,
    number_reader,
    string_reader,
    timestamp_reader,
)

_NO_DEFAULT: Any = object()
_ITEM_ATTRIBUTES = ("drive.format", "drive.maxLength", "drive.minLength")


def join(path: str, name: str) -> str:
    """Path of a field inside a record at path."""
    return f"{path}.{name}" if path else name


def _error_reader(message: str) -> Read:
    def read(value: Any, path: str, ctx: Context) -> Any:
        return ctx.error(path, message, Reason.INVALID)
    return read


class _Compiler:
    """Builds the readers of one topic's latest annotated schema (named records compiled once)."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.schema, self.names = registry.latest_with_names(topic)
        self.records: dict[str, Read] = {}

    def root(self) -> Read:
        if self.topic in EVENT_TYPES:
            return self.record(self.schema, None, envelope=True)
        return self.record(self.schema, None)

    def value(self, node: Any, namespace: str | None, attributes: dict[str, Any]) -> Read:
        node, namespace = resolve(node, namespace, self.names)
        kind = type_name(node)
        if kind == "union":
            return self.union(node, namespace, attributes)
        if isinstance(node, dict) and "logicalType" in node:
            if node["logicalType"] == "timestamp-millis":
                return timestamp_reader(bool(attributes.get("drive.eventTime")))
            if node["logicalType"] == "date":
                return date_reader()
            return _error_reader(f"unsupported logical type {node['logicalType']}")
        if kind == "record":
            return self.record(node, namespace)
        if kind == "enum":
            return enum_reader(node["symbols"])
        if kind == "array":
            return self.array(node, namespace, attributes)
        return self.primitive(kind, attributes)

    def primitive(self, kind: str, attributes: dict[str, Any]) -> Read:
        if kind == "string":
            return string_reader(TextRule.of(attributes))
        if kind == "boolean":
            return boolean_reader()
        if kind in ("int", "long"):
            return integer_reader(kind, attributes)
        if kind in ("float", "double"):
            return number_reader()
        if kind == "bytes":
            return bytes_reader()
        return _error_reader(f"unsupported type {kind}")

    def union(self, node: list, namespace: str | None, attributes: dict[str, Any]) -> Read:
        branches = [b for b in node if b != "null"]
        if len(branches) != 1:  # only details has several branches, and it is chosen by event_type
            return _error_reader("unsupported union")
        inner = self.value(branches[0], namespace, attributes)
        nullable = "null" in node

        def read(value: Any, path: str, ctx: Context) -> Any:
            if value is None:
                return None if nullable else ctx.error(path, "must not be null", Reason.NULL)
            return inner(value, path, ctx)

        return read

    def array(self, node: Schema, namespace: str | None, attributes: dict[str, Any]) -> Read:
        items = self.value(node["items"], namespace, {k: attributes[k] for k in _ITEM_ATTRIBUTES if k in attributes})
        most = attributes.get("drive.maxItems", 1 << 62)
        too_many = f"must hold at most {most} items"

        def read(value: Any, path: str, ctx: Context) -> Any:
            if not isinstance(value, list):
                return ctx.error(path, "must not be null" if value is None else "must be an array",
                                 Reason.NULL if value is None else Reason.TYPE)
            if len(value) > most:
                return ctx.error(path, too_many, Reason.TOO_MANY)
            return [items(item, f"{path}[{i}]", ctx) for i, item in enumerate(value)]

        return read

    def record(self, node: Schema, namespace: str | None, envelope: bool = False) -> Read:
        node, namespace = resolve(node, namespace, self.names)
        name = full_name(node["name"], namespace)
        if name not in self.records:
            self.records[name] = _record_reader(self, node, namespace, envelope)
        return self.records[name]

    def details(self) -> Read:
        """The envelope's details: the record of the branch event_type names (read after event_type)."""
        branches = {event_type: self.record(f"{self.schema['namespace']}.{record}", None)
                    for event_type, record in EVENT_TYPES[self.topic].items()}

        def read(value: Any, path: str, ctx: Context, event_type: Any) -> Any:
            if not isinstance(event_type, str) or event_type not in branches:
                return value if isinstance(value, dict) else ctx.error(path, "must be an object", Reason.TYPE)
            return branches[event_type](value, path, ctx)

        return read


def _record_reader(compiler: _Compiler, node: Schema, namespace: str | None, envelope: bool) -> Read:
    # per field: name, reader, default, check after reading, and the earlier field whose value the reader needs
    plan: list[tuple[str, Any, Any, Any, str | None]] = []
    format_by = node.get("drive.formatBy")
    for field in node["fields"]:
        name, attributes = field["name"], {k: v for k, v in field.items() if k.startswith("drive.")}
        needs = None
        if envelope and name == "details":
            read, needs = compiler.details(), "event_type"
        elif format_by and name == format_by["target"]:
            read, needs = _formatted_by(format_by, attributes), format_by["field"]
        else:
            read = compiler.value(field["type"], namespace, attributes)
        plan.append((name, read, field.get("default", _NO_DEFAULT), _min_items_check(name, attributes), needs))
    names = frozenset(name for name, *_ in plan)
    required_when = node.get("drive.requiredWhen")

    def read_record(obj: Any, path: str, ctx: Context) -> Any:
        if not isinstance(obj, dict):
            return ctx.error(path, "must not be null" if obj is None else "must be an object",
                             Reason.NULL if obj is None else Reason.TYPE)
        prefix = f"{path}." if path else ""
        out: dict[str, Any] = {}
        for name, read_field, default, post, needs in plan:
            value = obj.get(name, MISSING)
            if value is MISSING:
                if default is _NO_DEFAULT:
                    out[name] = ctx.error(prefix + name, "required field missing", Reason.REQUIRED)
                else:
                    out[name] = list(default) if isinstance(default, list) else default
            elif needs is None:
                out[name] = read_field(value, prefix + name, ctx)
            else:
                out[name] = read_field(value, prefix + name, ctx, out.get(needs))
            if post is not None:
                post(out, prefix + name, ctx)
        if not names.issuperset(obj):
            for key in obj:
                if key not in names:
                    ctx.error(prefix + printable_key(key), "unknown field", Reason.UNKNOWN_FIELD)
        if required_when is not None:
            _check_required(required_when, out, prefix, ctx)
        return out

    return read_record


def _check_required(rule: dict[str, Any], out: dict[str, Any], prefix: str, ctx: Context) -> None:
    field = rule["field"]
    value = out.get(field)
    if isinstance(value, str):
        for needed in rule["cases"].get(value, ()):
            if out.get(needed) is None:
                ctx.error(prefix + needed, f"required when {field} is {value}", Reason.REQUIRED)


def _formatted_by(rule: dict[str, Any], attributes: dict[str, Any]) -> Any:
    """A string whose format depends on an earlier field's value (PersonId.value by scheme, LocationRef by kind)."""
    by_value = {value: string_reader(TextRule.of(attributes, name)) for value, name in rule["formats"].items()}
    default = string_reader(TextRule.of(attributes, rule["default"]))
    longest = max(formats()[name].get("maxLength", 1 << 62) for name in (*rule["formats"].values(), rule["default"]))
    plain = string_reader(TextRule(max_length=longest))

    def read(value: Any, path: str, ctx: Context, discriminator: Any) -> Any:
        if discriminator is INVALID or not isinstance(discriminator, str):
            return plain(value, path, ctx)
        return by_value.get(discriminator, default)(value, path, ctx)

    return read


def _min_items_check(name: str, attributes: dict[str, Any]) -> Any:
    least = attributes.get("drive.minItems")
    if least is None:
        return None
    message = attributes.get("drive.minItemsMessage", f"must hold at least {least} items")
    unless = attributes.get("drive.minItemsUnless", {})

    def check(out: dict[str, Any], path: str, ctx: Context) -> None:
        value = out[name]
        if isinstance(value, list) and len(value) < least \
                and not any(out.get(field) in values for field, values in unless.items()):
            ctx.error(path, message, Reason.TOO_FEW)

    return check


@cache
def compiled(topic: str) -> Read:
    """The reader of a whole JSON-form record of a topic (compiled on first use, then shared)."""
    return _Compiler(topic).root()


def read_record(topic: str, obj: Any, now: datetime | None, limits: Limits) -> tuple[Any, list[FieldError]]:
    """The datum of a JSON-form record and its problems (the datum is meaningless when there are problems)."""
    if now is not None and now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    ctx = Context(now, limits)
    if not isinstance(obj, dict):
        ctx.error("", "must be a JSON object", Reason.TYPE)
        return None, ctx.errors
    datum = compiled(topic)(obj, "", ctx)
    errors = ctx.errors
    if len(errors) > limits.max_errors:
        left = len(errors) - limits.max_errors
        errors = [*errors[:limits.max_errors],
                  FieldError("", f"{left} more problem(s) not listed", Reason.TOO_MANY_ERRORS)]
    return datum, errors
