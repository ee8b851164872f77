"""The base of the generated event classes and the value conversions their straight-line from_datum methods use."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any, Self, TypeVar

E = TypeVar("E", bound=Enum)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DAY = date(1970, 1, 1)


class Record:
    """Base of the generated event classes: conversion from and to Avro datums (dicts as fastavro reads them)."""

    __slots__ = ()

    @classmethod
    def from_datum(cls, datum: dict[str, Any]) -> Self:
        """An instance from an Avro datum; timestamps become aware UTC datetimes, enums StrEnums, arrays tuples."""
        raise NotImplementedError(f"{cls.__name__} is not a generated record class")

    def to_datum(self) -> dict[str, Any]:
        """The Avro datum of this record (plain dicts, lists and strings; datetimes kept)."""
        raise NotImplementedError(f"{type(self).__name__} is not a generated record class")


R = TypeVar("R", bound=Record)


class PersonIdKey:
    """What a PersonId can do besides holding its fields."""

    __slots__ = ()
    scheme: Any
    value: str

    def key(self) -> str:
        """The topic key form SCHEME:value."""
        return f"{self.scheme.value}:{self.value}"


def blank(cls: type[R]) -> R:
    """An instance of a record class with no field set yet (from_datum fills it through its slot setters)."""
    return object.__new__(cls)


def slot_setters(cls: type) -> tuple[Callable[[Any, Any], None], ...]:
    """The setters of a frozen slotted dataclass's fields, in order: they fill an instance without the frozen
    __init__ and its object.__setattr__ per field, which costs more than the rest of from_datum together."""
    return tuple(getattr(cls, f.name).__set__ for f in dataclasses.fields(cls))


def utc(value: Any) -> datetime:
    """A timestamp-millis datum value (aware datetime, or epoch milliseconds) as an aware UTC datetime."""
    if isinstance(value, int):
        return _EPOCH + timedelta(milliseconds=value)
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def utc_or_none(value: Any) -> datetime | None:
    """utc() of an optional value."""
    return None if value is None else utc(value)


def day(value: Any) -> date:
    """A date datum value (date, or days since the epoch) as a date."""
    return value if isinstance(value, date) else _EPOCH_DAY + timedelta(days=value)


def day_or_none(value: Any) -> date | None:
    """day() of an optional value."""
    return None if value is None else day(value)


def member(enum: type[E], value: Any) -> E:
    """The member of an enum with a symbol (found in the enum's own table by value; an unknown one: ValueError)."""
    return enum._value2member_map_.get(value) or enum(value)  # type: ignore[return-value]


def member_or_none(enum: type[E], value: Any) -> E | None:
    """member() of an optional value."""
    return None if value is None else enum._value2member_map_.get(value) or enum(value)  # type: ignore[return-value]


def nested(cls: type[R], value: Any) -> R:
    """A nested record from its datum (an instance passes through)."""
    return value if isinstance(value, cls) else cls.from_datum(value)


def nested_or_none(cls: type[R], value: Any) -> R | None:
    """nested() of an optional value."""
    return None if value is None else value if isinstance(value, cls) else cls.from_datum(value)


def to_datum_value(value: Any) -> Any:
    """Any record, enum, tuple or plain value as an Avro datum value: dicts, lists, plain strings for enums."""
    if isinstance(value, Record):
        return value.to_datum()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_datum_value(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (tuple, list)):
        return [to_datum_value(item) for item in value]
    return value
