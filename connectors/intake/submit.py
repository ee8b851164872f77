"""The one path every source goes through: reduce names, validate, journal (dedupe), publish or dead-letter."""
from __future__ import annotations

import hashlib
import json
import queue
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import structlog

from connectors.intake.journal import Journal, JournalEntry
from connectors.intake.metrics import count_dead_letter, count_record
from connectors.intake.pseudonymise import NameHasher, reduce_record, scrub_raw
from connectors.intake.publisher import DEAD_LETTER_TOPIC, RecordPublisher, dead_letter_key
from runtime.codec import codec_for
from runtime.settings import Settings
from schemas.admission import UNKNOWN_TOPIC, Refused, admit, summary
from schemas.catalogue import NO_PERSON_EVENT_TYPES
from schemas.jsonform import FieldError

log = structlog.get_logger("connectors.intake.submit")

Status = Literal["accepted", "duplicate", "rejected", "conflict"]


@dataclass(frozen=True)
class Origin:
    """Where a record came from (goes into dead letters and the journal)."""

    connector: str  # "http" | "filedrop" | "sqlpoll"
    agency: str | None
    location: str  # e.g. "POST /v1/topics/incident/events#3", "met/incoming/custody.csv#row=17"


@dataclass(frozen=True)
class IntakeOutcome:
    """What happened to one submitted record."""

    status: Status
    event_id: str | None
    errors: tuple[FieldError, ...] = ()
    reason: str | None = None


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON of a datum (sorted keys; datetimes as UTC ISO; bytes as hex) for content hashes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=_canonical_default).encode("utf-8")


def _canonical_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).isoformat(timespec="milliseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"cannot canonicalise {type(value).__name__}")


def record_key(topic: str, record: dict[str, Any]) -> str:
    """Kafka key of a valid JSON-form record: SCHEME:value of the first person id; case: subject or staff."""
    if topic == "case":
        details = record["details"]
        if record["event_type"] in NO_PERSON_EVENT_TYPES:
            return f"staff:{details['staff_id']}"
        return str(details["subject_id"])
    first = record["person_ids"][0]
    return f"{first['scheme']}:{first['value']}"


def _event_id_of(record: object) -> str | None:
    event_id = record.get("event_id") if isinstance(record, dict) else None
    return event_id if isinstance(event_id, str) else None


class Intake:
    """Validates, journals and publishes records; thread-safe (one lock: journal order = send order)."""

    def __init__(self, *, journal: Journal, publisher: RecordPublisher, hasher: NameHasher, prefix: str = "drive.") -> None:
        self.journal = journal
        self.publisher = publisher
        self.hasher = hasher
        self.prefix = prefix
        self._lock = threading.RLock()
        self._inflight: set[str] = set()
        self._acked: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._failed: queue.SimpleQueue[str] = queue.SimpleQueue()

    # ------------------------------------------------------------------ public API

    def submit(self, topic: str, record: object, origin: Origin, raw: bytes | None = None,
               content_type: str = "application/json", clear_names: Iterable[str] = (),
               name_hashed: bool = False) -> IntakeOutcome:
        """Validate one record, reduce names at the door, journal it (dedupe by event_id), publish it.

        Refused records go to the dead-letter topic with their origin, raw payload (names hashed,
        see pseudonymise.scrub_raw; without `raw` the name-reduced record as JSON) and reason.
        `clear_names`: clear names the caller knows are in `raw` (e.g. a CSV name column), to be hashed there too.
        `name_hashed`: the record already carries name_hash (a dead-letter replay: names were hashed at the door).
        """
        with self._lock:
            self._drain()
            event_id = _event_id_of(record)
            reduced = reduce_record(record, self.hasher) if isinstance(record, dict) else record
            dead_raw = (scrub_raw(raw, self.hasher, clear_names) if raw is not None
                        else scrub_raw(canonical_json(reduced), self.hasher, clear_names))

            def refuse(code: str, errors: tuple[FieldError, ...], reason: str, status: Status = "rejected",
                       intended: str | None = topic) -> IntakeOutcome:
                return self._refuse(origin, dead_raw, code, reason, errors, intended, content_type, status, event_id)

            try:
                datum = admit(topic, record, reduced, name_hashed=name_hashed)
            except Refused as refused:
                return refuse(refused.code, refused.errors, refused.reason,
                              intended=None if refused.code == UNKNOWN_TOPIC else topic)
            sent_by = reduced["source"]["agency"]
            if origin.agency is not None and sent_by != origin.agency:
                err = FieldError("source.agency", f"must be the sending agency {origin.agency!r}")
                return refuse("AGENCY_MISMATCH", (err,), summary([err]))
            return self._journal_and_send(topic, reduced, datum, origin, refuse)

    def refuse(self, origin: Origin, raw: bytes, reason: str, errors: Iterable[FieldError] = (),
               topic: str | None = None, content_type: str = "application/octet-stream",
               clear_names: Iterable[str] = (), event_id: str | None = None, code: str = "UNPARSEABLE") -> IntakeOutcome:
        """Dead-letter a record that never parsed (bad JSON line, bad CSV row) or was refused before submit.

        `code` is the dead letter's machine-readable reason (UNPARSEABLE, NOT_ALLOWED, ...); `reason` the
        human one, kept in the dead letter's errors when no field errors are given.
        """
        with self._lock:
            self._drain()
            dead_raw = scrub_raw(raw, self.hasher, clear_names)
            return self._refuse(origin, dead_raw, code, reason, tuple(errors), topic, content_type, "rejected", event_id)

    def republish_pending(self, older_than: timedelta | None = None) -> int:
        """Send again every journal row not yet marked published (startup); returns how many were sent."""
        with self._lock:
            self._drain()
            cutoff = datetime.now(UTC) - older_than if older_than is not None else None
            sent = 0
            for entry in self.journal.pending():
                if entry.event_id in self._inflight or (cutoff is not None and entry.received_at > cutoff):
                    continue
                if not self._send(entry):
                    break  # broker unreachable: the rest stay pending for the next attempt
                sent += 1
            if sent:
                log.info("intake.republished", count=sent)
        self.flush()
        return sent

    def reseed_all(self) -> int:
        """Send every journal row again, in journal order, to an empty (restarted embedded) broker."""
        with self._lock:
            self._drain()
            sent = sum(1 for entry in self.journal.all_in_order() if self._send(entry))
            log.info("intake.reseeded", count=sent)
        self.flush()
        return sent

    def flush(self) -> None:
        """Wait for every send to be acknowledged and mark those rows published."""
        self.publisher.flush()
        with self._lock:
            self._drain()

    # ------------------------------------------------------------------ internals

    def _journal_and_send(self, topic: str, record: dict[str, Any], datum: Any, origin: Origin, refuse: Any) -> IntakeOutcome:
        event_id = record["event_id"]
        entry = JournalEntry(
            event_id=event_id, topic=topic, key=record_key(topic, record),
            value=self.publisher.codec.encode(topic, datum),
            content_sha256=hashlib.sha256(canonical_json(datum)).hexdigest(),
            agency=origin.agency, connector=origin.connector, location=origin.location,
            received_at=datetime.now(UTC),
        )
        stored, created = self.journal.record(entry)
        if not created:
            if stored.topic == topic and stored.content_sha256 == entry.content_sha256:
                self._log("duplicate", origin, topic, event_id)
                return IntakeOutcome("duplicate", event_id)
            err = FieldError("event_id", "already used by a different record")
            return refuse("EVENT_ID_CONFLICT", (err,), f"event_id {event_id!r} reused with different content", "conflict")
        self._send(stored)
        self._log("accepted", origin, topic, event_id)
        return IntakeOutcome("accepted", event_id)

    def _refuse(self, origin: Origin, raw: bytes, code: str, reason: str, errors: tuple[FieldError, ...],
                topic: str | None, content_type: str, status: Status, event_id: str | None) -> IntakeOutcome:
        """Journal and send a DeadLetter (reason: the code; errors: the field errors, else the human reason)."""
        source = {"connector": origin.connector, "agency": origin.agency, "location": origin.location}
        dead_letter = {
            "dead_letter_id": f"dl-{uuid.uuid4().hex}",
            "source": source,
            "intended_topic": topic,
            "raw": raw,
            "content_type": content_type,
            "reason": code,
            "errors": [{"path": e.path, "message": e.message} for e in errors or (FieldError("", reason),)],
            "refused_at": datetime.now(UTC),
        }
        value = self.publisher.encode_dead_letter(dead_letter)
        # Dead letters are journaled too, so a restarted embedded broker is re-seeded with them.
        entry, _ = self.journal.record(JournalEntry(
            event_id=dead_letter["dead_letter_id"], topic=DEAD_LETTER_TOPIC, key=dead_letter_key(source),
            value=value, content_sha256=hashlib.sha256(value).hexdigest(), agency=origin.agency,
            connector=origin.connector, location=origin.location, received_at=dead_letter["refused_at"],
        ))
        self._send(entry)
        count_dead_letter(origin.agency, code)
        self._log(status, origin, topic, event_id, code=code, errors=[e.path for e in errors])
        return IntakeOutcome(status, event_id, errors, reason)

    def _send(self, entry: JournalEntry) -> bool:
        """Hand one row to the producer; False (row stays pending) when the producer refuses it."""
        try:
            future = self.publisher.publish(entry.topic, entry.key, entry.value)
        except Exception as exc:  # noqa: BLE001 - any producer failure leaves the row pending, never lost
            log.warning("intake.publish_failed", event_id=entry.event_id, topic=entry.topic, error=type(exc).__name__)
            return False
        self._inflight.add(entry.event_id)
        future.add_callback(lambda _meta, eid=entry.event_id: self._acked.put(eid))
        future.add_errback(lambda _exc, eid=entry.event_id: self._failed.put(eid))
        return True

    def _drain(self) -> None:
        """Mark acknowledged rows published; forget failed sends (they stay pending for republish)."""
        acked: list[str] = []
        while True:
            try:
                acked.append(self._acked.get_nowait())
            except queue.Empty:
                break
        while True:
            try:
                failed = self._failed.get_nowait()
            except queue.Empty:
                break
            self._inflight.discard(failed)
            log.warning("intake.publish_failed", event_id=failed)
        if acked:
            self.journal.mark_published(acked)
            self._inflight.difference_update(acked)

    @staticmethod
    def _log(status: str, origin: Origin, topic: str | None, event_id: str | None, **extra: Any) -> None:
        count_record(status, topic, origin.agency)
        log.info("intake.record", status=status, connector=origin.connector, agency=origin.agency,
                 topic=topic, event_id=event_id, **extra)


def build_intake(settings: Settings, engine: Any, producer: Any) -> Intake:
    """The Intake of a process: journal on `engine`, publisher on `producer`, codec and hasher from settings."""

    prefix = settings.topic_prefix
    publisher = RecordPublisher(producer, codec_for(settings), prefix)
    return Intake(journal=Journal(engine), publisher=publisher, hasher=NameHasher(settings.name_hash_key), prefix=prefix)
