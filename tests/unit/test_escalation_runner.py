"""The escalation runner over a real (SQLite) ledger, under simulated time."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from consumers.acks.acknowledge import acknowledge
from consumers.escalation.runner import run_escalations
from consumers.ledger.models import LedgerAlert, audit_entries, deliveries_of
from runtime.settings import Settings
from schemas.enums import DeliveryKind
from tests.fakes.delivery_samples import CM, DM, IDVA
from tests.unit.ack_ledger_helpers import T0, ledger_session, seed_alert, seed_staff

SETTINGS = Settings(escalation_critical_min=15, escalation_high_min=60, escalation_levels=2)


def _escalation_rows(session, alert_id: str) -> set[tuple[str, str, int]]:
    return {(d.staff_id, d.channel, d.level) for d in deliveries_of(session, alert_id) if d.purpose == "ESCALATION"}


def test_critical_escalates_at_15_minutes_to_duty_manager_and_recipients(sqlite_url: str) -> None:
    """At 15 minutes level 1 queues the on-call duty manager and re-sends to the recipients; not a minute before."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        row = seed_alert(session)
        assert run_escalations(session, T0 + timedelta(minutes=14), SETTINGS).escalated == []
        run = run_escalations(session, T0 + timedelta(minutes=15), SETTINGS)
        session.refresh(row)
        assert [(d.alert_id, d.level) for d in run.escalated] == [(row.alert_id, 1)]
        assert row.escalation_level == 1 and row.last_escalated_at == T0 + timedelta(minutes=15)
        assert _escalation_rows(session, row.alert_id) == {
            (s, c, 1) for s in (DM, CM, IDVA) for c in ("SMS", "EMAIL")}
        assert {(e.kind, e.staff_id, e.code) for e in run.events} == {
            (DeliveryKind.ESCALATED, s, "LEVEL_1") for s in (DM, CM, IDVA)}
        dm_sms = next(d for d in deliveries_of(session, row.alert_id, DM) if d.channel == "SMS")
        assert row.ack_code in dm_sms.body and "Escalation level 1" in dm_sms.body
        detail = json.loads(audit_entries(session, action="ESCALATED")[0].detail)
        assert detail["level"] == 1 and sorted(detail["notified"]) == sorted([DM, CM, IDVA])


def test_high_escalates_at_60_minutes(sqlite_url: str) -> None:
    """A HIGH alert is left alone at 59 minutes and escalated at 60."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        seed_alert(session, "HIGH")
        assert run_escalations(session, T0 + timedelta(minutes=59), SETTINGS).escalated == []
        assert len(run_escalations(session, T0 + timedelta(minutes=60), SETTINGS).escalated) == 1


def test_levels_chain_and_stop(sqlite_url: str) -> None:
    """Level 2 follows 15 minutes after level 1 and reaches every active duty manager; there is no level 3."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        seed_staff(session, "staff-dm-02", role="DUTY_MANAGER", phone_e164="+447700900222",
                    email="dm02@drive.example.org", on_call=[])
        row = seed_alert(session)
        run_escalations(session, T0 + timedelta(minutes=15), SETTINGS)
        assert run_escalations(session, T0 + timedelta(minutes=29), SETTINGS).escalated == []
        run = run_escalations(session, T0 + timedelta(minutes=30), SETTINGS)
        assert [d.level for d in run.escalated] == [2]
        level2 = {(s, lvl) for s, _, lvl in _escalation_rows(session, row.alert_id) if lvl == 2}
        assert level2 == {(DM, 2), ("staff-dm-02", 2)}
        assert ("staff-dm-02", 1) not in {(s, lvl) for s, _, lvl in _escalation_rows(session, row.alert_id)}
        assert run_escalations(session, T0 + timedelta(hours=5), SETTINGS).escalated == []


def test_acknowledged_alert_never_escalates(sqlite_url: str) -> None:
    """An ack before the wait is over stops escalation for good."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        row = seed_alert(session)
        acknowledge(session, row.alert_id, IDVA, "LINK", T0 + timedelta(minutes=5))
        assert run_escalations(session, T0 + timedelta(hours=3), SETTINGS).escalated == []
        assert _escalation_rows(session, row.alert_id) == set()


def test_ack_after_level_1_stops_level_2(sqlite_url: str) -> None:
    """An ack by the duty manager after level 1 (they are now a recipient) prevents level 2."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        row = seed_alert(session)
        run_escalations(session, T0 + timedelta(minutes=15), SETTINGS)
        assert acknowledge(session, row.ack_code, DM, "SMS", T0 + timedelta(minutes=16)).accepted
        assert run_escalations(session, T0 + timedelta(hours=3), SETTINGS).escalated == []


def test_rerun_is_idempotent(sqlite_url: str) -> None:
    """Running again at the same instant queues nothing more and audits nothing more."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        row = seed_alert(session)
        at = T0 + timedelta(minutes=15)
        run_escalations(session, at, SETTINGS)
        before = (len(deliveries_of(session, row.alert_id)), len(audit_entries(session)))
        assert run_escalations(session, at, SETTINGS).escalated == []
        assert (len(deliveries_of(session, row.alert_id)), len(audit_entries(session))) == before


def test_no_duty_manager_on_call_is_audited_and_logged_at_error(sqlite_url: str, captured_logs) -> None:
    """With nobody on call, NO_DUTY_MANAGER is audited, logged at ERROR, and the active duty manager is used."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session, CM, IDVA)
        seed_staff(session, DM, on_call=[])
        row = seed_alert(session)
        run_escalations(session, T0 + timedelta(minutes=15), SETTINGS)
        missing = audit_entries(session, action="NO_DUTY_MANAGER")
        assert [json.loads(e.detail) for e in missing] == [{"level": 1, "reason": "NONE_ON_CALL"}]
        assert (DM, "SMS", 1) in _escalation_rows(session, row.alert_id)
    errors = [line for line in captured_logs.lines if line["level"] == "error"]
    assert [line["event"] for line in errors] == ["no_duty_manager"]


@pytest.mark.parametrize("levels", [1, 3])
def test_escalation_levels_setting_bounds_the_chain(sqlite_url: str, levels: int) -> None:
    """escalation_levels decides how many levels the chain has."""
    settings = Settings(escalation_critical_min=15, escalation_levels=levels)
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        row = seed_alert(session)
        for step in range(1, 6):
            run_escalations(session, T0 + timedelta(minutes=15 * step), settings)
        session.refresh(row)
        assert session.get(LedgerAlert, row.alert_id).escalation_level == levels
