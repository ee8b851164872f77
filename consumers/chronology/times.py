"""Times as staff and reviewers read them: UK local time with its zone beside UTC, and durations in words."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from runtime.db import as_utc

UK = ZoneInfo("Europe/London")


def uk(at: datetime | None) -> str:
    """`22/11/2026 09:41 GMT` (or BST in summer); `-` for no time."""
    if at is None:
        return "-"
    return as_utc(at).astimezone(UK).strftime("%d/%m/%Y %H:%M %Z")


def utc(at: datetime | None) -> str:
    """`2026-11-22 09:41:07 UTC`; `-` for no time."""
    if at is None:
        return "-"
    return as_utc(at).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def both(at: datetime | None) -> str:
    """UK local time with its zone, then UTC: `22/11/2026 09:41 GMT (09:41:07 UTC)`, the UTC date when it differs."""
    if at is None:
        return "-"
    moment = as_utc(at)
    local, universal = moment.astimezone(UK), moment.astimezone(UTC)
    clock = universal.strftime("%H:%M:%S UTC")
    if local.date() != universal.date():
        clock = universal.strftime("%d/%m ") + clock
    return f"{local.strftime('%d/%m/%Y %H:%M %Z')} ({clock})"


def iso(at: datetime | None) -> str:
    """ISO-8601 UTC for machine-readable attributes (datetime=...)."""
    return as_utc(at).isoformat() if at is not None else ""


def duration(delta: timedelta | None) -> str:
    """A span in words: `45 s`, `3 min 12 s`, `2 h 05 min`, `3 d 4 h`; negative spans get a minus sign."""
    if delta is None:
        return "-"
    seconds = int(round(delta.total_seconds()))
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        text = f"{days} d {hours} h"
    elif hours:
        text = f"{hours} h {minutes:02d} min"
    elif minutes:
        text = f"{minutes} min {secs} s"
    else:
        text = f"{secs} s"
    return sign + text


def age(at: datetime | None, now: datetime) -> str:
    """How long ago: `12 min 3 s ago`."""
    return f"{duration(now - as_utc(at))} ago" if at is not None else "-"
