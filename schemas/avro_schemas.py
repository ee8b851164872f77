"""Loads the topic schemas shipped in schemas/avsc/ and resolves the shared drive.common types into them.

Each topic file `<topic>.v<N>.avsc` refers to shared types by full name (e.g. "drive.common.PersonId");
the loader inlines each shared definition (from common.avsc) at its first use in document order, so the
result is a standalone schema dict that fastavro and Apache avro both parse. A topic file that defines a
type of the same full name itself keeps its own definition (how a later version can evolve a shared type
without touching published versions). Published versions are frozen: see ids.json and its test.

The files also carry the contract's validation rules as custom `drive.*` attributes (see formats.json and
docs/event-contract.md). Avro allows extra attributes, but they are not part of the published schema:
`schema_for` strips every `drive.*` key, so fingerprints, schema ids, fastavro and the schema registry see the
schemas exactly as published; `annotated_schema` keeps them for the JSON validator, the JSON Schema export and
the code generator.
"""
from __future__ import annotations

import copy
import hashlib
import json
import re
from functools import cache
from importlib import resources
from typing import Any

import fastavro

from schemas._schemawalk import named_types
from schemas.catalogue import TOPICS

Schema = dict[str, Any]

ATTRIBUTE_PREFIX = "drive."
_TOPIC_FILE = re.compile(r"^(?P<topic>[a-z][a-z-]*)\.v(?P<version>[1-9][0-9]*)\.avsc$")


def _avsc_dir() -> Any:
    return resources.files("schemas") / "avsc"


@cache
def _topic_files() -> dict[str, dict[int, str]]:
    found: dict[str, dict[int, str]] = {}
    for entry in _avsc_dir().iterdir():
        match = _TOPIC_FILE.match(entry.name)
        if match:
            found.setdefault(match["topic"], {})[int(match["version"])] = entry.name
    return found


@cache
def common_types() -> dict[str, Schema]:
    """The shared named types of common.avsc, by full name."""
    definitions = json.loads((_avsc_dir() / "common.avsc").read_text(encoding="utf-8"))
    return {f"{d['namespace']}.{d['name']}": d for d in definitions}


def versions(topic: str) -> list[int]:
    """Every version of a topic's value schema, oldest first."""
    if topic not in TOPICS:
        raise KeyError(f"unknown topic {topic!r}; known: {', '.join(TOPICS)}")
    return sorted(_topic_files().get(topic, {}))


def latest_version(topic: str) -> int:
    """The newest version of a topic's value schema."""
    return versions(topic)[-1]


def _full_name(definition: Schema, namespace: str | None) -> tuple[str, str | None]:
    name = definition["name"]
    if "." in name:
        return name, name.rsplit(".", 1)[0]
    own = definition.get("namespace", namespace)
    return (f"{own}.{name}" if own else name), own


def _defined_names(node: Any, namespace: str | None, out: set[str]) -> None:
    """Collect the full names of every named type defined inline in a schema."""
    if isinstance(node, list):
        for item in node:
            _defined_names(item, namespace, out)
    elif isinstance(node, dict):
        if node.get("type") in ("record", "enum", "fixed") and "name" in node:
            full, namespace = _full_name(node, namespace)
            out.add(full)
        for field in node.get("fields", ()):
            _defined_names(field["type"], namespace, out)
        for key in ("items", "values"):
            if key in node:
                _defined_names(node[key], namespace, out)
        if isinstance(node.get("type"), (dict, list)):
            _defined_names(node["type"], namespace, out)


def _inline_common(node: Any, shared: dict[str, Schema], defined: set[str]) -> Any:
    """Replace the first reference to each shared type by its definition, in document order."""
    if isinstance(node, str):
        if node in shared and node not in defined:
            defined.add(node)
            return _inline_common(copy.deepcopy(shared[node]), shared, defined)
        return node
    if isinstance(node, list):
        return [_inline_common(item, shared, defined) for item in node]
    if isinstance(node, dict):
        out = dict(node)
        if "fields" in node:
            out["fields"] = [{**f, "type": _inline_common(f["type"], shared, defined)} for f in node["fields"]]
        for key in ("items", "values"):
            if key in node:
                out[key] = _inline_common(node[key], shared, defined)
        if isinstance(node.get("type"), (dict, list)):
            out["type"] = _inline_common(node["type"], shared, defined)
        return out
    return node


def strip_attributes(node: Any) -> Any:
    """A copy of a schema without the contract's `drive.*` attributes (what Avro tools and the registry see)."""
    if isinstance(node, list):
        return [strip_attributes(item) for item in node]
    if isinstance(node, dict):
        return {k: strip_attributes(v) for k, v in node.items() if not k.startswith(ATTRIBUTE_PREFIX)}
    return node


@cache
def _resolved(topic: str, version: int) -> str:
    files = _topic_files().get(topic, {})
    if version not in files:
        raise KeyError(f"topic {topic!r} has no schema version {version}; known: {versions(topic)}")
    raw = json.loads((_avsc_dir() / files[version]).read_text(encoding="utf-8"))
    own: set[str] = set()
    _defined_names(raw, None, own)
    shared = {name: d for name, d in common_types().items() if name not in own}
    return json.dumps(_inline_common(raw, shared, set()))


@cache
def _published(topic: str, version: int) -> str:
    return json.dumps(strip_attributes(json.loads(_resolved(topic, version))))


def schema_for(topic: str, version: int | None = None) -> Schema:
    """The fully resolved value schema of a topic (latest version by default) as published: no `drive.*` attributes."""
    if version is None:
        version = latest_version(topic)
    return json.loads(_published(topic, version))


def annotated_schema(topic: str, version: int | None = None) -> Schema:
    """The fully resolved value schema of a topic with its `drive.*` validation attributes, as a fresh dict."""
    if version is None:
        version = latest_version(topic)
    return json.loads(_resolved(topic, version))


@cache
def parsed_schema(topic: str, version: int | None = None) -> Schema:
    """The fastavro-parsed value schema of a topic (latest by default); cached, do not mutate."""
    if version is None:
        version = latest_version(topic)
    return fastavro.parse_schema(schema_for(topic, version))


def schema_fingerprint(topic: str, version: int) -> str:
    """SHA-256 of the resolved schema's JSON with sorted keys; pinned in ids.json to freeze published versions."""
    text = json.dumps(schema_for(topic, version), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@cache
def latest_with_names(topic: str) -> tuple[Any, dict[str, tuple[Any, str | None]]]:
    """The topic's latest annotated schema and its named types by full name (shared and cached: never mutate)."""
    schema = annotated_schema(topic)
    return schema, named_types(schema)
