"""Intake identity and hostile input: idempotency by (agency, event_id), durable replay guards, sealed dead letters.

- intake_journal: the unique key becomes (event_id, agency), so one agency's event id never blocks another's.
- replay_guards: signatures seen (HMAC intake, Twilio webhooks) until they expire, across restarts.
- dead_letter_payloads: the raw bytes of refused records, encrypted, until their retention ends.

Revision ID: 0006_intake_identity
Revises: 0005_intake_refusals
Create Date: 2026-01-06 00:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_intake_identity"
down_revision: str | None = "0005_intake_refusals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Re-key the journal; create replay_guards and dead_letter_payloads."""
    with op.batch_alter_table("intake_journal") as batch:
        batch.drop_constraint("uq_intake_journal_event_id", type_="unique")
        batch.create_unique_constraint("uq_intake_journal_event_id_agency", ["event_id", "agency"])
    op.create_table(
        "replay_guards",
        sa.Column("scope", sa.String(32), primary_key=True),
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_replay_guards_expires_at", "replay_guards", ["expires_at"])
    op.create_table(
        "dead_letter_payloads",
        sa.Column("dead_letter_id", sa.String(160), primary_key=True),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_dead_letter_payloads_expires_at", "dead_letter_payloads", ["expires_at"])


def downgrade() -> None:
    """Drop the new tables; the journal's key is event_id alone again (fails if two agencies share an id)."""
    op.drop_index("ix_dead_letter_payloads_expires_at", "dead_letter_payloads")
    op.drop_table("dead_letter_payloads")
    op.drop_index("ix_replay_guards_expires_at", "replay_guards")
    op.drop_table("replay_guards")
    with op.batch_alter_table("intake_journal") as batch:
        batch.drop_constraint("uq_intake_journal_event_id_agency", type_="unique")
        batch.create_unique_constraint("uq_intake_journal_event_id", ["event_id"])
