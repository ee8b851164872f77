"""Sealed raw input: a refused record's bytes kept only encrypted (Fernet, DRIVE_DEAD_LETTER_KEY), for a retention."""
from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
import structlog
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from runtime.settings import DEV_DEAD_LETTER_KEY, Settings

log = structlog.get_logger("connectors.intake.sealed")

SEALED_SUFFIX = ".sealed"
_CHUNK = 1 << 20  # a sealed file is one Fernet token per MiB line, so files of any size stream
_warned = False

sealed_metadata = sa.MetaData()

# The sealed raw record of a dead letter; a row is deleted once expires_at has passed (then only the description stays).
dead_letter_payloads = sa.Table(
    "dead_letter_payloads",
    sealed_metadata,
    sa.Column("dead_letter_id", sa.String(160), primary_key=True),
    sa.Column("sealed", sa.LargeBinary(), nullable=False),
    sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)
sa.Index("ix_dead_letter_payloads_expires_at", dead_letter_payloads.c.expires_at)


class SealBroken(ValueError):
    """Sealed bytes that this key cannot open (another key, or damaged)."""


class Sealer:
    """Authenticated encryption (Fernet: AES-128-CBC + HMAC-SHA256) under a key derived from a secret by HKDF."""

    __slots__ = ("_fernet",)

    def __init__(self, secret: str | bytes | SecretStr) -> None:
        if isinstance(secret, SecretStr):
            secret = secret.get_secret_value()
        material = secret.encode("utf-8") if isinstance(secret, str) else secret
        if not material:
            raise ValueError("the dead-letter key must not be empty")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"drive-alerts dead letters v1").derive(material)
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, data: bytes) -> bytes:
        """The sealed token of the bytes."""
        return self._fernet.encrypt(data)

    def open(self, token: bytes) -> bytes:
        """The bytes of a sealed token; SealBroken when this key did not seal it."""
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            raise SealBroken("sealed with another DRIVE_DEAD_LETTER_KEY, or damaged") from None

    def seal_file(self, source: Path, target: Path) -> None:
        """Write source's bytes (never through a symlink) sealed to target via a temporary file, a token per MiB line."""
        temporary = target.with_name(f".{target.name}.tmp")
        fd = os.open(source, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as reader, temporary.open("wb") as writer:
            while chunk := reader.read(_CHUNK):
                writer.write(self.seal(chunk) + b"\n")
            writer.flush()
            os.fsync(writer.fileno())
        os.replace(temporary, target)

    def open_file(self, path: Path) -> Iterator[bytes]:
        """The clear bytes of a sealed file, chunk by chunk."""
        with path.open("rb") as reader:
            for line in reader:
                if line.strip():
                    yield self.open(line.strip())

    def __repr__(self) -> str:
        return "Sealer(key=***)"


def sealer_for(settings: Settings) -> Sealer:
    """The sealer of DRIVE_DEAD_LETTER_KEY; the development default is used with a warning (once)."""
    global _warned
    if settings.dead_letter_key.get_secret_value() == DEV_DEAD_LETTER_KEY and not _warned:
        log.warning("dead_letter_key_is_development_default", setting="DRIVE_DEAD_LETTER_KEY")
        _warned = True
    return Sealer(settings.dead_letter_key)


@dataclass(frozen=True)
class SealedRecord:
    """What a dead letter keeps sealed: the record's raw bytes, their media type, and a CSV row's header."""

    data: bytes
    content_type: str
    header: tuple[str, ...] = ()

    def to_bytes(self) -> bytes:
        return json.dumps({"content_type": self.content_type, "header": list(self.header),
                           "data": base64.b64encode(self.data).decode("ascii")}).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> SealedRecord:
        value = json.loads(data)
        return cls(base64.b64decode(value["data"]), value["content_type"], tuple(value.get("header") or ()))


class DeadLetterVault:
    """Sealed records of dead letters in the database, each until its retention ends."""

    def __init__(self, engine: Engine, sealer: Sealer, retention_days: float) -> None:
        self.engine = engine
        self.sealer = sealer
        self.retention = timedelta(days=retention_days)

    def keep(self, dead_letter_id: str, record: SealedRecord, now: datetime) -> datetime:
        """Store the record sealed; returns when it expires."""
        expires = now + self.retention
        try:
            with self.engine.begin() as conn:
                conn.execute(dead_letter_payloads.insert().values(
                    dead_letter_id=dead_letter_id, sealed=self.sealer.seal(record.to_bytes()), sealed_at=now,
                    expires_at=expires))
        except IntegrityError:
            pass  # kept already (the same dead letter written twice)
        return expires

    def open(self, dead_letter_id: str, now: datetime | None = None) -> SealedRecord | None:
        """The sealed record of a dead letter; None when none was kept or it expired; SealBroken for another key."""
        now = now or datetime.now(UTC)
        table = dead_letter_payloads
        with self.engine.connect() as conn:
            sealed = conn.execute(sa.select(table.c.sealed).where(
                table.c.dead_letter_id == dead_letter_id, table.c.expires_at > now)).scalar_one_or_none()
        return None if sealed is None else SealedRecord.from_bytes(self.sealer.open(bytes(sealed)))

    def purge(self, now: datetime | None = None) -> int:
        """Delete every sealed record past its retention; returns how many."""
        with self.engine.begin() as conn:
            deleted = conn.execute(dead_letter_payloads.delete().where(
                dead_letter_payloads.c.expires_at <= (now or datetime.now(UTC)))).rowcount
        if deleted:
            log.info("dead_letter_payloads_purged", count=deleted)
        return deleted


def vault_for(settings: Settings, engine: Engine) -> DeadLetterVault:
    """The vault of a process: its database, DRIVE_DEAD_LETTER_KEY and DRIVE_DEAD_LETTER_RETENTION_DAYS."""
    return DeadLetterVault(engine, sealer_for(settings), settings.dead_letter_retention_days)


def purge_sealed_files(folder: Path, retention_days: float, now: float) -> int:
    """Delete sealed files in a folder older than the retention (by modification time); returns how many."""
    removed = 0
    for path in folder.glob(f"*{SEALED_SUFFIX}*"):
        if path.is_file() and not path.is_symlink() and now - path.stat().st_mtime > retention_days * 86400:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
