"""The intake's words: where a record came from, a record to submit, what happened to it, when the intake is down."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa

from connectors.intake.refused import RowColumns
from schemas.jsonform import FieldError

Status = Literal["accepted", "duplicate", "rejected", "conflict"]
# Failures that mean the intake cannot work now (database unreachable or locked): a 503, never a refusal.
UNAVAILABLE = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.DisconnectionError, sa.exc.TimeoutError)


class IntakeUnavailable(RuntimeError):
    """The intake cannot take records now (its database is unreachable); the caller should retry later."""


@dataclass(frozen=True)
class Origin:
    """Where a record came from (goes into dead letters and the journal)."""

    connector: str  # "http" | "filedrop" | "sqlpoll"
    agency: str | None
    location: str  # e.g. "POST /v1/topics/incident/events#3", "met/incoming/custody.csv#row=17"


@dataclass(frozen=True)
class IntakeOutcome:
    """What happened to one submitted record: status, machine reason code and field errors when refused."""

    status: Status
    event_id: str | None
    errors: tuple[FieldError, ...] = ()
    reason: str | None = None
    code: str | None = None


@dataclass(frozen=True)
class Submission:
    """One parsed record for Intake.submit_many, with what Intake.submit takes beside it."""

    topic: str
    record: object
    origin: Origin
    raw: bytes | None = None
    content_type: str = "application/json"
    clear_names: Iterable[str] = ()
    name_hashed: bool = False
    columns: RowColumns | None = None


@dataclass(frozen=True)
class Refusal:
    """How to dead-letter the record being submitted, should it be refused."""

    origin: Origin
    raw: bytes
    content_type: str
    topic: str | None
    event_id: str | None
    clear_names: tuple[str, ...]
    columns: RowColumns | None
    withheld: int | None = None  # a body not read (too large): only its size is known
