"""Replay guards in the database: a signed request is accepted once within its window, also across restarts."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

replay_guard_metadata = sa.MetaData()

# One row per signature seen, per scope (e.g. intake-hmac, twilio), until it expires; only a digest is kept.
replay_guards = sa.Table(
    "replay_guards",
    replay_guard_metadata,
    sa.Column("scope", sa.String(32), primary_key=True),
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)
sa.Index("ix_replay_guards_expires_at", replay_guards.c.expires_at)


class ReplayGuard:
    """first_use(token, now) is True once per token within `window_s`; durable and shared by every process."""

    def __init__(self, engine: Engine, scope: str, window_s: float) -> None:
        self.engine = engine
        self.scope = scope
        self.window = timedelta(seconds=window_s)

    def first_use(self, token: str, now: datetime) -> bool:
        """Remember the token until now + window; False when it is already remembered (a replay)."""
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
        table = replay_guards
        with self.engine.begin() as conn:
            conn.execute(table.delete().where(table.c.scope == self.scope, table.c.expires_at <= now))
        try:
            with self.engine.begin() as conn:
                conn.execute(table.insert().values(scope=self.scope, digest=digest, expires_at=now + self.window))
        except IntegrityError:
            return False
        return True
