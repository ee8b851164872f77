"""Readers of single JSON-form values (strings, numbers, enums, times, bytes), built once from a field's schema.

A reader is `read(value, path, ctx) -> datum value`: it returns the value as the Avro datum holds it, or records
a FieldError in `ctx` and returns INVALID. Readers never raise for any JSON-like input.
"""
from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from schemas.errors import FieldError, Reason
from schemas.formats import TextRule

INVALID: Any = object()
MISSING: Any = object()
READER_ONLY_SYMBOL = "UNKNOWN"  # the reader's fallback for symbols added later; never accepted from a sender
TIMESTAMP_HINT = "must be an ISO-8601 timestamp with a time zone, e.g. 2026-11-22T10:00:00Z"
ZONE_HINT = "must include a time zone (Z or +HH:MM), e.g. 2026-11-22T10:00:00Z"
TIME_RANGE = "must be a time between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z once converted to UTC"
DATE_HINT = "must be a date YYYY-MM-DD"
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_LONGEST_TIMESTAMP = 64
INTEGER_RANGES = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds the validator applies beyond the schema; connectors set them from DRIVE_* settings.

    The event-time window (occurred_at, recorded_at) applies only when `now` is given to from_json/validate;
    None turns one side of the window off. At most `max_errors` problems are listed, then one saying how many more.
    """

    max_ahead: timedelta | None = timedelta(days=1)
    max_age: timedelta | None = timedelta(days=20 * 365)
    max_errors: int = 100


class Context:
    """The state of one validation: the errors found so far, `now` and the limits."""

    __slots__ = ("errors", "now", "limits")

    def __init__(self, now: datetime | None, limits: Limits) -> None:
        self.errors: list[FieldError] = []
        self.now = now
        self.limits = limits

    def error(self, path: str, message: str, reason: Reason) -> Any:
        """Record a problem; returns INVALID so a reader can `return ctx.error(...)`."""
        self.errors.append(FieldError(path, message, reason))
        return INVALID


Read = Callable[[Any, str, Context], Any]


def _null_or(value: Any, path: str, ctx: Context, message: str, reason: Reason = Reason.TYPE) -> Any:
    if value is None:
        return ctx.error(path, "must not be null", Reason.NULL)
    return ctx.error(path, message, reason)


def string_reader(rule: TextRule) -> Read:
    """A string checked against its rule (length, characters, pattern or code list)."""
    check = rule.check()

    def read(value: Any, path: str, ctx: Context) -> Any:
        if not isinstance(value, str):
            return _null_or(value, path, ctx, "must be a string")
        problem = check(value)
        return value if problem is None else ctx.error(path, *problem)

    return read


def boolean_reader() -> Read:
    """true or false."""
    def read(value: Any, path: str, ctx: Context) -> Any:
        if value is True or value is False:
            return value
        return _null_or(value, path, ctx, "must be true or false")

    return read


def integer_reader(avro_type: str, attributes: dict[str, Any]) -> Read:
    """An integer within the Avro type's range, then within drive.minimum/drive.maximum if given."""
    low, high = INTEGER_RANGES[avro_type]
    wide = f"must be between {low} and {high}"
    least, most = attributes.get("drive.minimum", low), attributes.get("drive.maximum", high)
    narrow = attributes.get("drive.rangeMessage", f"must be between {least} and {most}")

    def read(value: Any, path: str, ctx: Context) -> Any:
        if not isinstance(value, int) or isinstance(value, bool):
            return _null_or(value, path, ctx, "must be an integer")
        if not low <= value <= high:
            return ctx.error(path, wide, Reason.OUT_OF_RANGE)
        if not least <= value <= most:
            return ctx.error(path, narrow, Reason.OUT_OF_RANGE)
        return value

    return read


def number_reader() -> Read:
    """A JSON number as a float."""
    def read(value: Any, path: str, ctx: Context) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                return float(value)
            except OverflowError:
                return ctx.error(path, "must be a number a double can hold", Reason.OUT_OF_RANGE)
        return _null_or(value, path, ctx, "must be a number")

    return read


def bytes_reader() -> Read:
    """Base64 text, as bytes."""
    def read(value: Any, path: str, ctx: Context) -> Any:
        if isinstance(value, str):
            try:
                return base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                pass
        reason = Reason.FORMAT if isinstance(value, str) else Reason.TYPE
        return _null_or(value, path, ctx, "must be base64 text", reason)

    return read


def enum_reader(symbols: list[str]) -> Read:
    """One of the enum's symbols (less the reader-only UNKNOWN)."""
    allowed = [s for s in symbols if s != READER_ONLY_SYMBOL]
    accepted = frozenset(allowed)
    message = f"must be one of {', '.join(allowed)}"

    def read(value: Any, path: str, ctx: Context) -> Any:
        if isinstance(value, str) and value in accepted:
            return value
        return _null_or(value, path, ctx, message, Reason.ENUM)

    return read


def date_reader() -> Read:
    """YYYY-MM-DD, as a date."""
    def read(value: Any, path: str, ctx: Context) -> Any:
        if isinstance(value, str) and _DATE.fullmatch(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        return _null_or(value, path, ctx, DATE_HINT, Reason.FORMAT)

    return read


def timestamp_reader(event_time: bool) -> Read:
    """ISO-8601 with a zone, as an aware UTC datetime; an event time must also fall in the window around now."""
    def read(value: Any, path: str, ctx: Context) -> Any:
        if not isinstance(value, str) or "T" not in value or len(value) > _LONGEST_TIMESTAMP:
            return _null_or(value, path, ctx, TIMESTAMP_HINT, Reason.FORMAT)
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return ctx.error(path, TIMESTAMP_HINT, Reason.FORMAT)
        if moment.tzinfo is None or moment.utcoffset() is None:
            return ctx.error(path, ZONE_HINT, Reason.FORMAT)
        try:
            moment = moment.astimezone(UTC)
        except (OverflowError, ValueError):
            return ctx.error(path, TIME_RANGE, Reason.OUT_OF_RANGE)
        if event_time and ctx.now is not None:
            return _in_window(moment, path, ctx)
        return moment

    return read


def _in_window(moment: datetime, path: str, ctx: Context) -> Any:
    ahead, age = ctx.limits.max_ahead, ctx.limits.max_age
    try:
        if ahead is not None and moment > ctx.now + ahead:
            return ctx.error(path, f"must not be more than {span(ahead)} in the future", Reason.OUT_OF_WINDOW)
        if age is not None and moment < ctx.now - age:
            return ctx.error(path, f"must not be more than {span(age)} in the past", Reason.OUT_OF_WINDOW)
    except OverflowError:  # a window reaching past year 1 or 9999 is no limit on that side
        pass
    return moment


def span(delta: timedelta) -> str:
    """A window as people say it: 1 day, 36 hours, 15 minutes."""
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} seconds"
