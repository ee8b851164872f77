"""next_due: the timer index says exactly when on_tick has something to do for a subject."""
from __future__ import annotations

from datetime import timedelta

from streams.rules import next_due
from tests.unit.rules_fixtures import (
    CONFIG,
    DAY,
    HOUR,
    NO_CONTACT_V1,
    T0,
    bail,
    breach_report,
    rules,
    run,
    subject,
    tick,
)

SECOND = timedelta(seconds=1)


def test_a_subject_with_nothing_pending_is_never_due():
    """An open case with no conditions, reports or incidents has no timer."""
    assert next_due(subject(), T0, CONFIG) is None


def test_an_unmatched_breach_report_is_due_when_its_grace_ends():
    """A report waiting for its record is due at its deadline, and on_tick then raises breach.unverified."""
    state, _ = run(subject(), breach_report(protected_person_ref="VIC-UNKNOWN"), now=T0)
    due = next_due(state, T0, CONFIG)
    assert due == T0 + CONFIG.late_grace
    assert rules(tick(state, due - SECOND)[1]) == []
    assert rules(tick(state, due)[1]) == ["breach.unverified"]


def test_an_expiry_is_due_when_it_enters_the_horizon():
    """Bail ending in ten days is due one second into the 72 h horizon; on_tick warns then, not before."""
    state, _ = run(subject(), bail(NO_CONTACT_V1, at=T0, expires=T0 + 10 * DAY), now=T0)
    due = next_due(state, T0, CONFIG)
    assert due == T0 + 10 * DAY - CONFIG.expiry_horizon + SECOND
    assert rules(tick(state, due - 2 * SECOND)[1]) == []
    assert rules(tick(state, due)[1]) == ["expiry.upcoming"]


def test_an_overdue_timer_is_due_now():
    """A deadline already passed makes the subject due at the given now, never in the past."""
    state, _ = run(subject(), breach_report(protected_person_ref="VIC-UNKNOWN"), now=T0)
    later = T0 + 3 * DAY
    assert next_due(state, later, CONFIG) == later


def test_after_on_tick_at_the_due_time_the_next_due_is_later():
    """Ticking at each due time always moves the next due time forward, until nothing is left (no busy loop)."""
    state, _ = run(subject(), bail(NO_CONTACT_V1, at=T0, expires=T0 + 10 * DAY),
                   breach_report(protected_person_ref="VIC-UNKNOWN", at=T0 + HOUR), now=T0 + HOUR)
    now, seen = T0 + HOUR, []
    due = next_due(state, now, CONFIG)
    while due is not None and len(seen) < 20:
        state, alerts = tick(state, due)
        seen += rules(alerts)
        following = next_due(state, due, CONFIG)
        assert following is None or following > due
        due = following
    assert due is None
    assert sorted(seen) == ["breach.unverified", "expiry.upcoming"]
