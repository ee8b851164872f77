"""Escalation policy as pure functions: which unacknowledged alerts are due for which level, and who that level reaches."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from runtime.db import as_utc
from runtime.settings import Settings

# Who each level reaches (the chain, documented in docs and the report):
#   level 1: the duty manager(s) on call now, and the alert is re-sent to its original recipients;
#   level 2 and above: every active duty manager, whatever their shift (nobody on call answered either).
ON_CALL_AND_RECIPIENTS = "ON_CALL_AND_RECIPIENTS"
ALL_DUTY_MANAGERS = "ALL_DUTY_MANAGERS"


class EscalatableAlert(Protocol):
    """The alert fields escalation reads (a ledger `alerts` row fits)."""

    alert_id: str
    severity: str
    received_at: datetime
    acknowledged_at: datetime | None
    escalation_level: int
    last_escalated_at: datetime | None


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
class DueEscalation:
    """One alert that must now go to `level` (one more than it has reached)."""

    alert_id: str
    level: int
    severity: str


def next_level_at(alert: EscalatableAlert, policy: EscalationPolicy) -> datetime | None:
    """When the alert's next level falls due; None if it never will (acknowledged, not escalating, chain done)."""
    wait = policy.wait.get(str(alert.severity))
    if wait is None or alert.acknowledged_at is not None or (alert.escalation_level or 0) >= policy.levels:
        return None
    # Each level waits the full interval after the previous one, so an outage never fires two levels at once.
    since = alert.last_escalated_at if alert.escalation_level else alert.received_at
    return as_utc(since) + wait


def due_escalations(alerts: Iterable[EscalatableAlert], now: datetime,
                    policy: EscalationPolicy) -> list[DueEscalation]:
    """The escalations due at `now`: unacknowledged alerts whose wait for their next level is over."""
    due = []
    for alert in alerts:
        at = next_level_at(alert, policy)
        if at is not None and now >= at:
            due.append(DueEscalation(alert.alert_id, (alert.escalation_level or 0) + 1, str(alert.severity)))
    return due


def level_reach(level: int) -> str:
    """Who a level reaches: ON_CALL_AND_RECIPIENTS for level 1, ALL_DUTY_MANAGERS above."""
    if level < 1:
        raise ValueError("escalation levels start at 1")
    return ON_CALL_AND_RECIPIENTS if level == 1 else ALL_DUTY_MANAGERS
