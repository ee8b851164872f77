"""Revision 0007 on a ledger with alert-level acks: each ack moves to the recipient it came from, and back down."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command

from migrations import alembic_config, upgrade
from runtime.db import make_engine

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
ACKED = datetime(2026, 11, 22, 10, 4, tzinfo=UTC)
CM, IDVA, DM = "staff-cm-01", "staff-idva-07", "staff-dm-01"


def _alert(conn: sa.Connection, alert_id: str, code: str, acked_by: str | None, via: str | None, level: int) -> None:
    conn.execute(sa.text(
        "INSERT INTO alerts (alert_id, rule, severity, subject_id, raised_at, received_at, trigger_event_ids, "
        "ack_code, acknowledged_at, acknowledged_by, ack_via, escalation_level, last_escalated_at) VALUES "
        "(:a, 'breach.no_contact', 'CRITICAL', 'DRV-1', :t, :t, '[]', :c, :at, :by, :via, :lvl, :esc)"),
        {"a": alert_id, "t": T0, "c": code, "at": ACKED if acked_by else None, "by": acked_by, "via": via,
         "lvl": level, "esc": T0 if level else None})
    # The IDVA is named twice (two victims): one duty, the first row's role.
    for staff_id, role, victim in ((CM, "CASE_MANAGER", "-"), (IDVA, "IDVA", "VIC-1"), (IDVA, "IDVA", "VIC-2")):
        conn.execute(sa.text("INSERT INTO alert_recipients (alert_id, staff_id, role, victim_ref, victim_key, text) "
                             "VALUES (:a, :s, :r, :v, :v, 't')"),
                     {"a": alert_id, "s": staff_id, "r": role, "v": victim})
    conn.execute(sa.text(
        "INSERT INTO deliveries (alert_id, staff_id, channel, level, purpose, destination, body, state, attempts, "
        "created_at, updated_at) VALUES (:a, :s, 'SMS', 0, 'ALERT', '+44', 'b', 'sent', 1, :t, :t)"),
        {"a": alert_id, "s": CM, "t": T0})


def test_alert_level_acks_move_to_their_recipients_and_back(database_url: str) -> None:
    """An IDVA's ack stays the IDVA's (the case manager's duty opens); a duty manager's ack takes the escalation."""
    upgrade(database_url, "0007_journal_retention")
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            _alert(conn, "by-idva", "AAAAAA", IDVA, "LINK", 1)
            _alert(conn, "by-dm", "BBBBBB", DM, "SMS", 1)
            _alert(conn, "never", "CCCCCC", None, None, 2)
        upgrade(database_url)
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT alert_id, staff_id, role, acknowledged_by, ack_via, escalation_level, escalation_acked_by, "
                "resends FROM recipient_acks ORDER BY alert_id, staff_id")).all()
            assert [tuple(r) for r in rows] == [
                ("by-dm", CM, "CASE_MANAGER", None, None, 1, DM, 0),
                ("by-dm", IDVA, "IDVA", None, None, 1, DM, 0),
                ("by-idva", CM, "CASE_MANAGER", None, None, 1, None, 0),
                ("by-idva", IDVA, "IDVA", IDVA, "LINK", 1, None, 0),
                ("never", CM, "CASE_MANAGER", None, None, 2, None, 0),
                ("never", IDVA, "IDVA", None, None, 2, None, 0)]
            acked_at = conn.execute(sa.text("SELECT acknowledged_at FROM recipient_acks WHERE ack_via = 'LINK'")
                                    ).scalar()
            assert str(acked_at).startswith("2026-11-22 10:04")
            assert "acknowledged_by" not in {c["name"] for c in sa.inspect(conn).get_columns("alerts")}
            assert conn.execute(sa.text("SELECT resend, regarding FROM deliveries")).all() == [(0, "-")] * 3
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0007_journal_retention")
        with engine.connect() as conn:
            back = conn.execute(sa.text("SELECT alert_id, acknowledged_by, ack_via, escalation_level FROM alerts "
                                        "ORDER BY alert_id")).all()
            assert [tuple(r) for r in back] == [("by-dm", DM, None, 1), ("by-idva", IDVA, "LINK", 1),
                                                ("never", None, None, 2)]
    finally:
        engine.dispose()
