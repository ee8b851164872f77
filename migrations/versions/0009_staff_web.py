"""Staff web app: the caseload (which case manager holds which subject), web sessions and one-time sign-in codes;
the chronology keeps when drive-alerts took each agency record in, and the end a bail, order or licence gives.

Revision ID: 0009_staff_web
Revises: 0008_per_recipient_acks
Create Date: 2026-01-08 00:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_staff_web"
down_revision: str | None = "0008_per_recipient_acks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Three tables and two chronology columns."""
    op.create_table(
        "caseload",
        sa.Column("subject_id", sa.String(100), nullable=False), sa.Column("case_manager_id", sa.String(100),
                                                                             nullable=False),
        sa.Column("status", sa.String(16), nullable=False), sa.Column("source_event_id", sa.String(160), nullable=False),
        _ts("recorded_at", False), _ts("updated_at", False), sa.PrimaryKeyConstraint("subject_id"))
    op.create_index("ix_caseload_case_manager_id", "caseload", ["case_manager_id"])
    op.create_table(
        "web_sessions",
        sa.Column("session_hash", sa.String(64), nullable=False), sa.Column("staff_id", sa.String(100), nullable=False),
        sa.Column("via", sa.String(8), nullable=False), _ts("signed_in_at", False), _ts("last_seen_at", False),
        _ts("ended_at"), sa.Column("ended_reason", sa.String(24), nullable=True),
        sa.PrimaryKeyConstraint("session_hash"))
    op.create_index("ix_web_sessions_staff_id", "web_sessions", ["staff_id"])
    op.create_table(
        "web_sign_in_codes",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False), sa.Column("staff_id", sa.String(100),
                                                                               nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False), sa.Column("channel", sa.String(8), nullable=False),
        _ts("created_at", False), _ts("expires_at", False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False), _ts("used_at"),
        sa.PrimaryKeyConstraint("id"))
    op.create_index("ix_web_sign_in_codes_staff_id", "web_sign_in_codes", ["staff_id"])
    with op.batch_alter_table("chronology_events") as batch:
        batch.add_column(_ts("received_at"))
        batch.add_column(_ts("expires_at"))


def downgrade() -> None:
    """The tables and columns go."""
    with op.batch_alter_table("chronology_events") as batch:
        batch.drop_column("expires_at")
        batch.drop_column("received_at")
    op.drop_index("ix_web_sign_in_codes_staff_id", table_name="web_sign_in_codes")
    op.drop_table("web_sign_in_codes")
    op.drop_index("ix_web_sessions_staff_id", table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_index("ix_caseload_case_manager_id", table_name="caseload")
    op.drop_table("caseload")
