"""Connectors: the intake journal and the SQL-polling watermarks.

Revision ID: 0001_connectors
Revises:
Create Date: 2026-01-01 00:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_connectors"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create intake_journal and sqlpoll_watermarks."""
    op.create_table(
        "intake_journal",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(160), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("agency", sa.String(100), nullable=True),
        sa.Column("connector", sa.String(32), nullable=False),
        sa.Column("location", sa.String(500), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("event_id", name="uq_intake_journal_event_id"),
    )
    op.create_index("ix_intake_journal_unpublished", "intake_journal", ["published_at", "seq"])
    op.create_table(
        "sqlpoll_watermarks",
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("last_value", sa.Text(), nullable=True),
        sa.Column("last_key", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("sqlpoll_watermarks")
    op.drop_index("ix_intake_journal_unpublished", table_name="intake_journal")
    op.drop_table("intake_journal")
