"""Agency mappings: an agency-native row (dict of strings) -> a JSON-form record of the event contract.

`map_row(mapping, row)` renames the row's columns by the feed's declared mapping
(connectors/mappings/config.py), then the source kind's module (police, courts, em, casemgmt)
shapes the details. Problems raise RowRejected with one FieldError per bad column.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from connectors.mappings import casemgmt, courts, em, police
from connectors.mappings.common import ENVELOPE_FIELDS, person_ids
from connectors.mappings.config import FeedMapping
from connectors.mappings.fields import RowFields
from schemas.avro_schemas import latest_version
from schemas.catalogue import NO_PERSON_EVENT_TYPES
from schemas.jsonform import FieldError

KINDS: dict[str, ModuleType] = {"police": police, "courts": courts, "em": em, "casemgmt": casemgmt}
_MAX_EVENT_ID = 128


@dataclass(frozen=True)
class MappedRecord:
    """A row turned into a JSON-form record for one topic."""

    topic: str
    event_type: str
    event_id: str
    record: dict[str, Any]


class RowRejected(Exception):
    """A row could not be mapped; errors name the agency columns and the kind of problem."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(f"mapping failed on {len(errors)} field(s)")
        self.errors = tuple(errors)


def vocabulary_of(kind: str) -> frozenset[str]:
    """The standard field names a feed of this source kind may map to."""
    return ENVELOPE_FIELDS | KINDS[kind].VOCABULARY


def event_types_of(kind: str) -> frozenset[str]:
    """The event types a source kind can shape."""
    return frozenset(KINDS[kind].DETAILS)


def map_row(mapping: FeedMapping, row: dict[str, Any]) -> MappedRecord:
    """Map one agency row to a contract record, or raise RowRejected."""
    values, columns = standard_fields(mapping, row)
    fields = RowFields(mapping, values, columns)
    event_type = _event_type(mapping, row, fields)
    fields.event_type = event_type
    fields.occurred_at = fields.timestamp("occurred_at")
    recorded_at = fields.timestamp("recorded_at", required=False) or fields.occurred_at
    details = KINDS[mapping.kind].DETAILS[event_type](fields) if event_type else {}
    ids = getattr(KINDS[mapping.kind], "case_person_ids", lambda f: [])(fields) + person_ids(fields)
    if event_type and not ids and event_type not in NO_PERSON_EVENT_TYPES:
        fields.errors.append(FieldError("person_ids", "no person identifier column has a value"))
    event_id = _event_id(mapping, fields)
    name = fields.text("person_name", required=False)
    birth = fields.date("date_of_birth")
    if fields.errors:
        raise RowRejected(fields.errors)
    record: dict[str, Any] = {
        "event_id": event_id, "event_type": event_type,
        "source": {"agency": mapping.agency, "system": fields.text("source_system", required=False) or mapping.system},
        "person_ids": ids, "occurred_at": fields.occurred_at, "recorded_at": recorded_at,
        "schema_version": mapping.schema_version or latest_version(mapping.topic), "details": details,
    }
    if name is not None:
        record["person_name"] = name  # the intake core replaces it by a keyed hash before anything else
    if birth is not None:
        record["date_of_birth"] = birth
    return MappedRecord(mapping.topic, event_type, event_id, record)


def standard_fields(mapping: FeedMapping, row: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Rename a row's agency columns to standard fields; unmapped, dropped and address columns are left out."""
    vocabulary = vocabulary_of(mapping.kind)
    templates = [(_template(agency), standard) for agency, standard in mapping.columns.items() if "{n}" in agency]
    values: dict[str, Any] = {}
    columns: dict[str, str] = {}
    for agency_column, value in row.items():
        if agency_column in mapping.drop:
            continue
        standard = mapping.columns.get(agency_column) or _from_template(agency_column, templates)
        if standard is None and _in_vocabulary(agency_column, vocabulary):
            standard = agency_column
        if standard is not None:
            values[standard] = _as_text(value)
            columns[standard] = agency_column
    for standard, constant in mapping.constants.items():
        if values.get(standard) in (None, ""):
            values[standard] = constant
            columns.pop(standard, None)
    return values, columns


def read_cells(mapping: FeedMapping, row: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The cells a mapping reads from a row (by agency column), and the columns holding a person's name."""
    _, columns = standard_fields(mapping, row)
    read = set(columns.values()) | ({mapping.event_type.column} if mapping.event_type.column else set())
    names = tuple(column for standard, column in columns.items() if standard == "person_name")
    return {column: value for column, value in row.items() if column in read}, names


def _template(agency: str) -> re.Pattern[str]:
    return re.compile("^" + re.escape(agency).replace(re.escape("{n}"), r"(\d+)") + "$")


def _from_template(column: str, templates: list[tuple[re.Pattern[str], str]]) -> str | None:
    for pattern, standard in templates:
        if match := pattern.match(column):
            return standard.replace("{n}", match.group(1))
    return None


def _in_vocabulary(name: str, vocabulary: frozenset[str]) -> bool:
    return name in vocabulary or re.sub(r"^([a-z]+)\d+_", r"\1{n}_", name) in vocabulary


def _as_text(value: Any) -> Any:
    """Scalars become text as a CSV would hold them; JSON lists and objects stay structured."""
    if value is None or isinstance(value, (str, list, dict)):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _event_type(mapping: FeedMapping, row: dict[str, Any], fields: RowFields) -> str | None:
    rule = mapping.event_type
    if rule.constant:
        return rule.constant
    code = row.get(rule.column)
    code = code.strip() if isinstance(code, str) else code
    if code in (None, ""):
        fields.errors.append(FieldError(rule.column, "required: missing or blank (chooses the event type)"))
        return None
    if code not in rule.values:
        fields.errors.append(FieldError(rule.column, "unknown code: not in the event_type value map"))
        return None
    return rule.values[code]


def _event_id(mapping: FeedMapping, fields: RowFields) -> str | None:
    """The agency's event id, or agency:feed:<record key> so that re-reading a row is idempotent."""
    given = fields.text("event_id", required=False)
    if given is not None:
        return given
    parts = []
    for name in mapping.key:
        value = fields.raw(name, required=False)
        if value is None:
            fields.fail(name, "required: part of the record key")
            return None
        parts.append(str(value))
    event_id = f"{mapping.agency}:{mapping.feed}:{':'.join(parts)}"
    if len(event_id) > _MAX_EVENT_ID:
        digest = hashlib.sha256(":".join(parts).encode()).hexdigest()
        event_id = f"{mapping.agency}:{mapping.feed}:sha256:{digest}"[:_MAX_EVENT_ID]
    return event_id
