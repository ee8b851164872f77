"""Confluent wire format over fastavro: magic byte 0, 4-byte big-endian schema id, then the Avro binary body."""
from __future__ import annotations

import hashlib
import io
import json
import struct
from functools import cache
from importlib import resources
from typing import Any, Protocol

from fastavro import parse_schema, schemaless_reader, schemaless_writer

from schemas import avro_schemas as registry
from schemas.catalogue import EVENT_TYPES, TOPICS, details_schema_name
from schemas.errors import CodecError
from schemas.generated.events import RECORD_CLASSES, event_from_datum
from schemas.record import Record

MAGIC = 0
HEADER = struct.Struct(">bI")
_WRITE_ERRORS = (ValueError, TypeError, KeyError, AttributeError, OverflowError, struct.error)
_READ_ERRORS = (EOFError, ValueError, IndexError, struct.error, UnicodeDecodeError, OverflowError, TypeError)


class SchemaIds(Protocol):
    """Maps (subject, schema) to a registry id and back."""

    def id_for(self, subject: str, schema: dict) -> int:
        """The id of a schema under a subject (registering it if the registry does that)."""
        ...

    def schema_for_id(self, schema_id: int) -> dict:
        """The schema with an id; raises KeyError when there is none."""
        ...


def subject_for(topic: str, prefix: str = "drive.") -> str:
    """The TopicNameStrategy subject of a topic's values, e.g. drive.incident-value."""
    return f"{prefix}{topic}-value"


def schema_text_fingerprint(schema: dict) -> str:
    """SHA-256 of a schema's JSON with sorted keys (the form pinned in ids.json)."""
    text = json.dumps(schema, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@cache
def local_id_table() -> tuple[dict[str, Any], ...]:
    """The entries of schemas/avsc/ids.json: id, topic, version, sha256."""
    text = (resources.files("schemas") / "avsc" / "ids.json").read_text(encoding="utf-8")
    return tuple(json.loads(text)["schemas"])


class LocalSchemaIds:
    """The fixed id table shipped in ids.json (used when no schema registry is configured)."""

    def __init__(self, prefix: str = "drive.") -> None:
        self.prefix = prefix
        self._by_id = {e["id"]: e for e in local_id_table()}
        self._by_key = {(subject_for(e["topic"], prefix), e["sha256"]): e["id"] for e in local_id_table()}

    def id_for(self, subject: str, schema: dict) -> int:
        """The local id of a schema; a schema missing from ids.json means a published version was changed."""
        key = (subject, schema_text_fingerprint(schema))
        if key not in self._by_key:
            raise CodecError(f"no local schema id for this schema under {subject}: if a published schema was "
                             "edited, restore it and add a new version with a new id in ids.json")
        return self._by_key[key]

    def schema_for_id(self, schema_id: int) -> dict:
        """The schema of a local id."""
        entry = self._by_id.get(schema_id)
        if entry is None:
            raise KeyError(schema_id)
        return registry.schema_for(entry["topic"], entry["version"])


_TOPIC_BY_RECORD = {spec.value_schema: topic for topic, spec in TOPICS.items()}


def without_logical_types(node: Any) -> Any:
    """A schema whose timestamps and dates read as their plain long/int (the typed classes convert them once)."""
    if isinstance(node, list):
        return [without_logical_types(item) for item in node]
    if isinstance(node, dict):
        if "logicalType" in node:
            return node["type"]
        return {key: without_logical_types(value) for key, value in node.items()}
    return node


def _topic_of(schema: dict) -> str | None:
    name = schema.get("name", "")
    full = name if "." in name else f"{schema.get('namespace', '')}.{name}"
    return _TOPIC_BY_RECORD.get(full)


class AvroCodec:
    """Encodes datums with a topic's latest schema and decodes any known version into the latest one."""

    def __init__(self, ids: SchemaIds | None = None, prefix: str = "drive.") -> None:
        self.ids = ids if ids is not None else LocalSchemaIds(prefix)
        self.prefix = prefix
        self._writers: dict[str, tuple[bytes, Any, dict[str, str]]] = {}
        self._readers: dict[tuple[int, str | None, bool], tuple[Any, Any]] = {}

    def _writer(self, topic: str) -> tuple[bytes, Any, dict[str, str]]:
        cached = self._writers.get(topic)
        if cached is None:
            if topic not in TOPICS:
                raise CodecError(f"unknown topic {topic!r}")
            schema_id = self.ids.id_for(subject_for(topic, self.prefix), registry.schema_for(topic))
            branches = {t: details_schema_name(topic, t) for t in EVENT_TYPES.get(topic, {})}
            cached = (HEADER.pack(MAGIC, schema_id), registry.parsed_schema(topic), branches)
            self._writers[topic] = cached
        return cached

    def schema_id(self, topic: str) -> int:
        """The id the codec writes for a topic (its latest schema)."""
        return HEADER.unpack(self._writer(topic)[0])[1]

    def encode(self, topic: str, datum: dict[str, Any]) -> bytes:
        """Confluent-framed Avro bytes of a datum, written with the topic's latest schema."""
        header, parsed, branches = self._writer(topic)
        if branches and isinstance(datum.get("details"), dict):
            event_type = str(datum.get("event_type"))
            if event_type not in branches:
                raise CodecError(f"{topic}: event_type {event_type!r} has no details record")
            datum = {**datum, "details": (branches[event_type], datum["details"])}
        out = io.BytesIO()
        out.write(header)
        try:
            schemaless_writer(out, parsed, datum)
        except _WRITE_ERRORS as exc:
            raise CodecError(f"{topic}: datum does not fit the schema: {exc}") from exc
        return out.getvalue()

    def _reader(self, schema_id: int, topic: str | None, plain: bool) -> tuple[Any, Any]:
        cached = self._readers.get((schema_id, topic, plain))
        if cached is None:
            try:
                writer_schema = self.ids.schema_for_id(schema_id)
            except KeyError:
                raise CodecError(f"unknown schema id {schema_id}") from None
            writer_topic = _topic_of(writer_schema)
            reader_topic = topic or writer_topic
            if reader_topic is None:
                raise CodecError(f"schema id {schema_id} is not the value schema of a known topic")
            if topic is not None and writer_topic is not None and writer_topic != topic:
                raise CodecError(f"schema id {schema_id} belongs to topic {writer_topic!r}, not {topic!r}")
            writer = parse_schema(without_logical_types(writer_schema) if plain else writer_schema)
            latest = registry.schema_for(reader_topic)
            # same schema: no resolution needed, which is the fast path
            reader = None if writer_schema == latest else (
                parse_schema(without_logical_types(latest)) if plain else registry.parsed_schema(reader_topic))
            cached = (writer, reader)
            self._readers[(schema_id, topic, plain)] = cached
        return cached

    def decode(self, data: bytes, topic: str | None = None) -> dict[str, Any]:
        """The datum in Confluent-framed bytes, resolved to the latest schema of its topic."""
        return self._read(data, topic, plain=False)

    def decode_typed(self, data: bytes, topic: str) -> Record:
        """The typed record in Confluent-framed bytes: an Event for a source topic, else the topic's record class.

        The same as event_from_datum(topic, decode(data, topic)) (or RECORD_CLASSES[topic].from_datum), but
        faster: fastavro reads timestamps and dates as plain numbers and the typed classes convert them once.
        """
        datum = self._read(data, topic, plain=True)
        if topic in EVENT_TYPES:
            return event_from_datum(topic, datum)
        return RECORD_CLASSES[topic].from_datum(datum)

    def _read(self, data: bytes, topic: str | None, plain: bool) -> dict[str, Any]:
        if len(data) < HEADER.size:
            raise CodecError(f"truncated: {len(data)} bytes is shorter than the 5-byte header")
        magic, schema_id = HEADER.unpack_from(data)
        if magic != MAGIC:
            raise CodecError(f"bad magic byte {magic}: not Confluent-framed Avro")
        writer, reader = self._reader(schema_id, topic, plain)
        body = io.BytesIO(memoryview(data)[HEADER.size:])
        try:
            datum = schemaless_reader(body, writer, reader)
        except _READ_ERRORS as exc:
            raise CodecError(f"truncated or corrupt Avro body (schema id {schema_id}): {exc!r}") from exc
        if body.tell() != len(data) - HEADER.size:
            raise CodecError(f"{len(data) - HEADER.size - body.tell()} unexpected trailing bytes after the record")
        return datum
