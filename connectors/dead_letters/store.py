"""The table of dead-letter replays: which dead letters were re-submitted, when, and with what outcome."""
from __future__ import annotations

import sqlalchemy as sa

replay_metadata = sa.MetaData()

# One row per dead letter ever replayed (its id is the key), so a second replay skips it.
dead_letter_replays = sa.Table(
    "dead_letter_replays",
    replay_metadata,
    sa.Column("dead_letter_id", sa.String(160), primary_key=True),
    sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("event_id", sa.String(160), nullable=True),
    sa.Column("detail", sa.String(500), nullable=True),
)
