"""Escalation and re-sends over a real (SQLite) ledger, under simulated time: per unacknowledged recipient."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from consumers.acks.acknowledge import acknowledge
from consumers.escalation.runner import next_follow_up_at, run_escalations, run_follow_ups
from consumers.ledger.acks import recipient_ack
from consumers.ledger.models import audit_entries, deliveries_of
from runtime.settings import Settings
from schemas.enums import DeliveryKind
from tests.fakes.delivery_samples import CM, DM, IDVA
from tests.unit.ack_ledger_helpers import T0, ledger_session, seed_alert, seed_staff

SETTINGS = Settings(escalation_critical_min=15, escalation_high_min=60, escalation_levels=2,
                    resend_critical_min=10, resend_critical_max=3, resend_high_min=60, resend_high_max=0)
DM2 = "staff-dm-02"


def _escalation_rows(session, alert_id: str) -> set[tuple[str, str, int, str]]:
    """(duty manager, channel, level, regarding) of every escalation message."""
    return {(d.staff_id, d.channel, d.level, d.regarding) for d in deliveries_of(session, alert_id)
            if d.purpose == "ESCALATION"}


def _resend_rows(session, alert_id: str) -> set[tuple[str, str, int]]:
    return {(d.staff_id, d.channel, d.resend) for d in deliveries_of(session, alert_id) if d.purpose == "RESEND"}


def test_critical_escalates_each_recipient_at_15_minutes_to_the_duty_manager(sqlite_url: str) -> None:
    """At 15 minutes level 1 tells the on-call duty manager about each unacknowledged recipient, one message each."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        row = seed_alert(session)
        assert run_escalations(session, T0 + timedelta(minutes=14), SETTINGS).escalated == []
        run = run_escalations(session, T0 + timedelta(minutes=15), SETTINGS)
        assert sorted((d.staff_id, d.level) for d in run.escalated) == [(CM, 1), (IDVA, 1)]
        for staff_id in (CM, IDVA):
            duty = recipient_ack(session, row.alert_id, staff_id)
            assert (duty.escalation_level, duty.last_escalated_at) == (1, T0 + timedelta(minutes=15))
        assert _escalation_rows(session, row.alert_id) == {
            (DM, c, 1, about) for c in ("SMS", "EMAIL") for about in (CM, IDVA)}
        assert {(e.kind, e.staff_id, e.code) for e in run.events} == {(DeliveryKind.ESCALATED, DM, "LEVEL_1")}
        assert len(run.events) == 2  # one per recipient escalated
        idva_sms = next(d for d in deliveries_of(session, row.alert_id, DM) if d.channel == "SMS"
                        and d.regarding == IDVA)
        assert row.ack_code in idva_sms.body and "Escalation level 1: idva staff-idva-07 has not acknowledged" in \
            idva_sms.body
        details = [json.loads(e.detail) for e in audit_entries(session, action="ESCALATED")]
        assert sorted((d["regarding"], d["level"], tuple(d["notified"])) for d in details) == [
            (CM, 1, (DM,)), (IDVA, 1, (DM,))]


def test_a_recipient_who_acknowledged_is_not_escalated_the_other_is(sqlite_url: str) -> None:
    """The case manager's ack stops only their own escalation: the IDVA's goes on."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        row = seed_alert(session)
        acknowledge(session, row.alert_id, CM, "SMS", T0 + timedelta(minutes=5))
        run = run_escalations(session, T0 + timedelta(minutes=15), SETTINGS)
        assert [(d.staff_id, d.level) for d in run.escalated] == [(IDVA, 1)]
        assert {about for *_, about in _escalation_rows(session, row.alert_id)} == {IDVA}


def test_high_escalates_at_60_minutes(sqlite_url: str) -> None:
    """A HIGH alert's recipients are left alone at 59 minutes and escalated at 60."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        seed_alert(session, "HIGH")
        assert run_escalations(session, T0 + timedelta(minutes=59), SETTINGS).escalated == []
        assert len(run_escalations(session, T0 + timedelta(minutes=60), SETTINGS).escalated) == 2


def test_levels_chain_and_stop(sqlite_url: str) -> None:
    """Level 2 follows 15 minutes after level 1 and reaches every active duty manager; there is no level 3."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        seed_staff(session, DM2, role="DUTY_MANAGER", phone_e164="+447700900222", email="dm02@drive.example.org",
                   on_call=[])
        row = seed_alert(session)
        run_escalations(session, T0 + timedelta(minutes=15), SETTINGS)
        assert run_escalations(session, T0 + timedelta(minutes=29), SETTINGS).escalated == []
        run = run_escalations(session, T0 + timedelta(minutes=30), SETTINGS)
        assert sorted(d.level for d in run.escalated) == [2, 2]
        levels = {(s, lvl) for s, _, lvl, _ in _escalation_rows(session, row.alert_id)}
        assert levels == {(DM, 1), (DM, 2), (DM2, 2)}
        level2 = next(d for d in deliveries_of(session, row.alert_id, DM2) if d.channel == "SMS")
        assert "for 30 minutes" in level2.body  # how long they have not acknowledged, not the wait per level
        assert run_escalations(session, T0 + timedelta(hours=5), SETTINGS).escalated == []


def test_acknowledged_alert_never_escalates(sqlite_url: str) -> None:
    """Both recipients acknowledging before the wait is over stops escalation for good."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        row = seed_alert(session)
        acknowledge(session, row.alert_id, IDVA, "LINK", T0 + timedelta(minutes=5))
        acknowledge(session, row.alert_id, CM, "SMS", T0 + timedelta(minutes=6))
        assert run_follow_ups(session, T0 + timedelta(hours=3), SETTINGS).escalated == []
        assert _escalation_rows(session, row.alert_id) == set() and _resend_rows(session, row.alert_id) == set()


def test_duty_manager_taking_the_escalation_stops_level_2(sqlite_url: str) -> None:
    """The duty manager's own ack after level 1 takes the escalation: no level 2; the recipients stay unacknowledged."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        row = seed_alert(session)
        run_escalations(session, T0 + timedelta(minutes=15), SETTINGS)
        outcome = acknowledge(session, row.ack_code, DM, "SMS", T0 + timedelta(minutes=16))
        assert outcome.status == "ESCALATION_ACKNOWLEDGED"
        assert run_escalations(session, T0 + timedelta(hours=3), SETTINGS).escalated == []
        for staff_id in (CM, IDVA):
            duty = recipient_ack(session, row.alert_id, staff_id)
            assert duty.acknowledged_at is None and duty.escalation_acked_by == DM


def test_rerun_is_idempotent(sqlite_url: str) -> None:
    """Running again at the same instant queues nothing more and audits nothing more."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        row = seed_alert(session)
        at = T0 + timedelta(minutes=20)
        run_follow_ups(session, at, SETTINGS)
        before = (len(deliveries_of(session, row.alert_id)), len(audit_entries(session)))
        again = run_follow_ups(session, at, SETTINGS)
        assert again.escalated == [] and again.resent == []
        assert (len(deliveries_of(session, row.alert_id)), len(audit_entries(session))) == before


def test_critical_is_resent_to_each_unacknowledged_recipient_up_to_the_count(sqlite_url: str) -> None:
    """Every 10 minutes, 3 times at most, the same recipient gets the alert again; the one who acknowledged does not."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        row = seed_alert(session)
        acknowledge(session, row.alert_id, CM, "SMS", T0 + timedelta(minutes=1))
        assert run_follow_ups(session, T0 + timedelta(minutes=9), SETTINGS).resent == []
        for minutes in (10, 20, 30, 40, 50):
            run_follow_ups(session, T0 + timedelta(minutes=minutes), SETTINGS)
        assert _resend_rows(session, row.alert_id) == {(IDVA, c, n) for c in ("SMS", "EMAIL") for n in (1, 2, 3)}
        sms = next(d for d in deliveries_of(session, row.alert_id, IDVA) if d.resend == 2 and d.channel == "SMS")
        assert sms.body.startswith(f"DRIVE CRITICAL alert {row.ack_code}: Unacknowledged for 20 minutes")
        assert "VIC-0001" in sms.body and sms.level == 0
        assert [json.loads(e.detail)["resend"] for e in audit_entries(session, action="RESENT")] == [1, 2, 3]
        assert recipient_ack(session, row.alert_id, IDVA).resends == 3


def test_a_restarted_run_never_doubles_a_resend(sqlite_url: str) -> None:
    """Re-sends are keyed in the ledger: a second dispatcher (or a restart) at the same moment queues nothing."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        row = seed_alert(session)
        first = run_follow_ups(session, T0 + timedelta(minutes=10), SETTINGS)
        session.commit()
        duty = recipient_ack(session, row.alert_id, IDVA)
        duty.resends = 0  # as if the first run's claim had not been seen; the delivery key still holds
        session.flush()
        second = run_follow_ups(session, T0 + timedelta(minutes=10, seconds=30), SETTINGS)
        assert [d.number for d in first.resent] == [1, 1] and second.resent == []
        assert len([d for d in deliveries_of(session, row.alert_id, IDVA) if d.resend == 1]) == 2  # SMS + e-mail


def test_next_follow_up_is_the_earliest_resend_or_level(sqlite_url: str) -> None:
    """The next moment anything falls due: the first re-send, then the first level, then nothing once acknowledged."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        row = seed_alert(session)
        assert next_follow_up_at(session, SETTINGS, T0) == T0 + timedelta(minutes=10)
        run_follow_ups(session, T0 + timedelta(minutes=10), SETTINGS)
        assert next_follow_up_at(session, SETTINGS, T0 + timedelta(minutes=10)) == T0 + timedelta(minutes=15)
        for staff_id in (CM, IDVA):
            acknowledge(session, row.alert_id, staff_id, "SMS", T0 + timedelta(minutes=11))
        assert next_follow_up_at(session, SETTINGS, T0 + timedelta(minutes=11)) is None


def test_next_follow_up_skips_what_fell_due_before(sqlite_url: str) -> None:
    """A moment already past is the current run's to do: the next one after it is given instead."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        seed_alert(session)
        assert next_follow_up_at(session, SETTINGS, T0 + timedelta(minutes=12)) == T0 + timedelta(minutes=15)


def test_no_duty_manager_on_call_is_audited_and_logged_at_error(sqlite_url: str, captured_logs) -> None:
    """With nobody on call, NO_DUTY_MANAGER is audited per recipient, logged at ERROR, and the active one is used."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session, CM, IDVA)
        seed_staff(session, DM, on_call=[])
        row = seed_alert(session)
        run_escalations(session, T0 + timedelta(minutes=15), SETTINGS)
        missing = audit_entries(session, action="NO_DUTY_MANAGER")
        assert sorted((e.staff_id, e.detail) for e in missing) == [
            (s, json.dumps({"level": 1, "reason": "NONE_ON_CALL"}, sort_keys=True)) for s in (CM, IDVA)]
        assert (DM, "SMS", 1, IDVA) in _escalation_rows(session, row.alert_id)
    errors = [line for line in captured_logs.lines if line["level"] == "error"]
    assert [line["event"] for line in errors] == ["no_duty_manager", "no_duty_manager"]


@pytest.mark.parametrize("levels", [1, 3])
def test_escalation_levels_setting_bounds_the_chain(sqlite_url: str, levels: int) -> None:
    """escalation_levels decides how many levels each recipient's chain has."""
    settings = SETTINGS.model_copy(update={"escalation_levels": levels})
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        row = seed_alert(session)
        for step in range(1, 6):
            run_escalations(session, T0 + timedelta(minutes=15 * step), settings)
        assert {recipient_ack(session, row.alert_id, s).escalation_level for s in (CM, IDVA)} == {levels}
