"""Acknowledgements over a real (SQLite) ledger: first ack wins, SMS acks only from a recipient's registered number."""
from __future__ import annotations

import json
from datetime import timedelta

from consumers.acks.acknowledge import (
    ACKNOWLEDGED,
    ALREADY_ACKNOWLEDGED,
    NOT_A_RECIPIENT,
    NOT_AN_ACK,
    UNKNOWN_ALERT,
    acknowledge,
    acknowledge_sms,
)
from consumers.ledger.models import audit_entries
from schemas.enums import DeliveryKind
from tests.fakes.delivery_samples import CM, DM, IDVA, PHONES
from tests.unit.ack_ledger_helpers import T0, ledger_session, seed_alert, seed_staff


def test_first_ack_wins_and_later_acks_change_nothing(sqlite_url: str) -> None:
    """The first ack sets acknowledged_*; a later one is audited as ACK_REPEATED and leaves them alone."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        row = seed_alert(session)
        first = acknowledge(session, row.ack_code, IDVA, "LINK", T0 + timedelta(minutes=2))
        second = acknowledge(session, row.alert_id, CM, "SMS", T0 + timedelta(minutes=3))
        session.refresh(row)
        assert first.status == ACKNOWLEDGED and second.status == ALREADY_ACKNOWLEDGED
        assert (row.acknowledged_by, row.ack_via, row.acknowledged_at) == (IDVA, "LINK", T0 + timedelta(minutes=2))
        assert [e.kind for e in first.events] == [DeliveryKind.ACKNOWLEDGED] and second.events == ()
        actions = [e.action for e in audit_entries(session, alert_id=row.alert_id)]
        assert actions[-2:] == ["ACKNOWLEDGED", "ACK_REPEATED"]


def test_sms_ack_from_registered_number_acknowledges(sqlite_url: str) -> None:
    """`ack <code>` from the case manager's registered phone acknowledges as that case manager."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        row = seed_alert(session)
        outcome = acknowledge_sms(session, PHONES[CM], f"ack {row.ack_code.lower()}", T0)
        session.refresh(row)
        assert outcome.status == ACKNOWLEDGED and row.acknowledged_by == CM and row.ack_via == "SMS"


def test_sms_ack_from_other_number_is_refused_and_audited_masked(sqlite_url: str) -> None:
    """A number that is not a recipient's is refused; the audit keeps the code and only the last 3 digits."""
    stranger = "+447700900999"
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        row = seed_alert(session)
        outcome = acknowledge_sms(session, stranger, f"ACK {row.ack_code}", T0)
        session.refresh(row)
        assert outcome.status == NOT_A_RECIPIENT and row.acknowledged_at is None
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


def test_unknown_code_and_non_ack_text_are_refused(sqlite_url: str) -> None:
    """An unknown code and a message that is not an ack are both refused and audited."""
    with ledger_session(sqlite_url) as session:
        seed_staff(session)
        seed_alert(session)
        assert acknowledge_sms(session, PHONES[CM], "ACK ZZZZZZ", T0).status == UNKNOWN_ALERT
        assert acknowledge_sms(session, PHONES[CM], "running late, call me", T0).status == NOT_AN_ACK
        reasons = [json.loads(e.detail)["reason"] for e in audit_entries(session, action="ACK_REFUSED")]
        assert reasons == [UNKNOWN_ALERT, NOT_AN_ACK]
        assert all("call me" not in e.detail for e in audit_entries(session))
