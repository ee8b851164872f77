"""The one path every source goes through: reduce names, validate, journal (dedupe), publish or dead-letter.

Records come parsed (the contract's bounded parser, at each connector); the contract checks them (schemas.admission).
The door adds only its own rules: a name it can hash, the sending agency, a record key its journal can hold.
"""
from __future__ import annotations

import hashlib
import queue
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from connectors.intake.codes import RefusalCode
from connectors.intake.door import Turned, check
from connectors.intake.journal import Journal, JournalEntry
from connectors.intake.metrics import count_dead_letter, count_record
from connectors.intake.outcomes import (
    UNAVAILABLE,
    IntakeOutcome,
    IntakeUnavailable,
    Origin,
    Refusal,
    Status,
    Submission,
)
from connectors.intake.pseudonymise import NameHasher
from connectors.intake.publisher import DEAD_LETTER_TOPIC, RecordPublisher, dead_letter_key
from connectors.intake.records import canonical_json, event_id_of, record_key, take_all
from connectors.intake.refused import DeadLetters, RowColumns, record_bytes
from connectors.intake.retention import Retention
from connectors.intake.sealed import DeadLetterVault, vault_for
from runtime.codec import codec_for
from runtime.settings import Settings
from schemas.catalogue import SOURCE_TOPICS
from schemas.jsonform import FieldError
from schemas.jsonvalues import Limits

log = structlog.get_logger("connectors.intake.submit")

_ID_LIKE = re.compile(r"^(?=.*\d)[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")
__all__ = ["UNAVAILABLE", "Intake", "IntakeOutcome", "IntakeUnavailable", "Origin", "Submission", "build_intake",
           "canonical_json", "intake_limits", "record_key"]


@dataclass(frozen=True)
class _Ready:
    """A record that passed every check, ready to be journaled: its row, and how to refuse it still (conflict)."""

    entry: JournalEntry
    origin: Origin
    refusal: Refusal


class Intake:
    """Validates, journals and publishes records; thread-safe (one lock: journal order = send order)."""

    def __init__(self, *, journal: Journal, publisher: RecordPublisher, hasher: NameHasher, vault: DeadLetterVault,
                 prefix: str = "drive.", retention: Retention | None = None, limits: Limits | None = None) -> None:
        self.journal = journal
        self.publisher = publisher
        self.hasher = hasher
        self.vault = vault
        self.dead_letters = DeadLetters(hasher, vault)
        self.prefix = prefix
        self.retention = retention or Retention()
        self.limits = limits or Limits()  # the event-time window around now
        self._lock = threading.RLock()
        self._inflight: set[int] = set()
        self._acked: queue.SimpleQueue[tuple[int, int, int]] = queue.SimpleQueue()
        self._failed: queue.SimpleQueue[int] = queue.SimpleQueue()

    # ------------------------------------------------------------------ public API

    def submit(self, topic: str, record: object, origin: Origin, raw: bytes | None = None,
               content_type: str = "application/json", clear_names: Iterable[str] = (),
               name_hashed: bool = False, columns: RowColumns | None = None) -> IntakeOutcome:
        """Validate one record, reduce names at the door, journal it (dedupe by agency and event_id), publish.

        A refused record becomes a dead letter (refused.py): its description in clear, its raw bytes (`raw`, else
        the record serialised) sealed. `clear_names`: names known to be in `raw`, hashed there too; `columns`: the
        row by column (file drop, SQL polling); `name_hashed`: a dead-letter replay. Raises IntakeUnavailable only
        when the database cannot be reached."""
        return self.submit_many([Submission(topic, record, origin, raw, content_type, clear_names, name_hashed,
                                            columns)])[0]

    def submit_many(self, items: Sequence[Submission | IntakeOutcome]) -> list[IntakeOutcome]:
        """Submit a batch as `submit` does each record, journaling the accepted ones in one transaction (one
        commit), then publishing them in journal order; outcomes in the order of `items`. A refused record costs
        only itself; a repeat of an event_id within the batch is a duplicate of its first (a conflict if its
        content differs). An item that is already an outcome (refused before submit) is passed through."""
        with self._lock:
            self._drain()
            outcomes: list[IntakeOutcome | None] = []
            ready: list[tuple[int, _Ready]] = []
            for item in items:
                if isinstance(item, IntakeOutcome):
                    outcomes.append(item)
                    continue
                refusal = Refusal(item.origin, item.raw if item.raw is not None else record_bytes(item.record),
                                  item.content_type, item.topic if item.topic in SOURCE_TOPICS else None,
                                  event_id_of(item.record), tuple(item.clear_names), item.columns)
                prepared = self._guarded(refusal, lambda: self._prepare(item, refusal))
                outcomes.append(prepared if isinstance(prepared, IntakeOutcome) else None)
                if isinstance(prepared, _Ready):
                    ready.append((len(outcomes) - 1, prepared))
            for index, outcome in self._journal_and_send(ready):
                outcomes[index] = outcome
            return [outcome for outcome in outcomes if outcome is not None]

    def refuse(self, origin: Origin, raw: bytes, reason: str, errors: Iterable[FieldError] = (),
               topic: str | None = None, content_type: str = "application/octet-stream",
               clear_names: Iterable[str] = (), event_id: str | None = None, code: str = RefusalCode.UNPARSEABLE,
               columns: RowColumns | None = None, size: int | None = None) -> IntakeOutcome:
        """Dead-letter a record that never parsed (bad JSON line, bad CSV row) or was refused before submit.

        `code` is the dead letter's machine-readable reason (UNPARSEABLE, NOT_ALLOWED, ...); `reason` the
        human one, kept in the dead letter's errors when no field errors are given; `size`: of a body not read.
        """
        refusal = Refusal(origin, raw, content_type, topic, event_id, tuple(clear_names), columns, size)
        with self._lock:
            self._drain()
            return self._refuse(refusal, code, reason, tuple(errors))

    def republish_pending(self, older_than: timedelta | None = None) -> int:
        """Send again every journal row not yet marked published (startup); purge expired sealed payloads."""
        with self._lock:
            self._drain()
            cutoff = datetime.now(UTC) - older_than if older_than is not None else None
            sent = 0
            for entry in self.journal.pending():
                if entry.seq not in self._inflight and (cutoff is None or entry.received_at <= cutoff):
                    if not self._send(entry):
                        break  # broker unreachable: the rest stay pending for the next attempt
                    sent += 1
            if sent:
                log.info("intake.republished", count=sent)
        self.flush()
        self.vault.purge()
        return sent

    def reseed(self, *, uncovered_only: bool = False) -> int:
        """Send journal rows again, in journal order, to an empty (restarted embedded) broker: every row that still
        has its payload, or only those whose effects the broker copy of `up` does not hold (dead letters aside)."""
        with self._lock:
            self._drain()
            if uncovered_only:
                self.journal.forget_positions()
            rows = self.journal.uncovered([DEAD_LETTER_TOPIC]) if uncovered_only else self.journal.all_in_order()
            sent = sum(1 for entry in rows if self._send(entry))
            log.info("intake.reseeded", count=sent, uncovered_only=uncovered_only)
        self.flush()
        return sent

    def flush(self) -> None:
        """Wait for every send to be acknowledged and mark those rows published."""
        self.publisher.flush()
        with self._lock:
            self._drain()

    def _guarded(self, refusal: Refusal, work: Callable[[], Any]) -> Any:
        """Run work; an unexpected failure refuses this record (dead letter, replayable) instead of a 5xx loop."""
        try:
            return work()
        except UNAVAILABLE as exc:
            raise IntakeUnavailable(f"database unavailable ({type(exc).__name__})") from exc
        except Exception as exc:  # noqa: BLE001 - one record's fault must not stop the records after it
            log.error("intake.record_failed", connector=refusal.origin.connector, agency=refusal.origin.agency,
                      topic=refusal.topic, error=type(exc).__name__)
            reason = (f"the intake could not process this record ({type(exc).__name__}); it is kept as a dead "
                      "letter for the operators")
            return self._refuse(refusal, RefusalCode.PROCESSING_FAILED, reason, (FieldError("", reason),))

    def _prepare(self, item: Submission, refusal: Refusal) -> IntakeOutcome | _Ready:
        """The journal row of a record that passes the door (door.py), else its refusal (dead-lettered now)."""
        checked = check(item.topic, item.record, item.origin, self.hasher, self.limits, name_hashed=item.name_hashed)
        if isinstance(checked, Turned):
            return self._refuse(refusal, checked.code, checked.reason, checked.errors)
        origin, topic, reduced, datum, key = item.origin, item.topic, checked.record, checked.datum, checked.key
        entry = JournalEntry(
            event_id=reduced["event_id"], topic=topic, key=key, value=self.publisher.codec.encode(topic, datum),
            content_sha256=hashlib.sha256(canonical_json(datum)).hexdigest(),
            agency=origin.agency or reduced["source"]["agency"], connector=origin.connector,
            location=origin.location[:500], received_at=datetime.now(UTC),
        )
        return _Ready(entry, origin, refusal)

    def _journal_and_send(self, ready: list[tuple[int, _Ready]]) -> list[tuple[int, IntakeOutcome]]:
        """Journal the ready rows in one transaction, publish the new ones in journal order; then refuse conflicts.
        A batch the database refuses for another reason than being unreachable is journaled row by row, so
        that the row at fault costs only itself."""
        if not ready:
            return []
        try:
            stored = self.journal.record_many([r.entry for _, r in ready])
        except UNAVAILABLE as exc:
            raise IntakeUnavailable(f"database unavailable ({type(exc).__name__})") from exc
        except Exception as exc:  # noqa: BLE001 - retried row by row below, each guarded
            log.warning("intake.batch_failed", rows=len(ready), error=type(exc).__name__)
            stored = [self._guarded(r.refusal, lambda r=r: self.journal.record(r.entry)) for _, r in ready]
        for entry in sorted((row[0] for row in stored if not isinstance(row, IntakeOutcome) and row[1]),
                            key=lambda entry: entry.seq or 0):
            self._send(entry)  # after the commit, in journal order
            self._drain()  # acks already in are marked now (a crash mid-batch then re-sends only what was not)
        return [(index, row if isinstance(row, IntakeOutcome) else self._outcome(r, *row))
                for (index, r), row in zip(ready, stored, strict=True)]

    def _outcome(self, ready: _Ready, stored: JournalEntry, created: bool) -> IntakeOutcome:
        """Accepted (sent already), a duplicate of the stored row, or a conflict with it (dead-lettered now)."""
        entry = ready.entry
        if created:
            self._log("accepted", ready.origin, entry.topic, entry.event_id)
            return IntakeOutcome("accepted", entry.event_id)
        if stored.topic == entry.topic and stored.content_sha256 == entry.content_sha256:
            self._log("duplicate", ready.origin, entry.topic, entry.event_id)
            return IntakeOutcome("duplicate", entry.event_id)
        err = FieldError("event_id", "already used by this agency for a different record")
        return self._refuse(ready.refusal, RefusalCode.EVENT_ID_CONFLICT, "event_id reused with different content",
                            (err,), "conflict")

    def _refuse(self, refusal: Refusal, code: str, reason: str, errors: tuple[FieldError, ...],
                status: Status = "rejected") -> IntakeOutcome:
        """Journal and send the DeadLetter (reason: the code; errors: the field errors, else the human reason)."""
        origin = refusal.origin
        source = {"connector": origin.connector, "agency": origin.agency, "location": origin.location[:500]}
        now = datetime.now(UTC)
        dead_letter = self.dead_letters.make(
            source=source, raw=refusal.raw, content_type=refusal.content_type, code=code,
            errors=errors or (FieldError("", reason),), topic=refusal.topic, clear_names=refusal.clear_names,
            columns=refusal.columns, withheld=refusal.withheld, now=now)
        value = self.publisher.encode_dead_letter(dead_letter)
        # Dead letters are journaled too, so a restarted embedded broker is re-seeded with them.
        entry, _ = self.journal.record(JournalEntry(
            event_id=dead_letter["dead_letter_id"], topic=DEAD_LETTER_TOPIC, key=dead_letter_key(source),
            value=value, content_sha256=hashlib.sha256(value).hexdigest(), agency=origin.agency,
            connector=origin.connector, location=source["location"], received_at=now,
        ))
        self._send(entry)
        count_dead_letter(origin.agency, code)
        self._log(status, origin, refusal.topic, refusal.event_id, code=code,
                  errors=[e["path"] for e in dead_letter["errors"]])
        return IntakeOutcome(status, refusal.event_id, errors, reason, code)

    def _send(self, entry: JournalEntry) -> bool:
        """Hand one row to the producer; False (row stays pending) when the producer refuses it."""
        try:
            future = self.publisher.publish(entry.topic, entry.key, entry.value)
        except Exception as exc:  # noqa: BLE001 - any producer failure leaves the row pending, never lost
            log.warning("intake.publish_failed", event_id=entry.event_id, topic=entry.topic, error=type(exc).__name__)
            return False
        assert entry.seq is not None
        self._inflight.add(entry.seq)
        future.add_callback(lambda meta, seq=entry.seq: self._acked.put((seq, meta.partition, meta.offset)))
        future.add_errback(lambda _exc, seq=entry.seq: self._failed.put(seq))
        return True

    def _drain(self) -> None:
        """Mark acknowledged rows published; forget failed sends (they stay pending for republish); prune now and
        then (Retention)."""
        for failed in take_all(self._failed):
            self._inflight.discard(failed)
            log.warning("intake.publish_failed", seq=failed)
        acked = take_all(self._acked)
        if acked:
            self.journal.mark_published(acked, covered=self.retention.covered_on_publish)
            self._inflight.difference_update(seq for seq, _, _ in acked)
        self.retention.maybe_prune(self.journal)

    def _log(self, status: str, origin: Origin, topic: str | None, event_id: str | None, **extra: Any) -> None:
        count_record(status, topic, origin.agency)
        if event_id is not None and status not in ("accepted", "duplicate") and not _ID_LIKE.match(event_id):
            event_id = f"#{self.hasher.fingerprint(event_id)[:8]}"  # a refused id may be anything, even a name
        log.info("intake.record", status=status, connector=origin.connector, agency=origin.agency,
                 topic=topic, event_id=event_id, **extra)


def intake_limits(settings: Settings) -> Limits:
    """The contract's event-time window as the settings give it."""
    return Limits(max_ahead=timedelta(hours=settings.intake_max_ahead_h),
                  max_age=timedelta(days=settings.intake_max_age_days))


def build_intake(settings: Settings, engine: Any, producer: Any) -> Intake:
    """The Intake of a process: journal and vault on `engine`, publisher on `producer`, codec, hasher and keys from settings."""
    prefix = settings.topic_prefix
    publisher = RecordPublisher(producer, codec_for(settings), prefix)
    return Intake(journal=Journal(engine), publisher=publisher, hasher=NameHasher(settings.name_hash_key),
                  vault=vault_for(settings, engine), prefix=prefix, retention=Retention.of(settings),
                  limits=intake_limits(settings))
