"""Delivery ledger: staff, alerts, recipients, deliveries, the append-only audit log and chronology events.

Revision ID: 0002_delivery_ledger
Revises: 0001_connectors
Create Date: 2026-01-02 00:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_delivery_ledger"
down_revision: str | None = "0001_connectors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _str(name: str, length: int, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=nullable)


def upgrade() -> None:
    """Create the ledger tables and the triggers that make audit_log append-only."""
    op.create_table(
        "staff",
        _str("staff_id", 100), _str("role", 32), _str("phone_e164", 32, True), _str("email", 320, True),
        sa.Column("active", sa.Boolean(), nullable=False), sa.Column("on_call", sa.Text(), nullable=False),
        _str("source_event_id", 160), _ts("recorded_at", False), _ts("updated_at", False),
        sa.PrimaryKeyConstraint("staff_id"),
    )
    op.create_table(
        "alerts",
        _str("alert_id", 160), _str("rule", 100), _str("severity", 16), _str("subject_id", 100),
        _ts("raised_at", False), _ts("received_at", False), sa.Column("trigger_event_ids", sa.Text(), nullable=False),
        _str("group_key", 300, True), _str("ack_code", 16), _ts("acknowledged_at"), _str("acknowledged_by", 100, True),
        _str("ack_via", 8, True), sa.Column("escalation_level", sa.Integer(), server_default="0", nullable=False),
        _ts("last_escalated_at"),
        sa.PrimaryKeyConstraint("alert_id"), sa.UniqueConstraint("ack_code"),
    )
    op.create_index("ix_alerts_subject_id", "alerts", ["subject_id"])
    op.create_table(
        "alert_recipients",
        sa.Column("id", BigId, autoincrement=True, nullable=False), _str("alert_id", 160), _str("staff_id", 100),
        _str("role", 32), _str("victim_ref", 100, True), _str("victim_key", 100),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"), sa.ForeignKeyConstraint(["alert_id"], ["alerts.alert_id"]),
        sa.UniqueConstraint("alert_id", "staff_id", "victim_key", name="uq_alert_recipients"),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", BigId, autoincrement=True, nullable=False), _str("alert_id", 160), _str("staff_id", 100),
        _str("channel", 8), sa.Column("level", sa.Integer(), nullable=False), _str("purpose", 16),
        _str("destination", 320), sa.Column("body", sa.Text(), nullable=False),
        sa.Column("texts", sa.Text(), nullable=True), _str("state", 16),
        _str("provider_message_id", 200, True), sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        _str("last_error", 100, True), _ts("next_attempt_at"), _ts("created_at", False), _ts("updated_at", False),
        _ts("sent_at"), _ts("delivered_at"), _ts("failed_at"),
        sa.PrimaryKeyConstraint("id"), sa.ForeignKeyConstraint(["alert_id"], ["alerts.alert_id"]),
        sa.UniqueConstraint("alert_id", "staff_id", "channel", "level", name="uq_deliveries"),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["state", "next_attempt_at"])
    op.create_table(
        "audit_log",
        sa.Column("id", BigId, autoincrement=True, nullable=False), _ts("at", False), _str("action", 40),
        _str("alert_id", 160, True), _str("subject_id", 100, True), _str("staff_id", 100, True),
        _str("channel", 8, True), sa.Column("delivery_id", BigId, nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("at", "alert_id", "subject_id", "staff_id"):
        op.create_index(f"ix_audit_log_{column}", "audit_log", [column])
    op.create_table(
        "chronology_events",
        _str("event_id", 160), _str("subject_id", 100), _str("topic", 32), _str("event_type", 64),
        _str("agency", 100), _ts("occurred_at", False), _ts("recorded_at", False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index("ix_chronology_events_subject_id", "chronology_events", ["subject_id"])
    _create_append_only_triggers()


def _create_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$")
        op.execute("CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()")
        op.execute("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()")
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                   "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")


def downgrade() -> None:
    """Drop the triggers and every ledger table."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    op.drop_index("ix_chronology_events_subject_id", table_name="chronology_events")
    op.drop_table("chronology_events")
    for column in ("at", "alert_id", "subject_id", "staff_id"):
        op.drop_index(f"ix_audit_log_{column}", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_deliveries_due", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_table("alert_recipients")
    op.drop_index("ix_alerts_subject_id", table_name="alerts")
    op.drop_table("alerts")
    op.drop_table("staff")
