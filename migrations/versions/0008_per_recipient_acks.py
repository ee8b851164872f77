"""Per-recipient acknowledgement: recipient_acks holds each recipient's own ack, escalation and re-send state.

Existing alert-level acknowledgements move to the recipient they came from; deliveries are also keyed by their
re-send number and by whom an escalation or failover message is about.

Revision ID: 0008_per_recipient_acks
Revises: 0007_journal_retention
Create Date: 2026-01-07 00:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_per_recipient_acks"
down_revision: str | None = "0007_journal_retention"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALERT_ACK_COLUMNS = ("acknowledged_at", "acknowledged_by", "ack_via", "escalation_level", "last_escalated_at")
OLD_KEY = ("alert_id", "staff_id", "channel", "level")
NEW_KEY = (*OLD_KEY, "resend", "regarding")


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def upgrade() -> None:
    """recipient_acks from the alerts' recipients, the acks moved over, deliveries re-keyed, old columns dropped."""
    op.create_table(
        "recipient_acks",
        sa.Column("alert_id", sa.String(160), nullable=False), sa.Column("staff_id", sa.String(100), nullable=False),
        sa.Column("role", sa.String(32), nullable=False), _ts("acknowledged_at"),
        sa.Column("acknowledged_by", sa.String(100), nullable=True), sa.Column("ack_via", sa.String(16), nullable=True),
        sa.Column("ack_reason", sa.String(40), nullable=True),
        sa.Column("escalation_level", sa.Integer(), server_default="0", nullable=False), _ts("last_escalated_at"),
        _ts("escalation_acked_at"), sa.Column("escalation_acked_by", sa.String(100), nullable=True),
        sa.Column("resends", sa.Integer(), server_default="0", nullable=False), _ts("last_resent_at"),
        sa.PrimaryKeyConstraint("alert_id", "staff_id"), sa.ForeignKeyConstraint(["alert_id"], ["alerts.alert_id"]),
    )
    op.create_index("ix_recipient_acks_open", "recipient_acks", ["acknowledged_at"])
    _move_acks_to_recipients()
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("resend", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("regarding", sa.String(100), server_default="-", nullable=False))
        batch.drop_constraint("uq_deliveries", type_="unique")
        batch.create_unique_constraint("uq_deliveries", list(NEW_KEY))
    for column in ALERT_ACK_COLUMNS:
        # Native DROP COLUMN (SQLite >= 3.35): rebuilding `alerts` would trip the foreign keys pointing at it.
        op.execute(f"ALTER TABLE alerts DROP COLUMN {column}")


def _move_acks_to_recipients() -> None:
    """One row per (alert, recipient) in first-seen order; an alert's ack goes to the recipient who gave it, and a
    duty manager's (who was no recipient) counts as taking the escalation of everyone else."""
    op.execute("""
        INSERT INTO recipient_acks (alert_id, staff_id, role, escalation_level, last_escalated_at, resends)
        SELECT r.alert_id, r.staff_id, r.role, a.escalation_level, a.last_escalated_at, 0
        FROM alert_recipients r JOIN alerts a ON a.alert_id = r.alert_id
        WHERE r.id = (SELECT MIN(f.id) FROM alert_recipients f WHERE f.alert_id = r.alert_id
                      AND f.staff_id = r.staff_id)""")
    op.execute("""
        UPDATE recipient_acks SET
            acknowledged_at = (SELECT a.acknowledged_at FROM alerts a WHERE a.alert_id = recipient_acks.alert_id),
            acknowledged_by = staff_id,
            ack_via = (SELECT a.ack_via FROM alerts a WHERE a.alert_id = recipient_acks.alert_id)
        WHERE EXISTS (SELECT 1 FROM alerts a WHERE a.alert_id = recipient_acks.alert_id
                      AND a.acknowledged_by = recipient_acks.staff_id)""")
    op.execute("""
        UPDATE recipient_acks SET
            escalation_acked_at = (SELECT a.acknowledged_at FROM alerts a WHERE a.alert_id = recipient_acks.alert_id),
            escalation_acked_by = (SELECT a.acknowledged_by FROM alerts a WHERE a.alert_id = recipient_acks.alert_id)
        WHERE acknowledged_at IS NULL AND EXISTS (
            SELECT 1 FROM alerts a WHERE a.alert_id = recipient_acks.alert_id AND a.acknowledged_by IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM recipient_acks o WHERE o.alert_id = a.alert_id
                            AND o.staff_id = a.acknowledged_by))""")


def downgrade() -> None:
    """Back to one acknowledgement per alert (the earliest); re-sends and per-recipient escalation messages go."""
    op.add_column("alerts", _ts("acknowledged_at"))
    op.add_column("alerts", sa.Column("acknowledged_by", sa.String(100), nullable=True))
    op.add_column("alerts", sa.Column("ack_via", sa.String(8), nullable=True))
    op.add_column("alerts", sa.Column("escalation_level", sa.Integer(), server_default="0", nullable=False))
    op.add_column("alerts", _ts("last_escalated_at"))
    first = """(SELECT {column} FROM recipient_acks k WHERE k.alert_id = alerts.alert_id AND k.{at} IS NOT NULL
                ORDER BY k.{at}, k.staff_id LIMIT 1)"""
    ack, taken = {"at": "acknowledged_at"}, {"at": "escalation_acked_at"}  # a duty manager's ack counted then too
    op.execute(f"""
        UPDATE alerts SET acknowledged_at = COALESCE({first.format(column='k.acknowledged_at', **ack)},
                                                     {first.format(column='k.escalation_acked_at', **taken)}),
            acknowledged_by = COALESCE({first.format(column='k.acknowledged_by', **ack)},
                                       {first.format(column='k.escalation_acked_by', **taken)}),
            ack_via = {first.format(column="CASE WHEN k.ack_via = 'ON_BEHALF' THEN 'WEB' ELSE k.ack_via END", **ack)},
            escalation_level = COALESCE((SELECT MAX(k.escalation_level) FROM recipient_acks k
                                         WHERE k.alert_id = alerts.alert_id), 0),
            last_escalated_at = (SELECT MAX(k.last_escalated_at) FROM recipient_acks k
                                 WHERE k.alert_id = alerts.alert_id)""")
    # The old key holds one message per (alert, staff, channel, level): keep the first of each.
    op.execute("""
        DELETE FROM deliveries WHERE id NOT IN (
            SELECT MIN(id) FROM deliveries GROUP BY alert_id, staff_id, channel, level)""")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint("uq_deliveries", type_="unique")
        batch.create_unique_constraint("uq_deliveries", list(OLD_KEY))
        batch.drop_column("regarding")
        batch.drop_column("resend")
    op.drop_index("ix_recipient_acks_open", table_name="recipient_acks")
    op.drop_table("recipient_acks")
