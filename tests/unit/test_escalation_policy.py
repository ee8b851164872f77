"""Escalation policy under simulated time: when each severity escalates, how levels chain, what stops it."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from consumers.escalation.policy import (
    ALL_DUTY_MANAGERS,
    ON_CALL_AND_RECIPIENTS,
    EscalationPolicy,
    due_escalations,
    level_reach,
    next_level_at,
)
from runtime.settings import Settings

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
POLICY = EscalationPolicy(wait={"CRITICAL": timedelta(minutes=15), "HIGH": timedelta(minutes=60)}, levels=2)


@dataclass(frozen=True)
class Row:
    alert_id: str
    severity: str
    received_at: datetime = T0
    acknowledged_at: datetime | None = None
    escalation_level: int = 0
    last_escalated_at: datetime | None = None


def _levels(alerts: list[Row], now: datetime) -> list[tuple[str, int]]:
    return [(d.alert_id, d.level) for d in due_escalations(alerts, now, POLICY)]


def test_critical_escalates_at_n_minutes_not_before() -> None:
    """A CRITICAL alert is due for level 1 exactly at 15 minutes, not a second earlier."""
    alert = Row("a", "CRITICAL")
    assert _levels([alert], T0 + timedelta(minutes=15) - timedelta(seconds=1)) == []
    assert _levels([alert], T0 + timedelta(minutes=15)) == [("a", 1)]


def test_high_escalates_at_m_minutes() -> None:
    """A HIGH alert waits 60 minutes, so it is not due when a CRITICAL one would be."""
    alert = Row("h", "HIGH")
    assert _levels([alert], T0 + timedelta(minutes=59)) == []
    assert _levels([alert], T0 + timedelta(minutes=60)) == [("h", 1)]


@pytest.mark.parametrize("severity", ["MEDIUM", "LOW"])
def test_medium_and_low_never_escalate(severity: str) -> None:
    """Severities without a wait never escalate."""
    assert _levels([Row("m", severity)], T0 + timedelta(days=30)) == []


def test_acknowledged_alert_never_escalates() -> None:
    """An acknowledged alert is never due, however long ago it was raised or escalated."""
    alert = Row("a", "CRITICAL", acknowledged_at=T0 + timedelta(minutes=1))
    assert _levels([alert], T0 + timedelta(days=1)) == []
    escalated = Row("b", "CRITICAL", acknowledged_at=T0 + timedelta(minutes=20), escalation_level=1,
                    last_escalated_at=T0 + timedelta(minutes=15))
    assert _levels([escalated], T0 + timedelta(days=1)) == []


def test_levels_chain_one_interval_after_the_previous_level() -> None:
    """Level 2 falls due a full wait after level 1 went out, and the chain stops at the last level."""
    level1 = Row("a", "CRITICAL", escalation_level=1, last_escalated_at=T0 + timedelta(minutes=40))
    assert _levels([level1], T0 + timedelta(minutes=54)) == []
    assert _levels([level1], T0 + timedelta(minutes=55)) == [("a", 2)]
    done = replace(level1, escalation_level=2)
    assert next_level_at(done, POLICY) is None
    assert _levels([done], T0 + timedelta(days=1)) == []


def test_a_late_run_fires_one_level_at_a_time() -> None:
    """After a long outage an alert still moves up one level per run, never skipping to the last."""
    assert _levels([Row("a", "CRITICAL")], T0 + timedelta(hours=5)) == [("a", 1)]


def test_naive_timestamps_are_read_as_utc() -> None:
    """Rows read back from SQLite without a zone are taken as UTC."""
    alert = Row("a", "CRITICAL", received_at=T0.replace(tzinfo=None))
    assert _levels([alert], T0 + timedelta(minutes=15)) == [("a", 1)]


def test_only_due_alerts_are_returned() -> None:
    """From a mixed set only the unacknowledged alerts whose wait is over come back, each at its next level."""
    alerts = [Row("due", "CRITICAL"), Row("early", "HIGH"), Row("acked", "CRITICAL", acknowledged_at=T0),
              Row("l2", "HIGH", escalation_level=1, last_escalated_at=T0 - timedelta(hours=2))]
    assert sorted(_levels(alerts, T0 + timedelta(minutes=30))) == [("due", 1), ("l2", 2)]


def test_policy_from_settings() -> None:
    """The policy reads escalation_critical_min, escalation_high_min and escalation_levels."""
    policy = EscalationPolicy.from_settings(Settings(escalation_critical_min=5, escalation_high_min=30,
                                                     escalation_levels=3))
    assert policy.wait == {"CRITICAL": timedelta(minutes=5), "HIGH": timedelta(minutes=30)}
    assert policy.levels == 3


def test_level_reach() -> None:
    """Level 1 reaches the on-call duty managers and the recipients again; higher levels every duty manager."""
    assert level_reach(1) == ON_CALL_AND_RECIPIENTS
    assert level_reach(2) == level_reach(3) == ALL_DUTY_MANAGERS
    with pytest.raises(ValueError):
        level_reach(0)
