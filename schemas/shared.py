"""Typed shared records of the contract (drive.common) and the datum-conversion base of every event dataclass."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from schemas._dataconv import from_datum, to_datum_value
from schemas.enums import ConditionKind, LocationKind, PersonIdScheme


class Record:
    """Base of the event dataclasses: conversion from and to Avro datums (dicts as fastavro reads and writes)."""

    __slots__ = ()

    @classmethod
    def from_datum(cls, datum: dict[str, Any]) -> Self:
        """An instance from an Avro datum; timestamps become aware UTC datetimes, enums StrEnums, arrays tuples."""
        return from_datum(cls, datum)

    def to_datum(self) -> dict[str, Any]:
        """The Avro datum of this record (plain dicts, lists and strings; datetimes kept)."""
        return to_datum_value(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonId(Record):
    """An identifier of a person in one agency's system; never a name."""

    scheme: PersonIdScheme
    value: str

    def key(self) -> str:
        """The topic key form SCHEME:value."""
        return f"{self.scheme.value}:{self.value}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Source(Record):
    """Which agency and system sent the event."""

    agency: str
    system: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationRef(Record):
    """A coded reference to a place; never a free-text address."""

    kind: LocationKind
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CurfewHours(Record):
    """The daily hours of a curfew, local time, HH:MM."""

    start: str
    end: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Condition(Record):
    """One typed condition of bail, a protective order or a licence."""

    condition_id: str
    kind: ConditionKind
    protected_person_ref: str | None = None
    location_ref: LocationRef | None = None
    curfew: CurfewHours | None = None
    starts_at: datetime
    ends_at: datetime | None = None
