"""JSON Schema (2020-12) of each topic's JSON form, generated from the same annotated .avsc files as the validator.

For the source topics it describes what an integrator sends to the door (HTTP intake, file drop, SQL polling):
`person_name` may be sent and is hashed there, `name_hash` may not. The validator (schemas.jsonform) stays the
authority: the JSON Schema cannot say everything it checks (the event-time window around now; its character
rule covers the Basic Multilingual Plane only).
"""
from __future__ import annotations

import json
from functools import cache
from typing import Any

from schemas import avro_schemas as registry
from schemas._schemawalk import Schema, full_name, resolve, type_name
from schemas.catalogue import EVENT_TYPES, TOPICS
from schemas.formats import FORBIDDEN_RANGES, character_class, code_list, formats
from schemas.jsonvalues import INTEGER_RANGES, READER_ONLY_SYMBOL

DIALECT = "https://json-schema.org/draft/2020-12/schema"
# the characters every string refuses (schemas.formats), as an ECMA-262 pattern: only the BMP can be written there
_BMP_FORBIDDEN = character_class(tuple(r for r in FORBIDDEN_RANGES if r[1] <= 0xFFFF), "\\u{:04x}")
PRINTABLE = f"^[^{_BMP_FORBIDDEN[1:]}*$"
NAME_AT_THE_DOOR = {"type": "string", "description": "The person's name, if the agency has it: replaced at the door "
                    "by name_hash (a keyed hash) before anything is validated, stored or published."}


@cache
def _json_schema(topic: str) -> str:
    return json.dumps(_Builder(topic).document())


def json_schema(topic: str) -> dict[str, Any]:
    """The JSON Schema of a topic's JSON form (latest schema version), as a fresh dict."""
    return json.loads(_json_schema(topic))


class _Builder:
    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.schema, self.names = registry.latest_with_names(topic)
        self.defs: dict[str, Any] = {}

    def document(self) -> dict[str, Any]:
        root = self.record(self.schema, None, envelope=self.topic in EVENT_TYPES)
        version = registry.latest_version(self.topic)
        return {"$schema": DIALECT, "$id": f"urn:drive-alerts:json-form:{self.topic}:v{version}",
                "title": f"{self.topic} (JSON form of {TOPICS[self.topic].value_schema}, schema version {version})",
                **root, "$defs": dict(sorted(self.defs.items()))}

    def ref(self, node: Any, namespace: str | None) -> dict[str, Any]:
        node, namespace = resolve(node, namespace, self.names)
        name = full_name(node["name"], namespace)
        if name not in self.defs:
            self.defs[name] = {}
            self.defs[name] = self.record(node, namespace)
        return {"$ref": f"#/$defs/{name}"}

    def record(self, node: Schema, namespace: str | None, envelope: bool = False) -> dict[str, Any]:
        node, namespace = resolve(node, namespace, self.names)
        properties: dict[str, Any] = {}
        required, rules = [], []
        by = node.get("drive.formatBy")
        for field in node["fields"]:
            name = field["name"]
            if envelope and name == "name_hash":
                continue
            if envelope and name == "details":
                properties[name] = {"type": "object", "description": field["doc"]}
                rules += self.details_rules()
            elif by and name == by["target"]:  # its format follows another field's value: see allOf
                longest = max(formats()[f]["maxLength"] for f in (*by["formats"].values(), by["default"]))
                properties[name] = {"type": "string", "minLength": 1, "maxLength": longest, "description": field["doc"]}
            else:
                properties[name] = {**self.value(field["type"], namespace, field), "description": field["doc"]}
            if "default" not in field:
                required.append(name)
            rules += self.items_rule(field)
        if envelope:
            properties["person_name"] = NAME_AT_THE_DOOR
        rules += self.required_when(node) + self.format_by(node)
        out = {"type": "object", "description": node["doc"], "properties": properties, "required": required,
               "additionalProperties": False}
        return {**out, "allOf": rules} if rules else out

    def value(self, node: Any, namespace: str | None, field: dict[str, Any]) -> dict[str, Any]:
        node, namespace = resolve(node, namespace, self.names)
        kind = type_name(node)
        if kind == "union":
            (branch,) = [b for b in node if b != "null"]
            return {"anyOf": [self.value(branch, namespace, field), {"type": "null"}]}
        logical = node.get("logicalType") if isinstance(node, dict) else None
        if logical in ("timestamp-millis", "date"):
            return {"type": "string", "format": "date-time" if logical == "timestamp-millis" else "date"}
        if kind == "record":
            return self.ref(node, namespace)
        if kind == "enum":
            return {"enum": [s for s in node["symbols"] if s != READER_ONLY_SYMBOL]}
        if kind == "array":
            items = self.value(node["items"], namespace, field)
            bounds = {k: field[f"drive.{k}"] for k in ("minItems", "maxItems")
                      if f"drive.{k}" in field and "drive.minItemsUnless" not in field}
            return {"type": "array", "items": items, **bounds}
        if kind == "string":
            return self.string(field)
        if kind in ("int", "long"):
            low, high = INTEGER_RANGES[kind]
            return {"type": "integer", "minimum": field.get("drive.minimum", low),
                    "maximum": field.get("drive.maximum", high)}
        if kind == "boolean":
            return {"type": "boolean"}
        if kind == "bytes":
            return {"type": "string", "contentEncoding": "base64"}
        return {"type": "number"}

    def string(self, field: dict[str, Any], format_name: str | None = None) -> dict[str, Any]:
        name = format_name or field.get("drive.format")
        if name:
            self.defs.setdefault(f"format.{name}", self.format(name))
            out: dict[str, Any] = {"$ref": f"#/$defs/format.{name}"}
        else:
            out = {"type": "string", "pattern": PRINTABLE, "maxLength": field["drive.maxLength"]}
        low = field.get("drive.minLength", 1)
        return {**out, "minLength": low} if low != 1 or not name else out

    @staticmethod
    def format(name: str) -> dict[str, Any]:
        spec = formats()[name]
        out: dict[str, Any] = {"type": "string", "description": spec["doc"], "examples": [spec["example"]]}
        if "codes" in spec:
            return {**out, "enum": [entry["code"] for entry in code_list(spec["codes"])]}
        if "pattern" in spec:
            return {**out, "pattern": spec["pattern"], "maxLength": spec["maxLength"]}
        return {**out, "pattern": PRINTABLE, "minLength": spec.get("minLength", 1), "maxLength": spec["maxLength"]}

    def details_rules(self) -> list[dict[str, Any]]:
        namespace = self.schema["namespace"]
        return [{"if": _when("event_type", event_type),
                 "then": {"properties": {"details": self.ref(f"{namespace}.{record}", None)}}}
                for event_type, record in EVENT_TYPES[self.topic].items()]

    @staticmethod
    def items_rule(field: dict[str, Any]) -> list[dict[str, Any]]:
        unless = field.get("drive.minItemsUnless")
        if not unless:
            return []
        ((other, values),) = unless.items()
        return [{"if": {"properties": {other: {"enum": values}}, "required": [other]},
                 "else": {"properties": {field["name"]: {"minItems": field["drive.minItems"]}}}}]

    @staticmethod
    def required_when(node: Schema) -> list[dict[str, Any]]:
        rule = node.get("drive.requiredWhen")
        if not rule:
            return []
        return [{"if": _when(rule["field"], value),
                 "then": {"required": needed, "properties": {n: {"not": {"type": "null"}} for n in needed}}}
                for value, needed in rule["cases"].items()]

    def format_by(self, node: Schema) -> list[dict[str, Any]]:
        rule = node.get("drive.formatBy")
        if not rule:
            return []
        target = rule["target"]
        rules = [{"if": _when(rule["field"], value), "then": {"properties": {target: self.string({}, name)}}}
                 for value, name in rule["formats"].items()]
        rules.append({"if": {"properties": {rule["field"]: {"enum": list(rule["formats"])}}},
                      "else": {"properties": {target: self.string({}, rule["default"])}}})
        return rules


def _when(field: str, value: str) -> dict[str, Any]:
    return {"properties": {field: {"const": value}}, "required": [field]}
