"""The SVG timeline of a review chronology: lanes of agency records, alerts, acknowledgements and flags over time."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from consumers.chronology.review import Review
from consumers.chronology.times import UK, both
from runtime.db import as_utc

WIDTH, LEFT, RIGHT = 1000, 110, 16  # viewBox units: the lanes' labels on the left
LANES = ("agency records", "alerts", "acknowledged", "flags")
LANE_Y = {lane: 34 + 26 * i for i, lane in enumerate(LANES)}
HEIGHT = LANE_Y[LANES[-1]] + 30
MAX_TICKS = 8


@dataclass(frozen=True, slots=True)
class Mark:
    """One thing drawn: where, in which lane, its style class and its hover title."""

    x: float
    y: float
    css: str
    title: str


@dataclass(frozen=True, slots=True)
class Tick:
    """An axis label."""

    x: float
    label: str


@dataclass(frozen=True, slots=True)
class Timeline:
    """Everything the template draws."""

    width: int
    height: int
    left: int
    right: int
    lanes: dict[str, int]
    marks: list[Mark]
    bands: list[tuple[float, float]]  # bail periods (x from, x to)
    ticks: list[Tick]


def _scale(start: datetime, end: datetime) -> tuple[float, timedelta]:
    span = max(as_utc(end) - as_utc(start), timedelta(minutes=1))
    return (WIDTH - LEFT - RIGHT) / span.total_seconds(), span


def _ticks(start: datetime, span: timedelta, per_second: float) -> list[Tick]:
    steps = (timedelta(minutes=15), timedelta(hours=1), timedelta(hours=6), timedelta(days=1), timedelta(days=7),
             timedelta(days=30), timedelta(days=365))
    step = next((s for s in steps if span / s <= MAX_TICKS), steps[-1])
    fmt = "%H:%M" if step < timedelta(days=1) else "%d/%m"
    first = as_utc(start)
    return [Tick(LEFT + (i * step).total_seconds() * per_second, (first + i * step).astimezone(UK).strftime(fmt))
            for i in range(int(span / step) + 1)]


def timeline(r: Review) -> Timeline:
    """The marks of a review: every agency record, alert (by severity), acknowledgement and flag on one time axis."""
    per_second, span = _scale(r.start, r.end)

    def x(at: datetime) -> float:
        return round(LEFT + (as_utc(at) - as_utc(r.start)).total_seconds() * per_second, 1)

    marks = [Mark(x(e.occurred_at), LANE_Y["agency records"], "event", f"{both(e.occurred_at)}: {e.event_type} "
                                                                       f"({e.agency})") for e in r.events]
    for p in r.paths:
        a = p.alert
        marks.append(Mark(x(a.raised_at), LANE_Y["alerts"], f"alert {a.severity.lower()}",
                          f"{both(a.raised_at)}: {a.severity} {a.ack_code} {a.rule}"))
        marks += [Mark(x(rc.acknowledged_at), LANE_Y["acknowledged"], "ack",
                       f"{both(rc.acknowledged_at)}: {a.ack_code} acknowledged by {rc.staff_id}")
                  for rc in p.recipients if rc.acknowledged_at is not None]
    marks += [Mark(x(f.at), LANE_Y["flags"], "flag", f"{both(f.at)}: {f.code} {f.text}") for f in r.flags]
    bands = [(x(s), x(e)) for s, e in r.bail]
    return Timeline(WIDTH, HEIGHT, LEFT, RIGHT, LANE_Y, marks, bands, _ticks(r.start, span, per_second))
