"""What a reviewer must not miss: releases that raised no alert, and silences while a subject is on bail."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from consumers.chronology.times import duration, uk
from consumers.ledger.models import ChronologyEvent
from runtime.db import as_utc

# Agency records that put the subject back in the community: each should have raised an alert.
RELEASES = frozenset({"CUSTODY_RELEASE", "BAIL_GRANTED", "RELEASED_UNDER_INVESTIGATION", "PRISON_RELEASE"})
BAIL_STARTS = frozenset({"BAIL_GRANTED", "BAIL_VARIED"})
BAIL_ENDS = frozenset({"BAIL_REVOKED", "BAIL_EXPIRED", "REMANDED"})
REGISTRY_TOPIC = "case"  # Drive's own case management: not an agency record


@dataclass(frozen=True, slots=True)
class Flag:
    """Something a reviewer must look at: a code, when, and what it is in words."""

    code: str  # NOT_ACKNOWLEDGED, ESCALATED, DELIVERY_FAILED, NOBODY_TOLD, RELEASE_WITHOUT_ALERT, SILENCE_DURING_BAIL
    at: datetime
    text: str


def unalerted_releases(events: Iterable[ChronologyEvent], triggered: set[str]) -> list[Flag]:
    """Each release recorded by an agency that no alert names as its trigger."""
    return [Flag("RELEASE_WITHOUT_ALERT", e.occurred_at, f"{e.event_type} recorded by {e.agency} ({e.event_id}) "
                                                         "raised no alert")
            for e in events if e.event_type in RELEASES and e.event_id not in triggered]


def bail_periods(events: Iterable[ChronologyEvent], until: datetime) -> list[tuple[datetime, datetime]]:
    """The spans the subject was on bail: from a grant (or variation) to its end, a revocation, expiry or remand, or
    the record's own expiry; an open one runs to `until`."""
    periods: list[tuple[datetime, datetime]] = []
    start: datetime | None = None
    expires: datetime | None = None
    for e in sorted((e for e in events if e.topic == "bail"), key=lambda e: as_utc(e.occurred_at)):
        at = as_utc(e.occurred_at)
        if start is not None and expires is not None and expires <= at:
            periods.append((start, expires))
            start = None
        if e.event_type in BAIL_STARTS:
            start = start or at
            expires = as_utc(e.expires_at)
        elif e.event_type in BAIL_ENDS and start is not None:
            periods.append((start, at))
            start = None
    if start is not None:
        periods.append((start, min(expires, until) if expires is not None else until))
    return [(s, e) for s, e in periods if e > s]


def silences(events: Iterable[ChronologyEvent], periods: list[tuple[datetime, datetime]], longest: timedelta,
             now: datetime) -> list[Flag]:
    """Each stretch longer than `longest` within a bail period with no agency record at all (up to now)."""
    moments = sorted(as_utc(e.occurred_at) for e in events if e.topic != REGISTRY_TOPIC)
    flags = []
    for start, end in periods:
        end = min(end, as_utc(now))
        inside = [m for m in moments if start < m < end]
        for before, after in zip([start, *inside], [*inside, end], strict=True):
            if after - before > longest:
                flags.append(Flag("SILENCE_DURING_BAIL", before,
                                  f"no agency record for {duration(after - before)} while on bail "
                                  f"({uk(before)} to {uk(after)})"))
    return flags
