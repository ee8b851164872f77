"""Helpers to walk a resolved Avro schema: named-type lookup and namespace-aware reference resolution."""
from __future__ import annotations

from typing import Any

Schema = dict[str, Any]
NAMED = ("record", "enum", "fixed")


def full_name(name: str, namespace: str | None) -> str:
    """Full name of a (possibly short) Avro name in a namespace."""
    return name if "." in name or not namespace else f"{namespace}.{name}"


def named_types(schema: Any) -> dict[str, tuple[Schema, str | None]]:
    """Every named type defined in a schema, as full name -> (definition, the namespace inside it)."""
    found: dict[str, tuple[Schema, str | None]] = {}

    def visit(node: Any, namespace: str | None) -> None:
        if isinstance(node, list):
            for item in node:
                visit(item, namespace)
        elif isinstance(node, dict):
            kind = node.get("type")
            if kind in NAMED:
                name = full_name(node["name"], node.get("namespace", namespace))
                namespace = name.rsplit(".", 1)[0] if "." in name else None
                found[name] = (node, namespace)
                for field in node.get("fields", ()):
                    visit(field["type"], namespace)
            elif kind == "array":
                visit(node["items"], namespace)
            elif kind == "map":
                visit(node["values"], namespace)
            elif isinstance(kind, (dict, list)):
                visit(kind, namespace)

    visit(schema, None)
    return found


def resolve(node: Any, namespace: str | None, names: dict[str, tuple[Schema, str | None]]) -> tuple[Any, str | None]:
    """Follow a named reference (or a {"type": name} wrapper) to its definition; other nodes pass through."""
    if isinstance(node, dict) and isinstance(node.get("type"), str) and node["type"] not in NAMED \
            and "logicalType" not in node and node["type"] not in ("array", "map"):
        node = node["type"]
    if isinstance(node, dict) and node.get("type") in NAMED:
        name = full_name(node["name"], node.get("namespace", namespace))
        return node, (name.rsplit(".", 1)[0] if "." in name else None)
    if isinstance(node, str):
        for candidate in (full_name(node, namespace), node):
            if candidate in names:
                return names[candidate]
    return node, namespace


def type_name(node: Any) -> str:
    """The Avro type tag of a resolved node: a primitive name, record, enum, array, union, ..."""
    if isinstance(node, list):
        return "union"
    if isinstance(node, dict):
        return node["type"] if isinstance(node["type"], str) else type_name(node["type"])
    return node
