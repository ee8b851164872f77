"""Intake refusals: an audit row per refused intake request (no payload, no credentials).

Revision ID: 0005_intake_refusals
Revises: 0004_dead_letter_replays
Create Date: 2026-01-05 00:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_intake_refusals"
down_revision: str | None = "0004_dead_letter_replays"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create intake_refusals."""
    op.create_table(
        "intake_refusals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("refused_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("agency", sa.String(100), nullable=True),
        sa.Column("topic", sa.String(64), nullable=True),
        sa.Column("peer", sa.String(64), nullable=True),
        sa.Column("body_bytes", sa.Integer(), nullable=False),
    )
    op.create_index("ix_intake_refusals_refused_at", "intake_refusals", ["refused_at"])


def downgrade() -> None:
    """Drop intake_refusals."""
    op.drop_index("ix_intake_refusals_refused_at", "intake_refusals")
    op.drop_table("intake_refusals")
