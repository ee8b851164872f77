"""Declared per-agency feed mappings: one YAML file per agency feed, loaded and checked here.

A feed mapping says which files (glob patterns) or which SQL table it applies to, the target topic,
how the event type is chosen, how agency columns are renamed to the standard vocabulary of its
source kind (connectors/mappings/<kind>.py), value maps, timestamp format and timezone, and the
list separator. See connectors/mappings/sample_config/README.md for the full format.
"""
from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from schemas.catalogue import EVENT_TYPES

# An address never enters the system: a rename from a column whose name says "address" is refused.
_ADDRESS_COLUMN = re.compile(r"addr(ess)?\b|address", re.IGNORECASE)
_FEED_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")


class MappingConfigError(ValueError):
    """A feed mapping file is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class EventTypeRule:
    """The event type of a row: a constant, or an agency column's code through a value map."""

    constant: str | None = None
    column: str | None = None
    values: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SqlSpec:
    """The SQL table or view a feed polls, with its watermark and tie-breaker key columns."""

    table: str
    watermark: str
    key: str
    columns: tuple[str, ...]
    url_env: str | None = None


@dataclass(frozen=True)
class FeedMapping:
    """One agency feed: where it comes from, what it becomes, and how columns and codes translate."""

    agency: str
    feed: str
    kind: str
    topic: str
    system: str
    event_type: EventTypeRule
    key: tuple[str, ...]
    columns: dict[str, str]
    values: dict[str, dict[str, str]]
    constants: dict[str, str]
    drop: tuple[str, ...]
    files: tuple[str, ...] = ()
    sql: SqlSpec | None = None
    timestamp_format: str = "iso"
    date_format: str = "%Y-%m-%d"
    timezone: str = "Europe/London"
    list_separator: str = ";"
    schema_version: int | None = None

    @property
    def name(self) -> str:
        """The feed's id, agency:feed."""
        return f"{self.agency}:{self.feed}"

    @property
    def zone(self) -> ZoneInfo:
        """Timezone of naive agency timestamps."""
        return ZoneInfo(self.timezone)

    def matches_file(self, file_name: str) -> bool:
        """True when a dropped file's name matches one of this feed's patterns."""
        return any(fnmatch.fnmatchcase(file_name, pattern) for pattern in self.files)


def _require(raw: dict[str, Any], key: str, where: str) -> Any:
    if key not in raw or raw[key] in (None, ""):
        raise MappingConfigError(f"{where}: missing required key {key!r}")
    return raw[key]


def _str_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MappingConfigError(f"{where}: must be a mapping")
    return {str(k): str(v) for k, v in value.items()}


def _event_type_rule(raw: Any, topic: str, where: str) -> EventTypeRule:
    known = EVENT_TYPES[topic]
    if isinstance(raw, str):
        rule = EventTypeRule(constant=raw)
    elif isinstance(raw, dict) and "column" in raw:
        rule = EventTypeRule(column=str(raw["column"]), values=_str_map(raw.get("values"), f"{where}.values"))
        if not rule.values:
            raise MappingConfigError(f"{where}: a column rule needs a non-empty values map")
    else:
        raise MappingConfigError(f"{where}: a constant event type or {{column, values}}")
    for event_type in ([rule.constant] if rule.constant else rule.values.values()):
        if event_type not in known:
            raise MappingConfigError(f"{where}: {event_type!r} is not an event type of topic {topic!r}")
    return rule


def _sql_spec(raw: Any, where: str) -> SqlSpec:
    if not isinstance(raw, dict):
        raise MappingConfigError(f"{where}: must be a mapping")
    columns = raw.get("columns") or []
    if not isinstance(columns, list) or not columns:
        raise MappingConfigError(f"{where}.columns: a non-empty list of column names")
    return SqlSpec(table=str(_require(raw, "table", where)), watermark=str(_require(raw, "watermark", where)),
                   key=str(_require(raw, "key", where)), columns=tuple(str(c) for c in columns),
                   url_env=raw.get("url_env"))


def _check_columns(columns: dict[str, str], vocabulary: frozenset[str], where: str) -> None:
    for agency_column, standard in columns.items():
        is_email = standard == "email" and "mail" in agency_column.lower()
        if (_ADDRESS_COLUMN.search(agency_column) and not is_email) or "address" in standard:
            raise MappingConfigError(f"{where}: column {agency_column!r} looks like an address; "
                                     "addresses are never mapped (list it under drop:)")
        if standard.replace("{n}", "1") not in vocabulary and not _numbered(standard, vocabulary):
            raise MappingConfigError(f"{where}: {standard!r} is not in the {where.split(':')[0]} vocabulary")


def _numbered(standard: str, vocabulary: frozenset[str]) -> bool:
    generic = re.sub(r"^([a-z]+)\d+_", r"\1{n}_", standard)
    return generic in vocabulary


def parse_mapping(raw: dict[str, Any], where: str) -> FeedMapping:
    """Check one feed mapping's YAML document and build it."""
    from connectors.mappings import event_types_of, vocabulary_of  # late: mappings imports this module

    if not isinstance(raw, dict):
        raise MappingConfigError(f"{where}: a feed mapping must be a YAML mapping")
    kind = str(_require(raw, "kind", where))
    topic = str(_require(raw, "topic", where))
    if topic not in EVENT_TYPES:
        raise MappingConfigError(f"{where}: unknown topic {topic!r}")
    feed = str(_require(raw, "feed", where))
    if not _FEED_NAME.match(feed):
        raise MappingConfigError(f"{where}: feed must be lower-case letters, digits, _ or -")
    try:
        vocabulary = vocabulary_of(kind)
    except KeyError as exc:
        raise MappingConfigError(f"{where}: unknown kind {kind!r}") from exc
    columns = _str_map(raw.get("columns"), f"{where}.columns")
    _check_columns(columns, vocabulary, f"{kind}: {where}.columns")
    constants = _str_map(raw.get("constants"), f"{where}.constants")
    _check_columns({k: k for k in constants}, vocabulary, f"{kind}: {where}.constants")
    key = raw.get("key")
    if not isinstance(key, list) or not key:
        raise MappingConfigError(f"{where}: key must list the standard fields that identify a record")
    if {"person_name", "date_of_birth"} & set(key):
        raise MappingConfigError(f"{where}: a name or date of birth must never be part of an event id")
    times = raw.get("timestamps") or {}
    timezone = str(times.get("timezone", "Europe/London"))
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise MappingConfigError(f"{where}: unknown timezone {timezone!r}") from exc
    applies = raw.get("applies_to") or {}
    mapping = FeedMapping(
        agency=str(_require(raw, "agency", where)), feed=feed, kind=kind, topic=topic,
        system=str(_require(raw, "system", where)),
        event_type=_event_type_rule(_require(raw, "event_type", where), topic, f"{where}.event_type"),
        key=tuple(str(k) for k in key), columns=columns,
        values={str(k): _str_map(v, f"{where}.values.{k}") for k, v in (raw.get("values") or {}).items()},
        constants=constants, drop=tuple(str(c) for c in raw.get("drop") or ()),
        files=tuple(str(p) for p in applies.get("files") or ()),
        sql=_sql_spec(applies["sql"], f"{where}.applies_to.sql") if applies.get("sql") else None,
        timestamp_format=str(times.get("format", "iso")), date_format=str(times.get("date_format", "%Y-%m-%d")),
        timezone=timezone, list_separator=str(raw.get("list_separator", ";")),
        schema_version=raw.get("schema_version"),
    )
    unsupported = set(mapping.event_type.values.values() or [mapping.event_type.constant]) - event_types_of(kind)
    if unsupported:
        raise MappingConfigError(f"{where}: the {kind} mappings cannot shape {', '.join(sorted(unsupported))}")
    if not mapping.files and mapping.sql is None:
        raise MappingConfigError(f"{where}: applies_to needs files: [...] or sql: {{...}}")
    return mapping


def load_mapping(path: Path) -> FeedMapping:
    """Load one feed mapping YAML file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise MappingConfigError(f"{path.name}: cannot read: {exc.__class__.__name__}") from exc
    return parse_mapping(raw, path.name)


def load_mappings(folder: Path) -> list[FeedMapping]:
    """Load every *.yaml feed mapping in a folder, sorted by file name; feed names must be unique."""
    mappings = [load_mapping(p) for p in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))]
    seen: set[str] = set()
    for mapping in mappings:
        if mapping.name in seen:
            raise MappingConfigError(f"duplicate feed {mapping.name}")
        seen.add(mapping.name)
    return mappings


def default_mappings_dir() -> Path:
    """The example mappings shipped with the code (connectors/mappings/sample_config)."""
    return Path(__file__).resolve().parent / "sample_config"
