"""Intake journal retention: where the broker acknowledged each row, since when it is covered, when it was erased.

Revision ID: 0007_journal_retention
Revises: 0006_intake_identity
Create Date: 2026-12-01 00:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_journal_retention"
down_revision: str | None = "0006_intake_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the position, coverage and erasure columns; a payload may now be gone (value nullable)."""
    with op.batch_alter_table("intake_journal") as batch:
        batch.add_column(sa.Column("kafka_partition", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("kafka_offset", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("covered_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
        batch.alter_column("value", existing_type=sa.LargeBinary(), nullable=True)
        batch.create_index("ix_intake_journal_position", ["topic", "kafka_partition", "kafka_offset"])
        batch.create_index("ix_intake_journal_covered", ["covered_at"])


def downgrade() -> None:
    """Drop them again (erased rows are deleted first: their payload cannot come back)."""
    op.execute("DELETE FROM intake_journal WHERE value IS NULL")
    with op.batch_alter_table("intake_journal") as batch:
        batch.drop_index("ix_intake_journal_covered")
        batch.drop_index("ix_intake_journal_position")
        batch.alter_column("value", existing_type=sa.LargeBinary(), nullable=False)
        for name in ("erased_at", "covered_at", "kafka_offset", "kafka_partition"):
            batch.drop_column(name)
