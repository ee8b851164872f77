"""The chronology keys an agency record by (agency, event_id), as the intake journal does: each agency numbers its
own events, so another agency's record with the same id is its own row, not a repeat.

Revision ID: 0010_chronology_per_agency
Revises: 0009_staff_web
Create Date: 2026-12-01 00:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010_chronology_per_agency"
down_revision: str | None = "0009_staff_web"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _primary_key(columns: list[str], old: str, new: str) -> None:
    if op.get_bind().dialect.name == "sqlite":  # SQLite cannot alter a primary key: the table is rebuilt
        with op.batch_alter_table("chronology_events", recreate="always") as batch:
            batch.create_primary_key(new, columns)
        return
    op.drop_constraint(old, "chronology_events", type_="primary")
    op.create_primary_key(new, "chronology_events", columns)


def upgrade() -> None:
    """Primary key (agency, event_id) instead of event_id."""
    _primary_key(["agency", "event_id"], "chronology_events_pkey", "pk_chronology_events")


def downgrade() -> None:
    """Primary key event_id again (fails if two agencies' records share an id: remove one first)."""
    _primary_key(["event_id"], "pk_chronology_events", "chronology_events_pkey")
