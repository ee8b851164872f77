"""Recording a batch of alerts with bulk statements leaves exactly the ledger the one-at-a-time path leaves."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from consumers.delivery.bulk import record_alerts
from consumers.delivery.dispatch import dispatch_alert, parse_channel_plan
from consumers.ledger import directory
from migrations import upgrade
from runtime.db import make_engine
from tests.fakes.delivery_samples import CM, DM, IDVA, alert, staff_member

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
PLAN = parse_channel_plan("CRITICAL=SMS+EMAIL,HIGH=SMS+EMAIL,MEDIUM=EMAIL,LOW=EMAIL")
TABLES = {"alerts": ("alert_id", "rule", "severity", "subject_id", "trigger_event_ids", "group_key", "ack_code"),
          "alert_recipients": ("alert_id", "staff_id", "role", "victim_ref", "victim_key", "text"),
          "recipient_acks": ("alert_id", "staff_id", "role", "escalation_level", "resends", "acknowledged_at"),
          "deliveries": ("alert_id", "staff_id", "channel", "level", "purpose", "resend", "regarding", "destination",
                         "body", "texts", "state", "attempts"),
          "audit_log": ("action", "alert_id", "subject_id", "staff_id", "channel", "detail")}


def _ledger(url: str, no_email_for: str | None = None) -> Any:
    upgrade(url)
    sessions = sessionmaker(make_engine(url))
    with sessions.begin() as session:
        for staff_id in (CM, IDVA, DM):
            member = staff_member(staff_id, email=None) if staff_id == no_email_for else staff_member(staff_id)
            directory.upsert_staff(session, member, f"ev-{staff_id}", NOW, NOW)
    return sessions


def _contents(sessions: Any) -> dict[str, list[tuple[Any, ...]]]:
    with sessions() as session:
        return {table: sorted(tuple(row) for row in session.execute(sa.text(
            f"SELECT {', '.join(columns)} FROM {table}"))) for table, columns in TABLES.items()}  # noqa: S608


@pytest.mark.parametrize("no_email_for", [None, IDVA])
def test_bulk_and_one_at_a_time_leave_the_same_ledger(database_url: str, tmp_path: Path,
                                                      no_email_for: str | None) -> None:
    """A batch of new alerts (one of them twice, one with an IDVA without e-mail when asked) through
    record_alerts gives the rows dispatch_alert gives alert by alert, audit included."""
    alerts = [alert(severity=s) for s in ("CRITICAL", "HIGH", "MEDIUM", "CRITICAL")]
    batch = [*alerts, alerts[0]]
    bulk, single = _ledger(database_url, no_email_for), _ledger(f"sqlite:///{tmp_path / 'single.db'}", no_email_for)
    with bulk.begin() as session:
        recorded = record_alerts(session, batch, PLAN, NOW)
    with single.begin() as session:
        expected = [a for a in alerts if dispatch_alert(session, a, PLAN, NOW)]
    assert sorted(a.alert_id for a in recorded) == sorted(a.alert_id for a in expected)
    assert _contents(bulk) == _contents(single)
    with bulk.begin() as session:
        assert record_alerts(session, batch, PLAN, NOW) == []  # a redelivered batch records nothing


def test_an_unknown_recipient_takes_the_one_at_a_time_path_and_fails_over(sqlite_url: str) -> None:
    """An alert to a staff member the registry does not know is recorded by dispatch_alert: audited unreachable,
    the duty manager on call told; its batch-mates still go in bulk."""
    sessions = _ledger(sqlite_url)
    stray = alert(recipients=[{"staff_id": "staff-cm-99", "role": "CASE_MANAGER", "text": "BAIL GRANTED"}])
    fine = alert()
    with sessions.begin() as session:
        recorded = record_alerts(session, [stray, fine], PLAN, NOW)
    assert {a.alert_id for a in recorded} == {stray.alert_id, fine.alert_id}
    rows = _contents(sessions)
    assert any(r[0] == "RECIPIENT_UNREACHABLE" and r[1] == stray.alert_id for r in rows["audit_log"])
    assert any(d[0] == stray.alert_id and d[1] == DM and d[4] == "FAILOVER" for d in rows["deliveries"])
