"""Generic conversion between Avro datums (dicts) and the frozen event dataclasses, driven by type hints."""
from __future__ import annotations

import dataclasses
import types
import typing
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from functools import cache
from typing import Any, Callable, TypeVar

T = TypeVar("T")
Convert = Callable[[Any], Any]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _identity(value: Any) -> Any:
    return value


def _to_utc(value: Any) -> datetime:
    if isinstance(value, int):
        return _EPOCH + timedelta(milliseconds=value)
    return value.astimezone(UTC)


def _to_date(value: Any) -> date:
    return value if isinstance(value, date) else date(1970, 1, 1) + timedelta(days=value)


def _converter(hint: Any) -> Convert:
    """A function turning a datum value into a value of the hinted type."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) != 1:
            return _identity  # several branches (details): chosen by the caller
        inner = _converter(args[0])
        return lambda v: None if v is None else inner(v)
    if origin is tuple:
        inner = _converter(typing.get_args(hint)[0])
        return lambda v: tuple(inner(item) for item in v or ())
    if dataclasses.is_dataclass(hint):
        return lambda v: v if isinstance(v, hint) else from_datum(hint, v)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint
    if hint is datetime:
        return _to_utc
    if hint is date:
        return _to_date
    return _identity


@cache
def _plan(cls: type) -> tuple[tuple[str, Convert], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, _converter(hints[f.name])) for f in dataclasses.fields(cls))


def from_datum(cls: type[T], datum: dict[str, Any]) -> T:
    """An instance of a dataclass built from an Avro datum (missing keys become None)."""
    return cls(**{name: convert(datum.get(name)) for name, convert in _plan(cls)})  # type: ignore[call-arg]


def to_datum_value(value: Any) -> Any:
    """A dataclass value as an Avro datum value: dicts, lists, plain strings for enums."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_datum_value(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (tuple, list)):
        return [to_datum_value(item) for item in value]
    return value
