"""Escalation and re-send policy as pure functions over each recipient's unacknowledged duty: what is due, when.

Each recipient of an alert has their own duty to acknowledge it. While a recipient has not acknowledged:
  - escalation: level 1 tells the duty manager(s) on call, level 2 and above every active duty manager, each
    a full wait after the previous level; it stops when the recipient acknowledges or a duty manager
    acknowledges the escalation (they have it now);
  - re-send: the alert goes to the recipient again every interval, up to a count, until they acknowledge.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from runtime.db import as_utc
from runtime.settings import Settings

ON_CALL = "ON_CALL"
ALL_DUTY_MANAGERS = "ALL_DUTY_MANAGERS"


class Duty(Protocol):
    """One recipient's acknowledgement duty as escalation and re-sends read it (see consumers.escalation.runner)."""

    alert_id: str
    staff_id: str
    severity: str
    received_at: datetime
    acknowledged_at: datetime | None
    escalation_acked_at: datetime | None
    escalation_level: int
    last_escalated_at: datetime | None
    resends: int


@dataclass(frozen=True, slots=True)
class EscalationPolicy:
    """How long each severity waits, unacknowledged, before each next level; and how many levels there are."""

    wait: Mapping[str, timedelta] = field(default_factory=lambda: {
        "CRITICAL": timedelta(minutes=15), "HIGH": timedelta(minutes=60)})
    levels: int = 2

    @classmethod
    def from_settings(cls, settings: Settings) -> EscalationPolicy:
        """The policy of settings.escalation_critical_min / escalation_high_min / escalation_levels."""
        return cls(wait={"CRITICAL": timedelta(minutes=settings.escalation_critical_min),
                         "HIGH": timedelta(minutes=settings.escalation_high_min)},
                   levels=settings.escalation_levels)


@dataclass(frozen=True, slots=True)
class ResendPolicy:
    """How often each severity is re-sent to a recipient who has not acknowledged, and at most how many times."""

    every: Mapping[str, timedelta] = field(default_factory=lambda: {
        "CRITICAL": timedelta(minutes=10), "HIGH": timedelta(minutes=60)})
    most: Mapping[str, int] = field(default_factory=lambda: {"CRITICAL": 6, "HIGH": 1})

    @classmethod
    def from_settings(cls, settings: Settings) -> ResendPolicy:
        """The policy of settings.resend_critical_min / _max and resend_high_min / _max."""
        return cls(every={"CRITICAL": timedelta(minutes=settings.resend_critical_min),
                          "HIGH": timedelta(minutes=settings.resend_high_min)},
                   most={"CRITICAL": settings.resend_critical_max, "HIGH": settings.resend_high_max})

    def count(self, severity: str) -> int:
        """How many re-sends a severity gets (0: none)."""
        return self.most.get(severity, 0) if self.every.get(severity) else 0


@dataclass(frozen=True, slots=True)
class DueEscalation:
    """One recipient's duty that must now go to `level` (one more than it has reached)."""

    alert_id: str
    staff_id: str
    level: int
    severity: str


@dataclass(frozen=True, slots=True)
class DueResend:
    """The `number`-th re-send of an alert to one recipient (of `count`)."""

    alert_id: str
    staff_id: str
    number: int
    count: int
    severity: str


def next_level_at(duty: Duty, policy: EscalationPolicy) -> datetime | None:
    """When the duty's next level falls due; None if it never will (acknowledged, taken, not escalating, chain done)."""
    wait = policy.wait.get(str(duty.severity))
    if (wait is None or duty.acknowledged_at is not None or duty.escalation_acked_at is not None
            or (duty.escalation_level or 0) >= policy.levels):
        return None
    # Each level waits the full interval after the previous one, so an outage never fires two levels at once.
    since = duty.last_escalated_at if duty.escalation_level else duty.received_at
    return as_utc(since) + wait


def due_escalations(duties: Iterable[Duty], now: datetime, policy: EscalationPolicy) -> list[DueEscalation]:
    """The escalations due at `now`: unacknowledged duties whose wait for their next level is over."""
    due = []
    for duty in duties:
        at = next_level_at(duty, policy)
        if at is not None and now >= at:
            due.append(DueEscalation(duty.alert_id, duty.staff_id, (duty.escalation_level or 0) + 1,
                                     str(duty.severity)))
    return due


def next_resend_at(duty: Duty, policy: ResendPolicy) -> datetime | None:
    """When the duty's next re-send falls due; None if none will (acknowledged, count reached, window over)."""
    every, count = policy.every.get(str(duty.severity)), policy.count(str(duty.severity))
    if every is None or duty.acknowledged_at is not None or (duty.resends or 0) >= count:
        return None
    at = as_utc(duty.received_at) + every * ((duty.resends or 0) + 1)
    return at if at < _window_end(duty, every, count) else None


def _window_end(duty: Duty, every: timedelta, count: int) -> datetime:
    # A re-send more than one interval late is a stale reminder (the dispatcher was down): escalation covers it.
    return as_utc(duty.received_at) + every * (count + 1)


def due_resend(duty: Duty, now: datetime, policy: ResendPolicy) -> DueResend | None:
    """The re-send due at `now`, numbered by the interval it falls in (so a late run sends one, never a burst)."""
    first = next_resend_at(duty, policy)
    if first is None or now < first:
        return None
    every, count = policy.every[str(duty.severity)], policy.count(str(duty.severity))
    if now >= _window_end(duty, every, count):
        return None
    number = min(count, int((now - as_utc(duty.received_at)) // every))
    return DueResend(duty.alert_id, duty.staff_id, number, count, str(duty.severity))


def due_resends(duties: Iterable[Duty], now: datetime, policy: ResendPolicy) -> list[DueResend]:
    """Every re-send due at `now`."""
    return [due for duty in duties if (due := due_resend(duty, now, policy)) is not None]


def level_reach(level: int) -> str:
    """Who a level reaches: ON_CALL (the duty managers on call) for level 1, ALL_DUTY_MANAGERS above."""
    if level < 1:
        raise ValueError("escalation levels start at 1")
    return ON_CALL if level == 1 else ALL_DUTY_MANAGERS
