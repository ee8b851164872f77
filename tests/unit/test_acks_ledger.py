"""Acknowledgements over a real (SQLite) ledger: each recipient's own, SMS only from a registered number, a duty
manager on someone's behalf only with a reason code."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from consumers.acks.acknowledge import (
    ACKNOWLEDGED,
    ALREADY_ACKNOWLEDGED,
    ESCALATION_ACKNOWLEDGED,
    NOT_A_DUTY_MANAGER,
    NOT_A_RECIPIENT,
    NOT_AN_ACK,
    REASON_REQUIRED,
    UNKNOWN_ALERT,
    UNKNOWN_REASON,
    UNKNOWN_WAY,
    acknowledge,
    acknowledge_sms,
)
from consumers.escalation.runner import run_escalations
from consumers.ledger.acks import recipient_ack
from consumers.ledger.models import audit_entries
from runtime.settings import Settings
from schemas.enums import DeliveryKind
from tests.fakes.delivery_samples import CM, DM, IDVA, PHONES
from tests.unit.ack_ledger_helpers import T0, ledger_session, seed_alert, seed_staff


def _state(session, alert_id: str, staff_id: str) -> tuple:
    duty = recipient_ack(session, alert_id, staff_id)
    return duty.acknowledged_at, duty.acknowledged_by, duty.ack_via, duty.ack_reason


def test_each_recipient_acknowledges_for_themselves(sqlite_url: str) -> None:
    """The IDVA's ack leaves the case manager's duty open; the case manager's own ack closes it."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        row = seed_alert(session)
        first = acknowledge(session, row.ack_code, IDVA, "LINK", T0 + timedelta(minutes=2))
        assert first.status == ACKNOWLEDGED and first.staff_id == IDVA
        assert _state(session, row.alert_id, IDVA) == (T0 + timedelta(minutes=2), IDVA, "LINK", None)
        assert _state(session, row.alert_id, CM) == (None, None, None, None)
        second = acknowledge(session, row.alert_id, CM, "SMS", T0 + timedelta(minutes=3))
        assert second.status == ACKNOWLEDGED
        assert _state(session, row.alert_id, CM) == (T0 + timedelta(minutes=3), CM, "SMS", None)
        assert [(e.kind, e.staff_id, e.code) for e in (*first.events, *second.events)] == [
            (DeliveryKind.ACKNOWLEDGED, IDVA, "LINK"), (DeliveryKind.ACKNOWLEDGED, CM, "SMS")]


def test_a_second_ack_by_the_same_recipient_changes_nothing(sqlite_url: str) -> None:
    """A repeated ack is audited as ACK_REPEATED (with the first one's way) and leaves the first one alone."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        row = seed_alert(session)
        acknowledge(session, row.alert_id, CM, "SMS", T0 + timedelta(minutes=2))
        again = acknowledge(session, row.alert_id, CM, "WEB", T0 + timedelta(minutes=9))
        assert again.status == ALREADY_ACKNOWLEDGED and again.events == ()
        assert _state(session, row.alert_id, CM)[:3] == (T0 + timedelta(minutes=2), CM, "SMS")
        repeated = json.loads(audit_entries(session, action="ACK_REPEATED")[0].detail)
        assert (repeated["first_by"], repeated["first_via"], repeated["via"]) == (CM, "SMS", "WEB")


def test_sms_ack_from_registered_number_acknowledges(sqlite_url: str) -> None:
    """`ack <code>` from the case manager's registered phone acknowledges the case manager's duty only."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        row = seed_alert(session)
        outcome = acknowledge_sms(session, PHONES[CM], f"ack {row.ack_code.lower()}", T0)
        assert outcome.status == ACKNOWLEDGED and outcome.staff_id == CM
        assert _state(session, row.alert_id, CM)[1:3] == (CM, "SMS")
        assert _state(session, row.alert_id, IDVA)[0] is None


def test_sms_ack_from_other_number_is_refused_and_audited_masked(sqlite_url: str) -> None:
    """A number that is not a recipient's is refused; the audit keeps the code and only the last 3 digits."""
    stranger = "+447700900999"
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        row = seed_alert(session)
        outcome = acknowledge_sms(session, stranger, f"ACK {row.ack_code}", T0)
        assert outcome.status == NOT_A_RECIPIENT
        assert all(_state(session, row.alert_id, s)[0] is None for s in (CM, IDVA))
        refused = audit_entries(session, action="ACK_REFUSED")
        assert len(refused) == 1
        detail = json.loads(refused[0].detail)
        assert detail == {"reason": NOT_A_RECIPIENT, "code": row.ack_code, "via": "SMS", "from": "***999"}
        assert stranger not in refused[0].detail and "900999" not in refused[0].detail


def test_registered_staff_who_is_not_a_recipient_is_refused(sqlite_url: str) -> None:
    """The duty manager's own registered number cannot ack an alert they were never sent."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        row = seed_alert(session)
        assert acknowledge_sms(session, PHONES[DM], f"ACK {row.ack_code}", T0).status == NOT_A_RECIPIENT
        assert acknowledge(session, row.alert_id, DM, "LINK", T0).status == NOT_A_RECIPIENT


def test_unknown_code_unknown_way_and_non_ack_text_are_refused(sqlite_url: str) -> None:
    """An unknown code, a way that is not SMS, LINK or WEB and a message that is not an ack are refused and audited."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        row = seed_alert(session)
        assert acknowledge_sms(session, PHONES[CM], "ACK ZZZZZZ", T0).status == UNKNOWN_ALERT
        assert acknowledge_sms(session, PHONES[CM], "running late, call me", T0).status == NOT_AN_ACK
        assert acknowledge(session, row.alert_id, CM, "ON_BEHALF", T0).status == UNKNOWN_WAY
        reasons = [json.loads(e.detail)["reason"] for e in audit_entries(session, action="ACK_REFUSED")]
        assert reasons == [UNKNOWN_ALERT, NOT_AN_ACK, UNKNOWN_WAY]
        assert all("call me" not in e.detail for e in audit_entries(session))


def test_duty_manager_acknowledges_on_behalf_with_a_reason(sqlite_url: str) -> None:
    """On behalf: recorded as ON_BEHALF by the duty manager with the reason code, audited with both staff ids."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        row = seed_alert(session)
        outcome = acknowledge(session, row.alert_id, DM, "WEB", T0 + timedelta(minutes=20), on_behalf_of=IDVA,
                              reason="SPOKE_TO_RECIPIENT")
        assert outcome.status == ACKNOWLEDGED and outcome.staff_id == IDVA
        assert _state(session, row.alert_id, IDVA) == (T0 + timedelta(minutes=20), DM, "ON_BEHALF",
                                                       "SPOKE_TO_RECIPIENT")
        entry = audit_entries(session, action="ACKNOWLEDGED")[0]
        detail = json.loads(entry.detail)
        assert (entry.staff_id, detail["by"], detail["via"], detail["through"], detail["reason"]) == (
            IDVA, DM, "ON_BEHALF", "WEB", "SPOKE_TO_RECIPIENT")
        assert _state(session, row.alert_id, CM)[0] is None


@pytest.mark.parametrize(("actor", "on_behalf_of", "reason", "status"), [
    (DM, IDVA, None, REASON_REQUIRED),
    (DM, IDVA, "", REASON_REQUIRED),
    (DM, IDVA, "because I said so, Jane Smith", UNKNOWN_REASON),  # free text is refused, never stored
    (CM, IDVA, "SPOKE_TO_RECIPIENT", NOT_A_DUTY_MANAGER),  # a colleague may not acknowledge for another
    (DM, "staff-idva-99", "SPOKE_TO_RECIPIENT", NOT_A_RECIPIENT),
])
def test_on_behalf_is_refused_without_a_duty_manager_a_reason_code_or_a_recipient(
        sqlite_url: str, actor: str, on_behalf_of: str, reason: str | None, status: str) -> None:
    """Every refused on-behalf ack is audited with its reason and acknowledges nobody."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        row = seed_alert(session)
        outcome = acknowledge(session, row.alert_id, actor, "WEB", T0, on_behalf_of=on_behalf_of, reason=reason)
        assert outcome.status == status and not outcome.accepted
        assert all(_state(session, row.alert_id, s)[0] is None for s in (CM, IDVA))
        [refused] = audit_entries(session, action="ACK_REFUSED")
        detail = json.loads(refused.detail)
        assert (detail["reason"], detail["on_behalf_of"], refused.staff_id) == (status, on_behalf_of, actor)
        assert "Jane" not in refused.detail


def test_an_inactive_duty_manager_cannot_acknowledge_on_behalf(sqlite_url: str) -> None:
    """Only an active duty manager in the registry may acknowledge for someone else."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session, CM, IDVA)
        seed_staff(session, DM, active=False)
        row = seed_alert(session)
        outcome = acknowledge(session, row.alert_id, DM, "WEB", T0, on_behalf_of=CM, reason="RECIPIENT_UNAVAILABLE")
        assert outcome.status == NOT_A_DUTY_MANAGER


def test_a_duty_manager_told_by_escalation_takes_it_and_a_second_ack_changes_nothing(sqlite_url: str) -> None:
    """After level 1 the duty manager's SMS ack takes the escalation of both recipients, who stay unacknowledged."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        row = seed_alert(session)
        run_escalations(session, T0 + timedelta(minutes=15), Settings(escalation_critical_min=15))
        taken = acknowledge_sms(session, PHONES[DM], f"ACK {row.ack_code}", T0 + timedelta(minutes=17))
        assert taken.status == ESCALATION_ACKNOWLEDGED and taken.accepted
        assert json.loads(audit_entries(session, action="ESCALATION_ACKNOWLEDGED")[0].detail)["regarding"] == [CM, IDVA]
        for staff_id in (CM, IDVA):
            duty = recipient_ack(session, row.alert_id, staff_id)
            assert (duty.acknowledged_at, duty.escalation_acked_by) == (None, DM)
        assert acknowledge(session, row.alert_id, DM, "SMS", T0 + timedelta(minutes=18)).status == ALREADY_ACKNOWLEDGED
