"""Backward-compatibility check: can a reader schema read, unchanged, everything a writer schema can write?

Data-driven: it generates datums covering every union branch and enum symbol of the writer schema, writes each
with the writer, reads it back with the writer and with the reader (fastavro schema resolution), and compares
the fields both schemas share. A reader that cannot resolve (e.g. a new field without a default) fails; so does
one that silently changes a value (e.g. an enum symbol it lacks collapsing to the enum default).
"""
from __future__ import annotations

import io
from datetime import UTC, date, datetime
from typing import Any

from fastavro import parse_schema, schemaless_reader, schemaless_writer

from schemas._schemawalk import Schema, full_name, named_types, resolve, type_name

_PRIMITIVE_SAMPLES = {"string": "x", "boolean": True, "int": 7, "long": 7, "float": 1.5, "double": 1.5,
                      "bytes": b"\x00\x01", "null": None}


def example_datums(schema: Schema) -> list[Any]:
    """Datums that together use every union branch and enum symbol of a schema."""
    names = named_types(schema)
    return _variants(schema, None, names)


def _variants(node: Any, namespace: str | None, names: dict) -> list[Any]:
    node, namespace = resolve(node, namespace, names)
    kind = type_name(node)
    if isinstance(node, dict) and node.get("logicalType") == "timestamp-millis":
        return [datetime(2026, 11, 22, 10, 0, tzinfo=UTC)]
    if isinstance(node, dict) and node.get("logicalType") == "date":
        return [date(1988, 3, 14)]
    if kind == "union":
        out: list[Any] = []
        for branch in node:
            branch_node, branch_ns = resolve(branch, namespace, names)
            values = _variants(branch_node, branch_ns, names)
            if type_name(branch_node) == "record":
                name = full_name(branch_node["name"], branch_ns)
                values = [(name, v) for v in values]
            out.extend(values)
        return out
    if kind == "enum":
        return list(node["symbols"])
    if kind == "array":
        return [[v] for v in _variants(node["items"], namespace, names)] + [[]]
    if kind == "map":
        return [{"k": v} for v in _variants(node["values"], namespace, names)]
    if kind == "record":
        per_field = [(f["name"], _variants(f["type"], namespace, names)) for f in node["fields"]]
        count = max((len(v) for _, v in per_field), default=1)
        return [{name: values[min(i, len(values) - 1)] for name, values in per_field} for i in range(count)]
    return [_PRIMITIVE_SAMPLES[kind]]


def _common_differences(before: Any, after: Any, path: str) -> list[str]:
    if isinstance(before, tuple) and isinstance(after, tuple):
        if before[0].rsplit(".", 1)[-1] != after[0].rsplit(".", 1)[-1]:
            return [f"{path}: union branch {before[0]} read as {after[0]}"]
        return _common_differences(before[1], after[1], path)
    if isinstance(before, dict) and isinstance(after, dict):
        problems: list[str] = []
        for key in before.keys() & after.keys():
            problems += _common_differences(before[key], after[key], f"{path}.{key}" if path else key)
        return problems
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [p for i, (b, a) in enumerate(zip(before, after)) for p in _common_differences(b, a, f"{path}[{i}]")]
    return [] if before == after else [f"{path}: wrote {before!r}, read {after!r}"]


def compatibility_problems(writer_schema: Schema, reader_schema: Schema) -> list[str]:
    """Why the reader schema cannot read the writer schema's data unchanged ([] when it can)."""
    writer, reader = parse_schema(writer_schema), parse_schema(reader_schema)
    problems: list[str] = []
    for datum in example_datums(writer_schema):
        buffer = io.BytesIO()
        schemaless_writer(buffer, writer, datum)
        raw = buffer.getvalue()
        as_written = schemaless_reader(io.BytesIO(raw), writer, None, return_record_name=True)
        try:
            as_read = schemaless_reader(io.BytesIO(raw), writer, reader, return_record_name=True)
        except Exception as exc:  # fastavro raises SchemaResolutionError and others; all mean incompatible
            problems.append(f"cannot resolve: {exc}")
            break
        problems += _common_differences(as_written, as_read, "")
    return sorted(set(problems))
