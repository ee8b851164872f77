"""Audit of refused intake requests (bad, revoked or replayed credentials, scope, rate): who, when, why — never the body."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

refusal_metadata = sa.MetaData()

intake_refusals = sa.Table(
    "intake_refusals",
    refusal_metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("refused_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("http_status", sa.Integer(), nullable=False),
    sa.Column("reason", sa.String(300), nullable=False),
    sa.Column("agency", sa.String(100), nullable=True),  # authenticated agency, else the claimed X-Drive-Agency
    sa.Column("topic", sa.String(64), nullable=True),
    sa.Column("peer", sa.String(64), nullable=True),
    sa.Column("body_bytes", sa.Integer(), nullable=False),
)
sa.Index("ix_intake_refusals_refused_at", intake_refusals.c.refused_at)


def record_refusal(engine: sa.Engine, *, http_status: int, reason: str, agency: str | None, topic: str | None,
                   peer: str | None, body_bytes: int, at: datetime | None = None) -> None:
    """Append one refusal; only its size is kept of the body, so no payload or credential reaches the audit."""
    with engine.begin() as conn:
        conn.execute(intake_refusals.insert().values(
            refused_at=at or datetime.now(UTC), http_status=http_status, reason=reason[:300],
            agency=agency[:100] if agency else None, topic=topic[:64] if topic else None,
            peer=peer[:64] if peer else None, body_bytes=body_bytes))


def refusals(engine: sa.Engine) -> list[dict[str, Any]]:
    """Every recorded refusal, oldest first."""
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(sa.select(intake_refusals).order_by(intake_refusals.c.id))]
