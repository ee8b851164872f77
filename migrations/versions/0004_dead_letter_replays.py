"""Dead-letter replays: which dead letters were re-submitted and their outcome (a second replay skips them).

Revision ID: 0004_dead_letter_replays
Revises: 0002_delivery_ledger
Create Date: 2026-01-04 00:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_dead_letter_replays"
down_revision: str | None = "0002_delivery_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create dead_letter_replays."""
    op.create_table(
        "dead_letter_replays",
        sa.Column("dead_letter_id", sa.String(160), primary_key=True),
        sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(160), nullable=True),
        sa.Column("detail", sa.String(500), nullable=True),
    )


def downgrade() -> None:
    """Drop dead_letter_replays."""
    op.drop_table("dead_letter_replays")
