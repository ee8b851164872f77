"""Tables of the staff web app: its sessions and its one-time sign-in codes (hashes only, never a code or cookie)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from consumers.ledger.columns import UtcDateTime

web_metadata = sa.MetaData()
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class WebBase(DeclarativeBase):
    """Declarative base of the web app's tables."""

    metadata = web_metadata


class WebSession(WebBase):
    """One signed-in session: whose, how, since when; ended (signed out, expired, staff no longer active) or not."""

    __tablename__ = "web_sessions"
    session_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)  # sha256 of the cookie's session id
    staff_id: Mapped[str] = mapped_column(sa.String(100), index=True)
    via: Mapped[str] = mapped_column(sa.String(8))  # CODE or OIDC
    signed_in_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ended_reason: Mapped[str | None] = mapped_column(sa.String(24))


class SignInCode(WebBase):
    """A one-time sign-in code sent to a staff member's registered phone or e-mail: its keyed hash and its tries."""

    __tablename__ = "web_sign_in_codes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    staff_id: Mapped[str] = mapped_column(sa.String(100), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    channel: Mapped[str] = mapped_column(sa.String(8))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
