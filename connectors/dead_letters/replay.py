"""Dead-letter tooling: list and show journaled dead letters, replay them through the intake once each.

A dead letter written since 0006 holds a description of the record in clear and its raw bytes sealed in
dead_letter_payloads; replay opens the sealed record with DRIVE_DEAD_LETTER_KEY while its retention lasts.
Older dead letters still hold their raw bytes in the record itself and replay as before.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connectors.dead_letters.store import dead_letter_replays
from connectors.filedrop.rows import CSV_TYPE
from connectors.intake.describe import DESCRIPTION_TYPE
from connectors.intake.pseudonymise import HASH_FIELD, NAME_FIELD
from connectors.intake.publisher import DEAD_LETTER_TOPIC
from connectors.intake.sealed import DeadLetterVault, SealBroken, SealedRecord
from connectors.intake.submit import Intake, IntakeOutcome, Origin
from connectors.intake.tables import intake_journal
from connectors.mappings import RowRejected, map_row
from connectors.mappings.config import FeedMapping
from runtime.db import as_utc
from schemas.jsonform import FieldError
from schemas.jsonparse import JsonRefused, parse_json

# Refused for what the record *is* (or who may send it), not for a contract or mapping fault a fix can cure.
NOT_REPLAYABLE = frozenset({"UNPARSEABLE", "NOT_ALLOWED", "TOO_LARGE", "UNKNOWN_TOPIC", "NOT_AN_OBJECT"})
_HASHED_PREFIX = "name_hash:"  # how scrub_raw writes a clear name it replaced inside raw bytes


@dataclass(frozen=True)
class StoredDeadLetter:
    """One journaled dead letter as decoded from its Avro value, with its replay record when replayed."""

    dead_letter_id: str
    connector: str
    agency: str | None
    location: str
    intended_topic: str | None
    reason: str
    errors: tuple[FieldError, ...]
    content_type: str
    raw: bytes
    refused_at: datetime
    replay_status: str | None = None

    @property
    def sealed(self) -> bool:
        """True when the raw bytes are sealed in the vault (raw holds the description)."""
        return self.content_type == DESCRIPTION_TYPE

    def summary(self) -> dict[str, Any]:
        """Everything but the raw payload (the list view)."""
        return {"dead_letter_id": self.dead_letter_id, "refused_at": self.refused_at.isoformat(),
                "connector": self.connector, "agency": self.agency, "location": self.location,
                "intended_topic": self.intended_topic, "reason": self.reason,
                "errors": [{"path": e.path, "message": e.message} for e in self.errors],
                "replayed": self.replay_status}


@dataclass(frozen=True)
class ReplayResult:
    """What replaying one dead letter did (or, in a dry run, would do)."""

    dead_letter_id: str
    status: str  # accepted | duplicate | rejected | conflict | skipped | not-replayable | would-submit
    event_id: str | None = None
    detail: str | None = None


class DeadLetterStore:
    """Reads dead letters from the intake journal and records which were replayed."""

    def __init__(self, engine: Engine, codec: Any, vault: DeadLetterVault | None = None) -> None:
        self.engine = engine
        self.codec = codec
        self.vault = vault

    def payload(self, dead: StoredDeadLetter) -> SealedRecord:
        """The raw record of a dead letter: opened from the vault, or (older dead letters) as it holds it."""
        if not dead.sealed:
            return SealedRecord(dead.raw, dead.content_type)
        if self.vault is None:
            raise Unreplayable("the raw record is sealed and no vault (DRIVE_DEAD_LETTER_KEY) is at hand")
        try:
            found = self.vault.open(dead.dead_letter_id)
        except SealBroken as broken:
            raise Unreplayable(f"the sealed raw record cannot be opened: {broken}") from broken
        if found is None:
            raise Unreplayable("the raw record was not kept (body withheld) or is past DRIVE_DEAD_LETTER_RETENTION_DAYS")
        return found

    def list(self, since: datetime | None = None, reason: str | None = None) -> list[StoredDeadLetter]:
        """Dead letters in journal order, optionally only those refused since a time or with one reason code."""
        stmt = sa.select(intake_journal.c.event_id, intake_journal.c.value).where(
            intake_journal.c.topic == DEAD_LETTER_TOPIC).order_by(intake_journal.c.seq)
        if since is not None:
            stmt = stmt.where(intake_journal.c.received_at >= since)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
            replays = dict(conn.execute(sa.select(dead_letter_replays.c.dead_letter_id,
                                                  dead_letter_replays.c.status)).all())
        found = [self._decode(bytes(row.value), replays) for row in rows]
        return [d for d in found if reason is None or d.reason == reason]

    def get(self, dead_letter_id: str) -> StoredDeadLetter | None:
        """One dead letter by id, or None."""
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(intake_journal.c.value).where(
                intake_journal.c.topic == DEAD_LETTER_TOPIC,
                intake_journal.c.event_id == dead_letter_id)).scalar_one_or_none()
            status = conn.execute(sa.select(dead_letter_replays.c.status).where(
                dead_letter_replays.c.dead_letter_id == dead_letter_id)).scalar_one_or_none()
        return None if value is None else self._decode(bytes(value), {dead_letter_id: status} if status else {})

    def record_replay(self, result: ReplayResult) -> bool:
        """Remember a replay; False when this dead letter was already recorded (another replay won)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(dead_letter_replays.insert().values(
                    dead_letter_id=result.dead_letter_id, replayed_at=datetime.now(UTC), status=result.status,
                    event_id=result.event_id, detail=(result.detail or "")[:500] or None))
            return True
        except sa.exc.IntegrityError:
            return False

    def _decode(self, value: bytes, replays: dict[str, str]) -> StoredDeadLetter:
        datum = self.codec.decode(value, DEAD_LETTER_TOPIC)
        source = datum["source"]
        return StoredDeadLetter(
            dead_letter_id=datum["dead_letter_id"], connector=source["connector"], agency=source.get("agency"),
            location=source["location"], intended_topic=datum.get("intended_topic"), reason=datum["reason"],
            errors=tuple(FieldError(e["path"], e["message"]) for e in datum.get("errors", [])),
            content_type=datum["content_type"], raw=bytes(datum["raw"]), refused_at=as_utc(datum["refused_at"]),
            replay_status=replays.get(datum["dead_letter_id"]))


class Unreplayable(ValueError):
    """This dead letter cannot be turned back into a record (the reason says why)."""


@dataclass(frozen=True)
class Resubmission:
    """The record a dead letter becomes again: topic, JSON-form record, raw bytes and content type."""

    topic: str
    record: dict[str, Any]
    raw: bytes
    content_type: str


def _rehash(record: dict[str, Any]) -> dict[str, Any]:
    """A mapped record whose person_name is the `name_hash:<hex>` scrub_raw left gets name_hash instead."""
    name = record.get(NAME_FIELD)
    if isinstance(name, str) and name.startswith(_HASHED_PREFIX):
        record = {k: v for k, v in record.items() if k != NAME_FIELD}
        record[HASH_FIELD] = name.removeprefix(_HASHED_PREFIX)
    return record


class Resubmitter:
    """Rebuilds the record of a dead letter with today's contract and feed mappings."""

    def __init__(self, mappings: Iterable[FeedMapping], filedrop_root: Path | None = None) -> None:
        self.mappings = list(mappings)
        self.filedrop_root = filedrop_root

    def rebuild(self, dead: StoredDeadLetter, store: DeadLetterStore) -> Resubmission:
        """The resubmission of a dead letter (its raw record from the store), or Unreplayable."""
        if dead.reason in NOT_REPLAYABLE:
            raise Unreplayable(f"{dead.reason} dead letters stay refused")
        if dead.intended_topic is None:
            raise Unreplayable("no intended topic")
        if any(e.path == HASH_FIELD for e in dead.errors):
            raise Unreplayable("the sender supplied name_hash itself; only hashes made at the door are trusted")
        payload = store.payload(dead)
        if dead.connector == "http":
            record = self._json_object(payload.data)
            if isinstance(record.get("records"), list):
                raise Unreplayable("a whole batch was refused; agencies re-send batches")
            return Resubmission(dead.intended_topic, record, payload.data, payload.content_type)
        mapping = self._mapping(dead)
        values = self._row_values(dead, payload)
        try:
            mapped = map_row(mapping, values)
        except RowRejected as rejected:
            raise Unreplayable("still fails the current mapping: " +
                               "; ".join(f"{e.path}: {e.message}" for e in rejected.errors[:3])) from rejected
        return Resubmission(mapping.topic, _rehash(mapped.record), payload.data, payload.content_type)

    @staticmethod
    def _json_object(raw: bytes) -> dict[str, Any]:
        try:
            value = parse_json(raw)
        except JsonRefused as refused:
            raise Unreplayable(f"raw payload is {refused}") from refused
        if not isinstance(value, dict):
            raise Unreplayable("raw payload is not a JSON object")
        return value

    def _mapping(self, dead: StoredDeadLetter) -> FeedMapping:
        if dead.connector == "filedrop":
            file_name = dead.location.partition("/")[2].rpartition("#")[0]
            found = [m for m in self.mappings if m.agency == dead.agency and m.matches_file(file_name)]
        elif dead.connector == "sqlpoll":
            table = dead.location.removeprefix("sql:").rpartition("#")[0]
            found = [m for m in self.mappings if m.agency == dead.agency and m.sql is not None and m.sql.table == table]
        else:
            raise Unreplayable(f"unknown connector {dead.connector!r}")
        if not found:
            raise Unreplayable("no current feed mapping matches where it came from")
        return found[0]

    def _row_values(self, dead: StoredDeadLetter, payload: SealedRecord) -> dict[str, Any]:
        if payload.content_type != CSV_TYPE:
            return self._json_object(payload.data)
        header = list(payload.header) or self._csv_header(dead)
        try:
            cells = next(csv.reader(io.StringIO(payload.data.decode("utf-8"))), None)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise Unreplayable("CSV row is not readable UTF-8 CSV") from exc
        if cells is None or len(cells) != len(header):
            raise Unreplayable("CSV row does not fit the file's header")
        return dict(zip(header, cells))

    def _csv_header(self, dead: StoredDeadLetter) -> list[str]:
        """The header line of the extract the row came from, read from where the file drop moved it."""
        file_name = dead.location.partition("/")[2].rpartition("#")[0]
        for folder in ("failed", "done"):
            path = self.filedrop_root / str(dead.agency) / folder / file_name if self.filedrop_root else None
            if path is not None and path.is_file():
                with path.open(encoding="utf-8-sig", newline="") as handle:
                    return [name.strip() for name in next(csv.reader(handle), [])]
        raise Unreplayable("the CSV header is needed: the extract is no longer in the file drop's failed/ or done/")


def replay(dead_letters: Iterable[StoredDeadLetter], store: DeadLetterStore, rebuild: Resubmitter,
           intake: Intake | None, dry_run: bool = False) -> list[ReplayResult]:
    """Re-submit each dead letter not replayed before through the intake (dedupe by event_id); record outcomes."""
    results = []
    for dead in dead_letters:
        if dead.replay_status is not None:
            results.append(ReplayResult(dead.dead_letter_id, "skipped", detail=f"already replayed: {dead.replay_status}"))
            continue
        try:
            again = rebuild.rebuild(dead, store)
        except Unreplayable as exc:
            results.append(ReplayResult(dead.dead_letter_id, "not-replayable", detail=str(exc)))
            continue
        if dry_run or intake is None:
            results.append(ReplayResult(dead.dead_letter_id, "would-submit", again.record.get("event_id")))
            continue
        outcome = _submit(intake, dead, again)
        result = ReplayResult(dead.dead_letter_id, outcome.status, outcome.event_id, outcome.reason)
        if not store.record_replay(result):
            result = ReplayResult(dead.dead_letter_id, "skipped", outcome.event_id, "replayed concurrently")
        results.append(result)
    if intake is not None and not dry_run:
        intake.flush()
    return results


def _submit(intake: Intake, dead: StoredDeadLetter, again: Resubmission) -> IntakeOutcome:
    origin = Origin(dead.connector, dead.agency, dead.location)
    return intake.submit(again.topic, again.record, origin, raw=again.raw, content_type=again.content_type,
                         name_hashed=HASH_FIELD in again.record)
