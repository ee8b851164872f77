"""What a dead letter keeps in clear of a refused record: its description, never its values.

Field names of the contract (and a CSV's header) are kept; any other field name and every value becomes
a keyed fingerprint (equal values match, none can be read back), with its JSON type and length. Error
paths and messages are scrubbed the same way. The raw bytes themselves are kept only sealed (sealed.py).
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any

from connectors.intake.pseudonymise import HASH_FIELD, NAME_FIELD, NameHasher
from schemas.avro_schemas import schema_for
from schemas.catalogue import EVENT_TYPES, SOURCE_TOPICS
from schemas.errors import FieldError

DESCRIPTION_TYPE = "application/vnd.drive.record-description+json"
MAX_FIELDS = 200
_SEGMENT = re.compile(r"(\[\d+\]|\.)")
_EVENT_TYPES = frozenset(t for types in EVENT_TYPES.values() for t in types)


@cache
def contract_names() -> frozenset[str]:
    """Every field name and enum symbol of every source topic's schema (and the batch wrapper): safe in clear."""
    names = {"records", NAME_FIELD, HASH_FIELD, "(record)", "row", "file", "<key>"}
    stack: list[Any] = [schema_for(topic) for topic in SOURCE_TOPICS]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            names.update(f["name"] for f in node.get("fields", ()) if isinstance(f, dict))
            names.update(s for s in node.get("symbols", ()) if isinstance(s, str))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return frozenset(names)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bytes):
        return "bytes"
    return "array" if isinstance(value, list) else "object"


class Describer:
    """Builds descriptions and scrubs error reports with the process's keyed fingerprint."""

    def __init__(self, hasher: NameHasher) -> None:
        self.hasher = hasher

    def _leaf(self, path: str, value: Any) -> dict[str, Any]:
        entry: dict[str, Any] = {"path": path, "type": _kind(value)}
        if isinstance(value, str):
            entry["length"] = len(value)
            if path == "event_type" and value in _EVENT_TYPES:
                entry["value"] = value
            else:
                entry["fingerprint"] = self.hasher.fingerprint(value)
        elif isinstance(value, bool) or value is None:
            entry["value"] = value
        elif isinstance(value, int) and path == "schema_version":
            entry["value"] = value
        elif isinstance(value, int | float):
            entry["fingerprint"] = self.hasher.fingerprint(repr(value))
        else:
            entry["length"] = len(value)
        return entry

    def key(self, name: str, known: frozenset[str]) -> str:
        """A field name as a description may show it: in clear when known, else `#<fingerprint>`."""
        return name if name in known else f"#{self.hasher.fingerprint(name)[:8]}"

    def json_value(self, value: Any, size: int, content_type: str, sealed: bool) -> dict[str, Any]:
        """The description of a parsed JSON value: one entry per field (containers and leaves), bounded."""
        known = contract_names()
        fields: list[dict[str, Any]] = []
        stack: list[tuple[str, Any]] = [("", value)]
        while stack and len(fields) < MAX_FIELDS:
            path, item = stack.pop()
            if path:
                fields.append(self._leaf(path, item))
            if isinstance(item, dict):
                stack.extend((f"{path}.{self.key(k, known)}" if path else self.key(k, known), v)
                             for k, v in reversed(list(item.items())))
            elif isinstance(item, list):
                stack.extend((f"{path}[{i}]", v) for i, v in reversed(list(enumerate(item))))
        return {"format": "json", "content_type": content_type, "bytes": size, "sealed": sealed,
                "type": _kind(value), "fields": fields, "truncated": bool(stack)}

    def columns(self, values: dict[str, Any], dropped: Iterable[str], size: int, content_type: str,
                sealed: bool) -> dict[str, Any]:
        """The description of a row read by column: kept columns with length and fingerprint; dropped ones named."""
        drop = set(dropped)
        fields = [{"path": column, "dropped": True} if column in drop else self._leaf(column, value)
                  for column, value in list(values.items())[:MAX_FIELDS]]
        return {"format": "columns", "content_type": content_type, "bytes": size, "sealed": sealed,
                "fields": fields, "truncated": len(values) > MAX_FIELDS}

    def unread(self, data: bytes, content_type: str, sealed: bool) -> dict[str, Any]:
        """The description of bytes that could not be read as a record: size, lines, UTF-8 or not, cells of CSV."""
        description: dict[str, Any] = {"format": "bytes", "content_type": content_type, "bytes": len(data),
                                       "sealed": sealed, "lines": data.count(b"\n") + (not data.endswith(b"\n")),
                                       "fingerprint": self.hasher.fingerprint(data)}
        try:
            text = data.decode("utf-8")
            description["utf8"] = True
        except UnicodeDecodeError as exc:
            description["utf8"], description["first_bad_byte"] = False, exc.start
            text = data.decode("utf-8", "surrogateescape")
        if content_type == "text/csv":
            try:
                cells = next(csv.reader(io.StringIO(text)), [])
            except csv.Error:
                cells = []
            description["cells"] = [{"length": len(c), "fingerprint": self.hasher.fingerprint(c)}
                                    for c in cells[:MAX_FIELDS]]
        return description

    def errors(self, errors: Iterable[FieldError], known: Iterable[str] = (), values: Any = None) -> list[FieldError]:
        """Error reports with unknown field names and any of the record's values replaced by fingerprints."""
        names = contract_names() | frozenset(known)
        secrets = sorted({s for s in iter_strings(values) if len(s) >= 4 and s not in names}, key=len, reverse=True)
        scrubbed = []
        for error in errors:
            path = "".join(part if _SEGMENT.fullmatch(part) or not part else self.key(part, names)
                           for part in _SEGMENT.split(error.path))
            message = error.message
            for secret in secrets:
                if secret in message:
                    message = message.replace(secret, f"#{self.hasher.fingerprint(secret)[:8]}")
            scrubbed.append(FieldError(_printable(path), _printable(message)))
        return scrubbed


def iter_strings(value: Any, limit: int = 500) -> Iterator[str]:
    """Up to `limit` string keys and values of a parsed JSON value (the values a message must not show)."""
    stack, seen = [value], 0
    while stack and seen < limit:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            seen += 1
            yield item


def _printable(text: str) -> str:
    """Text safe to encode anywhere: lone surrogates and control characters replaced."""
    return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" or (ch < " " and ch != "\t") else ch for ch in text)


def describe_bytes(description: dict[str, Any]) -> bytes:
    """A description as the bytes a dead letter's raw field holds."""
    return json.dumps(description, ensure_ascii=True, separators=(",", ":"), sort_keys=True).encode("ascii")
