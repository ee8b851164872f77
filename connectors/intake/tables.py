"""SQLAlchemy Core tables of the connectors: the intake journal and the SQL-polling watermarks."""
from __future__ import annotations

import sqlalchemy as sa

connector_metadata = sa.MetaData()

# seq is the surrogate primary key: it gives the durable journal order (re-seeding a fresh broker
# replays rows in seq order); (event_id, agency) is the idempotency key: each agency owns its event ids.
# kafka_partition/kafka_offset: where the broker acknowledged the row; covered_at: since when its effects are
# durable without it (against a cluster: published; embedded: processed and in the broker copy); erased_at: its
# payload (value, key, location) is gone, only the idempotency key and the content hash remain.
intake_journal = sa.Table(
    "intake_journal",
    connector_metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(160), nullable=False),
    sa.Column("topic", sa.String(64), nullable=False),
    sa.Column("key", sa.String(300), nullable=False),
    sa.Column("value", sa.LargeBinary(), nullable=True),
    sa.Column("content_sha256", sa.String(64), nullable=False),
    sa.Column("agency", sa.String(100), nullable=True),
    sa.Column("connector", sa.String(32), nullable=False),
    sa.Column("location", sa.String(500), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("kafka_partition", sa.Integer(), nullable=True),
    sa.Column("kafka_offset", sa.BigInteger(), nullable=True),
    sa.Column("covered_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
    sa.UniqueConstraint("event_id", "agency", name="uq_intake_journal_event_id_agency"),
)
sa.Index("ix_intake_journal_unpublished", intake_journal.c.published_at, intake_journal.c.seq)
sa.Index("ix_intake_journal_position", intake_journal.c.topic, intake_journal.c.kafka_partition,
         intake_journal.c.kafka_offset)
sa.Index("ix_intake_journal_covered", intake_journal.c.covered_at)

sqlpoll_watermarks = sa.Table(
    "sqlpoll_watermarks",
    connector_metadata,
    sa.Column("source", sa.String(200), primary_key=True),
    sa.Column("last_value", sa.Text(), nullable=True),
    sa.Column("last_key", sa.Text(), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
