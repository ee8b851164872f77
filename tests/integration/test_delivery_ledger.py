"""Integration tests of the delivery ledger on SQLite and PostgreSQL: append-only audit, idempotent alerts, staff upserts."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from consumers import ledger
from migrations import upgrade
from runtime.db import make_engine
from schemas.events import Alert, StaffMember
from tests.fakes.delivery_samples import alert as make_alert
from tests.fakes.delivery_samples import staff_member

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    """A session on a freshly migrated database (SQLite and PostgreSQL)."""
    upgrade(database_url)
    engine = make_engine(database_url)
    with Session(engine) as s:
        yield s
    engine.dispose()


def _alert(**overrides: object) -> Alert:
    return make_alert(**overrides)


def test_audit_log_refuses_update_and_delete(session: Session) -> None:
    """The migration's triggers make audit_log append-only: UPDATE and DELETE both fail."""
    ledger.audit(session, "DISCLOSED", alert_id="a-1", detail={"body": "x"})
    session.commit()
    for statement in ("UPDATE audit_log SET action = 'X'", "DELETE FROM audit_log"):
        with pytest.raises(DatabaseError, match="append-only"):
            session.execute(sa.text(statement))
        session.rollback()
    assert [e.action for e in ledger.audit_entries(session)] == ["DISCLOSED"]


def test_record_alert_is_idempotent(session: Session) -> None:
    """Recording the same alert twice writes it, its recipients and one ALERT_RECEIVED audit once."""
    alert = _alert()
    assert ledger.record_alert(session, alert, NOW) is True
    session.commit()
    assert ledger.record_alert(session, alert, NOW) is False
    session.commit()
    row = ledger.get_alert(session, alert.alert_id)
    assert row is not None and row.received_at == NOW and row.raised_at.tzinfo is not None
    assert len(ledger.recipients_of(session, alert.alert_id)) == len(alert.recipients)
    assert len(ledger.audit_entries(session, alert_id=alert.alert_id, action="ALERT_RECEIVED")) == 1


def test_ack_code_is_unambiguous_and_extends_on_collision(session: Session) -> None:
    """Ack codes avoid 0/O/1/I; a second alert whose 6-char code is taken gets a longer one."""
    alert = _alert()
    ledger.record_alert(session, alert, NOW)
    code = ledger.get_alert(session, alert.alert_id).ack_code
    assert code == ledger.ack_code_for(alert.alert_id) and len(code) == 6
    assert not set(code) & set("0O1I")
    other = _alert()
    session.execute(sa.update(ledger.LedgerAlert).values(ack_code=ledger.ack_code_for(other.alert_id)))
    ledger.record_alert(session, other, NOW)
    assert ledger.get_alert(session, other.alert_id).ack_code == ledger.ack_code_for(other.alert_id, 7)
    assert ledger.alert_by_ack_code(session, ledger.ack_code_for(other.alert_id, 7).lower()).alert_id == other.alert_id


def test_duplicate_recipient_entries_for_one_victim_collapse(session: Session) -> None:
    """Two entries for the same (staff, victim) make one recipient row; another victim makes a second."""
    alert = _alert()
    idva = alert.recipients[1]
    alert = Alert.from_datum({**alert.to_datum(), "recipients": [
        idva.to_datum(), idva.to_datum(), {**idva.to_datum(), "victim_ref": "VIC-0002"}]})
    ledger.record_alert(session, alert, NOW)
    rows = ledger.recipients_of(session, alert.alert_id)
    assert [(r.staff_id, r.victim_key) for r in rows] == [(idva.staff_id, "VIC-0001"), (idva.staff_id, "VIC-0002")]
    assert list(ledger.merged_recipients(alert)) == [idva.staff_id]


def test_staff_upsert_keeps_the_later_snapshot(session: Session) -> None:
    """A STAFF_UPDATED with an older recorded_at does not overwrite a newer one."""
    member = staff_member("staff-dm-01")
    assert ledger.upsert_staff(session, member, "e2", NOW, NOW)
    older = StaffMember.from_datum({**member.to_datum(), "phone_e164": "+447700900999"})
    assert not ledger.upsert_staff(session, older, "e1", NOW - timedelta(hours=1), NOW)
    session.commit()
    row = session.get(ledger.Staff, member.staff_id)
    assert (row.phone_e164, row.source_event_id) == (member.phone_e164, "e2")


def test_add_delivery_is_unique_per_alert_staff_channel_level_resend_and_regarding(session: Session) -> None:
    """A second delivery for the same (alert, staff, channel, level, re-send, regarding) is not inserted."""
    alert = _alert()
    ledger.record_alert(session, alert, NOW)
    fields = dict(alert_id=alert.alert_id, staff_id="s1", channel=ledger.SMS, level=0, purpose="ALERT",
                  destination="+447700900001", body="b", now=NOW)
    first = ledger.add_delivery(session, **fields)
    assert first is not None and first.state == ledger.PENDING
    assert ledger.add_delivery(session, **fields) is None
    assert ledger.add_delivery(session, **{**fields, "level": 1}) is not None
    assert ledger.add_delivery(session, **{**fields, "resend": 1}) is not None
    assert ledger.add_delivery(session, **{**fields, "resend": 1}) is None
    about_cm = {**fields, "level": 1, "regarding": "staff-cm-01"}
    assert ledger.add_delivery(session, **about_cm) is not None
    assert ledger.add_delivery(session, **{**about_cm, "regarding": "staff-idva-07"}) is not None
    assert ledger.add_delivery(session, **about_cm) is None
    assert [d.id for d in ledger.due_deliveries(session, NOW)][0] == first.id


def test_downgrade_to_0001_removes_the_ledger(database_url: str) -> None:
    """The 0002 downgrade drops the ledger tables and the append-only triggers; upgrading again works."""
    from alembic import command

    from migrations import alembic_config

    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            assert {"staff", "alerts", "alert_recipients", "deliveries", "audit_log", "chronology_events"} <= set(
                sa.inspect(conn).get_table_names())
            command.downgrade(alembic_config(conn), "0001_connectors")
        with engine.connect() as conn:
            assert "audit_log" not in sa.inspect(conn).get_table_names()
    finally:
        engine.dispose()
    upgrade(database_url)


def test_duty_managers_on_call_are_active_in_shift_and_ordered(session: Session) -> None:
    """Only active duty managers whose shift covers `now` are on call, ordered by staff id."""
    from consumers.ledger import directory

    shift = [{"starts_at": "2026-11-22T08:00:00Z", "ends_at": "2026-11-22T20:00:00Z"}]
    later = [{"starts_at": "2026-11-22T20:00:00Z", "ends_at": "2026-11-23T08:00:00Z"}]
    for staff_id, active, on_call in (("dm-b", True, shift), ("dm-a", True, shift), ("dm-off", False, shift),
                                      ("dm-night", True, later)):
        ledger.upsert_staff(session, staff_member(staff_id, role="DUTY_MANAGER", active=active, on_call=on_call),
                            f"e-{staff_id}", NOW, NOW)
    ledger.upsert_staff(session, staff_member("cm-x", role="CASE_MANAGER", on_call=shift), "e-cm", NOW, NOW)
    assert [c.staff_id for c in directory.duty_managers_on_call(session, NOW)] == ["dm-a", "dm-b"]
    assert [c.staff_id for c in directory.duty_managers_on_call(session, NOW + timedelta(hours=11))] == ["dm-night"]
    assert directory.contact(session, "dm-off").reachable is False
    assert directory.contact(session, "nobody") is None


def test_case_snapshots_reach_the_caseload_and_staff_updates_the_directory(session: Session) -> None:
    """A case snapshot goes to the caseload (its case manager), never to the staff directory; a STAFF_UPDATED is
    applied to the directory."""
    from consumers.ledger import directory
    from schemas.events import event_from_datum
    from schemas.jsonform import from_json
    from tests.fakes.delivery_samples import staff_event
    from tests.samples.events import sample

    case = event_from_datum("case", from_json("case", sample("case", "CASE_OPENED")))
    staff = event_from_datum("case", from_json("case", staff_event("staff-cm-01")))
    from consumers.ledger.caseload import Caseload

    assert directory.apply_case_event(session, case, NOW) is True
    held = session.get(Caseload, case.details.subject_id)
    assert held is not None and held.case_manager_id == case.details.case_manager_id and held.status == "OPEN"
    assert directory.contact(session, case.details.case_manager_id) is None
    assert directory.apply_case_event(session, staff, NOW) is True
    assert directory.contact(session, "staff-cm-01").phone_e164 == "+447700900001"


def test_case_snapshots_in_bulk_keep_the_latest_per_subject(session: Session) -> None:
    """A batch of snapshots (the registry's catch-up): per subject the latest of the batch wins, a stored later one
    is not overwritten by an older one, and the count says how many were applied."""
    from dataclasses import replace

    from consumers.ledger.caseload import Caseload, upsert_cases
    from schemas.events import event_from_datum
    from schemas.jsonform import from_json
    from tests.samples.events import sample

    base = event_from_datum("case", from_json("case", sample("case", "CASE_OPENED"))).details
    a_old, a_new = replace(base, subject_id="DRV-7001", case_manager_id="cm-old"), \
        replace(base, subject_id="DRV-7001", case_manager_id="cm-new")
    b_later, b_older = replace(base, subject_id="DRV-7002", case_manager_id="cm-b2"), \
        replace(base, subject_id="DRV-7002", case_manager_id="cm-b1")
    assert upsert_cases(session, [(b_later, "e-b2", NOW)], NOW) == 1
    applied = upsert_cases(session, [(a_new, "e-a2", NOW), (a_old, "e-a1", NOW - timedelta(hours=1)),
                                     (b_older, "e-b1", NOW - timedelta(hours=1)),
                                     (replace(base, subject_id="DRV-7003"), "e-c", NOW)], NOW)
    session.commit()
    assert applied == 2
    held = {row.subject_id: (row.case_manager_id, row.source_event_id) for row in session.query(Caseload)}
    assert held["DRV-7001"] == ("cm-new", "e-a2") and held["DRV-7002"] == ("cm-b2", "e-b2")
    assert held["DRV-7003"][1] == "e-c"
    assert upsert_cases(session, [(replace(base, subject_id="DRV-7002", case_manager_id="cm-b3"), "e-b3",
                                   NOW + timedelta(minutes=1))], NOW) == 1
    assert session.get(Caseload, "DRV-7002").case_manager_id == "cm-b3"
