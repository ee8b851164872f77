"""Column type and small helpers of the ledger: aware-UTC timestamps and deterministic acknowledgement codes."""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from runtime.db import as_utc

ACK_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud and typed on a phone
ACK_CODE_LENGTH = 6


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """DateTime(timezone=True) that always hands back aware UTC (SQLite stores naive values)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the ledger; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return as_utc(value)


def ack_code_for(alert_id: str, length: int = ACK_CODE_LENGTH) -> str:
    """The deterministic acknowledgement code of an alert: `length` characters of ACK_ALPHABET."""
    number = int.from_bytes(hashlib.sha256(alert_id.encode()).digest(), "big")
    chars = []
    for _ in range(length):
        number, index = divmod(number, len(ACK_ALPHABET))
        chars.append(ACK_ALPHABET[index])
    return "".join(chars)
