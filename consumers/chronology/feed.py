"""Ingests the streams' subject-events (kind=event) into chronology_events: coded summaries, idempotent by
(agency, event_id)."""
from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from consumers.chronology.summary import summarise
from consumers.ledger.models import ChronologyEvent
from consumers.metrics import accepted_at, accepted_times
from runtime.logging import get_logger
from runtime.settings import Settings
from schemas.codec import AvroCodec
from schemas.errors import CodecError
from schemas.events import EVENT_TYPE_ENUMS, event_from_datum
from schemas.subject_events import KIND_EVENT, header

log = get_logger(__name__)

_NOT_A_SUBJECT_EVENT = frozenset({"STAFF_UPDATED"})  # staff snapshots describe staff, not the subject


def group_id(settings: Settings) -> str:
    """The chronology consumer group; the topic prefix keeps deployments sharing a cluster apart."""
    return f"{settings.topic_prefix}chronology"


def ingest_record(session: Session, codec: AvroCodec, key: bytes | None, value: bytes | None,
                  headers: Iterable[tuple[str, Any]] | None, timestamp_ms: int | None = None) -> bool:
    """Store one subject-events record if it is an agency event not yet stored; True when a row was added."""
    entry = chronology_entry(codec, key, value, headers, timestamp_ms)
    return entry is not None and store_entry(session, entry)


def _received_at(timestamp_ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC) if timestamp_ms and timestamp_ms > 0 else None


def _expiry(details: Any) -> datetime | None:
    """The end a bail, order or licence record gives itself (None for other records)."""
    return getattr(details, "expires_at", None) or getattr(details, "licence_expires_at", None)


def chronology_entry(codec: AvroCodec, key: bytes | None, value: bytes | None,
                     headers: Iterable[tuple[str, Any]] | None, timestamp_ms: int | None = None
                     ) -> ChronologyEvent | None:
    """The chronology row of a subject-events record (decoded outside any transaction); None if not an agency event.

    Its broker timestamp, when the streams forwarded the record to the subject, stands for our intake unless the
    intake journal in the same database says when the door accepted it (store_entry).
    """
    topic = header(headers, "topic")
    if header(headers, "kind") != KIND_EVENT or key is None or value is None or topic not in EVENT_TYPE_ENUMS:
        return None
    subject_id = key.decode("utf-8")
    try:
        event = event_from_datum(topic, codec.decode(value, topic))
    except (CodecError, KeyError, ValueError) as exc:
        # The streams dead-letter bad records; here one is only counted out of the chronology.
        log.warning("chronology_record_unreadable", topic=topic, subject_id=subject_id, error=type(exc).__name__)
        return None
    if event.event_type.value in _NOT_A_SUBJECT_EVENT:
        return None
    return ChronologyEvent(event_id=event.event_id, subject_id=subject_id, topic=topic,
                           event_type=event.event_type.value, agency=event.source.agency,
                           occurred_at=event.occurred_at, recorded_at=event.recorded_at,
                           received_at=_received_at(timestamp_ms), expires_at=_expiry(event.details),
                           summary=summarise(event))


def store_entry(session: Session, entry: ChronologyEvent) -> bool:
    """Insert the row unless its agency's event is stored, with the intake's own acceptance time when the journal is
    in this database; True when added."""
    if session.get(ChronologyEvent, (entry.agency, entry.event_id)) is not None:
        return False
    entry.received_at = accepted_at(session, [entry.event_id]) or entry.received_at
    try:
        with session.begin_nested():
            session.add(entry)
            session.flush()
    except IntegrityError:  # another consumer stored it first
        return False
    return True


def store_entries(session: Session, entries: Iterable[ChronologyEvent]) -> int:
    """store_entry for a polled batch, so the database's write turn is held briefly: one query for the ids already
    stored, one for the intake's acceptance times, one insert (one by one only if another consumer raced it); rows
    added."""
    fresh: dict[tuple[str, str], ChronologyEvent] = {}
    for entry in entries:
        fresh.setdefault((entry.agency, entry.event_id), entry)
    if not fresh:
        return 0
    ids = {event_id for _, event_id in fresh}
    rows = session.execute(sa.select(ChronologyEvent.agency, ChronologyEvent.event_id)
                           .where(ChronologyEvent.event_id.in_(ids)))
    stored = {(agency, event_id) for agency, event_id in rows}
    new = [entry for key, entry in fresh.items() if key not in stored]
    if not new:
        return 0
    accepted = accepted_times(session, {entry.event_id for entry in new})
    for entry in new:
        entry.received_at = accepted.get(entry.event_id) or entry.received_at
    try:
        with session.begin_nested():
            session.add_all(new)
            session.flush()
    except IntegrityError:  # another consumer stored some of them first
        return sum(store_entry(session, entry) for entry in new)
    return len(new)


class ChronologyFeed:
    """The chronology's consumer of subject-events: commits the database, then the offsets."""

    def __init__(self, consumer: Any, sessions: sessionmaker[Session], codec: AvroCodec, poll_ms: int = 500,
                 ready: threading.Event | None = None) -> None:
        self.consumer = consumer
        self.ready = ready or threading.Event()  # set while it reads; its process's /readyz answers from it
        self.sessions = sessions
        self.codec = codec
        self.poll_ms = poll_ms
        self.added = 0

    def run(self, stop: threading.Event) -> int:
        """Consume until `stop` is set, then close the consumer; returns how many rows were added."""
        try:
            while not stop.is_set():
                self.poll_once()
        finally:
            self.consumer.close()
        log.info("chronology_consumer_stopped", added=self.added)
        return self.added

    def serve(self, stop: threading.Event) -> None:
        """The feed as its process runs it: ready while it reads. A feed that cannot read (e.g. denied its topic or
        group) must not go quiet: the error is logged, /readyz answers 503 and the process waits for `stop`."""
        self.ready.set()
        try:
            self.run(stop)
        except Exception:  # noqa: BLE001 - see docstring
            self.ready.clear()
            log.exception("chronology_feed_failed", effect="/readyz answers 503 until restarted")
            stop.wait()

    def poll_once(self) -> int:
        """One poll stored and committed; rows added."""
        batches = self.consumer.poll(timeout_ms=self.poll_ms)
        if not batches:
            return 0
        # Decoded before the transaction: on SQLite the database's write turn is shared with the other processes.
        entries = [e for records in batches.values() for r in records
                   if (e := chronology_entry(self.codec, r.key, r.value, r.headers, r.timestamp)) is not None]
        with self.sessions.begin() as session:
            added = store_entries(session, entries)
        self.consumer.commit()
        self.added += added
        return added
