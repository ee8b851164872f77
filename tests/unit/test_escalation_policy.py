"""Escalation and re-send policy under simulated time, per recipient: when each falls due, how levels chain, what stops
them."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from consumers.escalation.policy import (
    ALL_DUTY_MANAGERS,
    ON_CALL,
    EscalationPolicy,
    ResendPolicy,
    due_escalations,
    due_resend,
    level_reach,
    next_level_at,
    next_resend_at,
)
from runtime.settings import Settings

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
POLICY = EscalationPolicy(wait={"CRITICAL": timedelta(minutes=15), "HIGH": timedelta(minutes=60)}, levels=2)
AGAIN = ResendPolicy(every={"CRITICAL": timedelta(minutes=10), "HIGH": timedelta(minutes=60)},
                     most={"CRITICAL": 3, "HIGH": 0})


@dataclass(frozen=True)
class Duty:
    alert_id: str
    severity: str
    staff_id: str = "staff-idva-07"
    received_at: datetime = T0
    acknowledged_at: datetime | None = None
    escalation_acked_at: datetime | None = None
    escalation_level: int = 0
    last_escalated_at: datetime | None = None
    resends: int = 0


def _levels(duties: list[Duty], now: datetime) -> list[tuple[str, str, int]]:
    return [(d.alert_id, d.staff_id, d.level) for d in due_escalations(duties, now, POLICY)]


def test_critical_escalates_at_n_minutes_not_before() -> None:
    """A CRITICAL duty is due for level 1 exactly at 15 minutes, not a second earlier."""
    duty = Duty("a", "CRITICAL")
    assert _levels([duty], T0 + timedelta(minutes=15) - timedelta(seconds=1)) == []
    assert _levels([duty], T0 + timedelta(minutes=15)) == [("a", "staff-idva-07", 1)]


def test_high_escalates_at_m_minutes() -> None:
    """A HIGH duty waits 60 minutes, so it is not due when a CRITICAL one would be."""
    duty = Duty("h", "HIGH")
    assert _levels([duty], T0 + timedelta(minutes=59)) == []
    assert _levels([duty], T0 + timedelta(minutes=60)) == [("h", "staff-idva-07", 1)]


@pytest.mark.parametrize("severity", ["MEDIUM", "LOW"])
def test_medium_and_low_never_escalate_nor_resend(severity: str) -> None:
    """Severities without a wait or an interval never escalate and are never re-sent."""
    duty = Duty("m", severity)
    assert _levels([duty], T0 + timedelta(days=30)) == []
    assert next_resend_at(duty, AGAIN) is None and due_resend(duty, T0 + timedelta(minutes=10), AGAIN) is None


def test_each_recipient_escalates_on_their_own() -> None:
    """The case manager's acknowledgement stops only the case manager's escalation; the IDVA's still falls due."""
    cm = Duty("a", "CRITICAL", staff_id="staff-cm-01", acknowledged_at=T0 + timedelta(minutes=2))
    idva = Duty("a", "CRITICAL", staff_id="staff-idva-07")
    assert _levels([cm, idva], T0 + timedelta(minutes=15)) == [("a", "staff-idva-07", 1)]


def test_acknowledged_duty_never_escalates() -> None:
    """An acknowledged duty is never due, however long ago it was raised or escalated."""
    duty = Duty("a", "CRITICAL", acknowledged_at=T0 + timedelta(minutes=1))
    assert _levels([duty], T0 + timedelta(days=1)) == []
    escalated = Duty("b", "CRITICAL", acknowledged_at=T0 + timedelta(minutes=20), escalation_level=1,
                     last_escalated_at=T0 + timedelta(minutes=15))
    assert _levels([escalated], T0 + timedelta(days=1)) == []


def test_a_duty_manager_taking_the_escalation_stops_the_chain_not_the_resends() -> None:
    """Once a duty manager acknowledged the escalation, no higher level falls due; the re-sends still do."""
    taken = Duty("a", "CRITICAL", escalation_level=1, last_escalated_at=T0 + timedelta(minutes=15),
                 escalation_acked_at=T0 + timedelta(minutes=16), resends=1)
    assert next_level_at(taken, POLICY) is None
    assert next_resend_at(taken, AGAIN) == T0 + timedelta(minutes=20)


def test_levels_chain_one_interval_after_the_previous_level() -> None:
    """Level 2 falls due a full wait after level 1 went out, and the chain stops at the last level."""
    level1 = Duty("a", "CRITICAL", escalation_level=1, last_escalated_at=T0 + timedelta(minutes=40))
    assert _levels([level1], T0 + timedelta(minutes=54)) == []
    assert _levels([level1], T0 + timedelta(minutes=55)) == [("a", "staff-idva-07", 2)]
    done = replace(level1, escalation_level=2)
    assert next_level_at(done, POLICY) is None
    assert _levels([done], T0 + timedelta(days=1)) == []


def test_a_late_run_fires_one_level_at_a_time() -> None:
    """After a long outage a duty still moves up one level per run, never skipping to the last."""
    assert _levels([Duty("a", "CRITICAL")], T0 + timedelta(hours=5)) == [("a", "staff-idva-07", 1)]


def test_naive_timestamps_are_read_as_utc() -> None:
    """Rows read back from SQLite without a zone are taken as UTC."""
    duty = Duty("a", "CRITICAL", received_at=T0.replace(tzinfo=None))
    assert _levels([duty], T0 + timedelta(minutes=15)) == [("a", "staff-idva-07", 1)]
    assert next_resend_at(duty, AGAIN) == T0 + timedelta(minutes=10)


@pytest.mark.parametrize(("minutes", "resends", "expected"), [
    (9, 0, None), (10, 0, 1), (19, 1, None), (20, 1, 2), (30, 2, 3), (35, 3, None),  # every 10 minutes, 3 at most
    (25, 0, 2),  # a late run sends the re-send of the interval it is in, once: never a burst
    (39, 2, 3), (40, 2, None), (300, 0, None),  # more than an interval past the last one: a stale reminder, skipped
])
def test_resends_fall_due_every_interval_up_to_the_count(minutes: int, resends: int, expected: int | None) -> None:
    """The n-th re-send is due n intervals after arrival, numbered by its interval; none after the window."""
    due = due_resend(Duty("a", "CRITICAL", resends=resends), T0 + timedelta(minutes=minutes), AGAIN)
    assert (due.number if due else None) == expected
    if due is not None:
        assert (due.count, due.staff_id) == (3, "staff-idva-07")


def test_an_acknowledged_duty_is_never_resent() -> None:
    """A recipient who acknowledged gets no re-send, and none is planned."""
    acked = Duty("a", "CRITICAL", acknowledged_at=T0 + timedelta(minutes=1))
    assert next_resend_at(acked, AGAIN) is None and due_resend(acked, T0 + timedelta(minutes=10), AGAIN) is None


def test_a_severity_with_no_resends_is_never_resent() -> None:
    """A count of 0 turns re-sends off for that severity."""
    assert next_resend_at(Duty("h", "HIGH"), AGAIN) is None


def test_policies_from_settings() -> None:
    """The policies read escalation_critical_min / _high_min / _levels and resend_critical_* / resend_high_*."""
    settings = Settings(escalation_critical_min=5, escalation_high_min=30, escalation_levels=3,
                        resend_critical_min=7, resend_critical_max=4, resend_high_min=45, resend_high_max=0)
    policy = EscalationPolicy.from_settings(settings)
    assert policy.wait == {"CRITICAL": timedelta(minutes=5), "HIGH": timedelta(minutes=30)}
    assert policy.levels == 3
    again = ResendPolicy.from_settings(settings)
    assert again.every == {"CRITICAL": timedelta(minutes=7), "HIGH": timedelta(minutes=45)}
    assert (again.count("CRITICAL"), again.count("HIGH"), again.count("MEDIUM")) == (4, 0, 0)


def test_level_reach() -> None:
    """Level 1 reaches the on-call duty managers; higher levels every duty manager."""
    assert level_reach(1) == ON_CALL
    assert level_reach(2) == level_reach(3) == ALL_DUTY_MANAGERS
    with pytest.raises(ValueError):
        level_reach(0)
