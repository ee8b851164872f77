"""Typed reading of one renamed agency row: text, codes, flags, UK-local timestamps, lists, places.

Every reader collects a FieldError naming the agency column and the kind of problem, never the
value itself (it may be personal data), and returns None so that one row reports all its errors.
"""
from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from connectors.mappings.config import FeedMapping
from schemas.jsonform import FieldError
from schemas.jsonparse import JsonRefused, parse_json

LOCATION_KINDS = ("UPRN", "POSTCODE_SECTOR", "EM_ZONE", "COURT", "PRISON", "OTHER")
_TRUE = {"y", "yes", "true", "1", "t"}
_FALSE = {"n", "no", "false", "0", "f"}
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def iso_utc(moment: datetime) -> str:
    """A UTC ISO-8601 string with a Z, milliseconds only when there are some."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


class RowFields:
    """The standard fields of one row (after column renames and constants), read with error collection."""

    def __init__(self, mapping: FeedMapping, values: dict[str, Any], columns: dict[str, str]) -> None:
        self.mapping = mapping
        self.values = values
        self.columns = columns  # standard field -> agency column it came from
        self.errors: list[FieldError] = []
        self.occurred_at: str | None = None  # the event's occurred_at: default start of its conditions
        self.event_type: str | None = None

    # --- plumbing
    def path(self, name: str) -> str:
        """Where a standard field came from, as named in error reports."""
        if name in self.columns:
            return self.columns[name]
        return f"constants.{name}" if name in self.mapping.constants else name

    def fail(self, name: str, message: str) -> None:
        """Record a problem with a field (message says what kind, never the value)."""
        self.errors.append(FieldError(self.path(name), message))

    def present(self, name: str) -> bool:
        """True when the field has a non-blank value."""
        value = self.values.get(name)
        return value not in (None, "") and not (isinstance(value, str) and not value.strip())

    def raw(self, name: str, required: bool) -> Any:
        """The field's value, or None (recording an error when it is required)."""
        if not self.present(name):
            if required:
                self.fail(name, "required: missing or blank")
            return None
        value = self.values[name]
        return value.strip() if isinstance(value, str) else value

    # --- scalar readers
    def text(self, name: str, required: bool = True) -> str | None:
        """A free identifier or code kept as written (trimmed)."""
        value = self.raw(name, required)
        if value is None or isinstance(value, str):
            return value
        self.fail(name, "must be text")
        return None

    def code(self, name: str, symbols: tuple[str, ...] | frozenset[str], required: bool = True,
             map_name: str | None = None) -> str | None:
        """An enum symbol: the agency code through the field's value map, or already one of ours."""
        value = self.text(name, required)
        if value is None:
            return None
        value_map = self.mapping.values.get(map_name or name)
        if value_map is not None:
            if value in value_map:
                value = value_map[value]
            elif value not in symbols:
                self.fail(name, f"unknown code: not in the value map {map_name or name!r}")
                return None
        if value not in symbols:
            self.fail(name, f"must be one of {', '.join(symbols)}")
            return None
        return value

    def flag(self, name: str, required: bool = True) -> bool | None:
        """A yes/no field (Y/N, yes/no, true/false, 1/0; value maps apply first)."""
        value = self.raw(name, required)
        if value is None or isinstance(value, bool):
            return value
        text = self.mapping.values.get(name, {}).get(str(value), str(value)).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        self.fail(name, "must be yes or no")
        return None

    def timestamp(self, name: str, required: bool = True) -> str | None:
        """An agency timestamp (declared format; naive means the feed's timezone) as UTC ISO-8601."""
        value = self.text(name, required)
        if value is None:
            return None
        moment = self._parse_moment(value)
        if moment is None:
            self.fail(name, f"not a timestamp in format {self.mapping.timestamp_format}")
            return None
        if moment.tzinfo is None:
            local = moment.replace(tzinfo=self.mapping.zone)
            # A wall-clock time skipped by the spring change to BST does not exist: refuse it.
            if local.astimezone(UTC).astimezone(self.mapping.zone).replace(tzinfo=None) != moment:
                self.fail(name, f"local time does not exist in {self.mapping.timezone} (clock change)")
                return None
            moment = local
        return iso_utc(moment)

    def _parse_moment(self, value: str) -> datetime | None:
        fmt = self.mapping.timestamp_format
        try:
            if fmt == "iso":
                return datetime.fromisoformat(value)
            return datetime.strptime(value, fmt)
        except ValueError:
            return None

    def date(self, name: str, required: bool = False) -> str | None:
        """A calendar date in the feed's date format, as YYYY-MM-DD."""
        value = self.text(name, required)
        if value is None:
            return None
        try:
            return datetime.strptime(value, self.mapping.date_format).date().isoformat()
        except ValueError:
            try:
                return date.fromisoformat(value).isoformat()
            except ValueError:
                self.fail(name, f"not a date in format {self.mapping.date_format}")
                return None

    def hhmm_pair(self, name: str, required: bool = True) -> dict[str, str] | None:
        """Curfew hours written 'HH:MM-HH:MM' as {start, end}."""
        value = self.text(name, required)
        if value is None:
            return None
        start, _, end = value.partition("-")
        if not (_HHMM.match(start.strip()) and _HHMM.match(end.strip())):
            self.fail(name, "curfew hours must be HH:MM-HH:MM")
            return None
        return {"start": start.strip(), "end": end.strip()}

    # --- structured readers
    def items(self, name: str) -> list[str]:
        """A list field: a JSON list, or text split on the feed's list separator; blanks dropped."""
        value = self.raw(name, required=False)
        if value is None:
            return []
        if isinstance(value, list):
            items = [str(v).strip() for v in value]
        else:
            items = [part.strip() for part in str(value).split(self.mapping.list_separator)]
        return [item for item in items if item]

    def json_list(self, name: str) -> list[dict[str, Any]] | None:
        """A list of objects given as JSON (a JSON-lines value or a JSON text in a CSV cell)."""
        value = self.raw(name, required=False)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = parse_json(value)
            except JsonRefused:
                self.fail(name, "must be a JSON list of objects")
                return None
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.fail(name, "must be a JSON list of objects")
            return None
        return value

    def location(self, name: str, required: bool = False) -> dict[str, str] | None:
        """A coded place: '<KIND>:<value>' in the field, or the kind in '<name>_kind' and the code in the field."""
        value = self.text(name, required)
        if value is None:
            return None
        if self.present(f"{name}_kind"):
            kind = self.code(f"{name}_kind", LOCATION_KINDS, map_name="location_kind")
            return {"kind": kind, "value": value} if kind else None
        return self.location_text(name, value)

    def location_text(self, name: str, value: str) -> dict[str, str] | None:
        """Parse '<KIND>:<value>' (e.g. 'EM_ZONE:Z-17', 'POSTCODE_SECTOR:SW1A 1')."""
        kind, sep, code = value.partition(":")
        kind = self.mapping.values.get("location_kind", {}).get(kind.strip(), kind.strip())
        if not sep or kind not in LOCATION_KINDS or not code.strip():
            self.fail(name, f"location must be KIND:code with KIND one of {', '.join(LOCATION_KINDS)}")
            return None
        return {"kind": kind, "value": code.strip()}
