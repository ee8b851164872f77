"""Ingests the streams' subject-events (kind=event) into chronology_events: coded summaries, idempotent by event_id."""
from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from consumers.chronology.summary import summarise
from consumers.ledger.models import ChronologyEvent
from runtime.codec import codec_for
from runtime.logging import get_logger
from schemas.codec import AvroCodec
from schemas.errors import CodecError
from schemas.events import EVENT_TYPE_ENUMS, event_from_datum

log = get_logger(__name__)

SUBJECT_EVENTS = "subject-events"  # the streams' internal topic (schemas.subject_events.SUBJECT_EVENTS)
_NOT_A_SUBJECT_EVENT = frozenset({"STAFF_UPDATED"})  # staff snapshots describe staff, not the subject


def group_id(settings: Any) -> str:
    """The chronology consumer group; the topic prefix keeps deployments sharing a cluster apart."""
    return f"{settings.topic_prefix}chronology"


def _header(headers: Iterable[tuple[str, Any]] | None, name: str) -> str | None:
    found = None
    for key, value in headers or ():
        if key == name:
            found = value.decode() if isinstance(value, bytes | bytearray) else str(value)
    return found


def ingest_record(session: Session, codec: AvroCodec, key: bytes | None, value: bytes | None,
                  headers: Iterable[tuple[str, Any]] | None) -> bool:
    """Store one subject-events record if it is an agency event not yet stored; True when a row was added."""
    entry = chronology_entry(codec, key, value, headers)
    return entry is not None and store_entry(session, entry)


def chronology_entry(codec: AvroCodec, key: bytes | None, value: bytes | None,
                     headers: Iterable[tuple[str, Any]] | None) -> ChronologyEvent | None:
    """The chronology row of a subject-events record (decoded outside any transaction); None if not an agency event."""
    topic = _header(headers, "topic")
    if _header(headers, "kind") != "event" or key is None or value is None or topic not in EVENT_TYPE_ENUMS:
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
                           occurred_at=event.occurred_at, recorded_at=event.recorded_at, summary=summarise(event))


def store_entry(session: Session, entry: ChronologyEvent) -> bool:
    """Insert the row unless its event_id is stored; True when added."""
    if session.get(ChronologyEvent, entry.event_id) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(entry)
            session.flush()
    except IntegrityError:  # another consumer stored it first
        return False
    return True


def consume(settings: Any, stop: threading.Event, *, engine: sa.Engine | None = None,
            poll_ms: int = 500) -> int:
    """Run the standalone chronology consumer until `stop` is set; commits the DB, then the offsets."""
    from runtime.db import make_engine
    from runtime.kafka import make_consumer

    own_engine = engine is None
    engine = engine or make_engine(settings.resolved_database_url)
    codec = codec_for(settings)
    consumer = make_consumer(settings, settings.topic(SUBJECT_EVENTS), group_id=group_id(settings))
    factory = sessionmaker(engine)
    added = 0
    try:
        while not stop.is_set():
            batches = consumer.poll(timeout_ms=poll_ms)
            if not batches:
                continue
            # Decoded before the transaction: on SQLite the write turn is shared with the dispatcher's other threads.
            entries = [e for records in batches.values() for r in records
                       if (e := chronology_entry(codec, r.key, r.value, r.headers)) is not None]
            with factory.begin() as session:
                added += sum(store_entry(session, entry) for entry in entries)
            consumer.commit()
    finally:
        consumer.close()
        if own_engine:
            engine.dispose()
    log.info("chronology_consumer_stopped", added=added)
    return added
