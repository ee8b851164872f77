"""Chronology ingestion from the real subject-events topic, and delivery events published on the real broker."""
from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from consumers.acks.webhooks import publisher_of
from consumers.chronology.feed import ChronologyFeed, group_id
from consumers.delivery.events import DeliveryPublisher
from consumers.ledger.models import ChronologyEvent
from migrations import upgrade
from runtime.codec import codec_for
from runtime.db import make_engine
from runtime.kafka import make_consumer, make_producer
from runtime.topics import ensure_topics
from schemas.catalogue import TOPICS
from schemas.enums import Channel, DeliveryKind
from schemas.events import DeliveryEvent
from schemas.jsonform import from_json
from schemas.subject_events import SUBJECT_EVENTS
from tests.kafka_helpers import read_topic
from tests.samples.events import sample

pytestmark = pytest.mark.integration


def test_feed_consumes_subject_events_idempotently(settings: Any, sqlite_url: str) -> None:
    """kind=event records become chronology rows once each; ticks and possible matches are skipped."""
    settings = settings.model_copy(update={"database_url": sqlite_url})
    upgrade(sqlite_url)
    codec = codec_for(settings)
    topic = settings.topic(SUBJECT_EVENTS)
    producer = make_producer(settings)
    bail = codec.encode("bail", from_json("bail", sample("bail", "BAIL_GRANTED")))
    court = codec.encode("court", from_json("court", sample("court", "WARRANT_ISSUED")))
    for value, kind, origin in ((bail, b"event", b"bail"), (bail, b"event", b"bail"),
                                (court, b"possible_match", b"court"), (court, b"event", b"court")):
        producer.send(topic, key=b"DRV-000123", value=value, headers=[("kind", kind), ("topic", origin)])
    producer.send(topic, key=None, value=b"", headers=[("kind", b"tick"), ("now", b"2026-11-22T10:00:00+00:00")])
    producer.flush()
    producer.close()
    engine = make_engine(sqlite_url)
    stop = threading.Event()
    feed = ChronologyFeed(make_consumer(settings, topic, group_id=group_id(settings)), sessionmaker(engine), codec,
                          poll_ms=200)
    worker = threading.Thread(target=feed.run, args=(stop,))
    worker.start()
    try:
        deadline = datetime.now(UTC).timestamp() + 30
        while datetime.now(UTC).timestamp() < deadline:
            with Session(engine) as session:
                if session.scalar(sa.select(sa.func.count()).select_from(ChronologyEvent)) >= 2:
                    break
            stop.wait(0.2)
    finally:
        stop.set()
        worker.join(timeout=30)
    with Session(engine) as session:
        rows = session.scalars(sa.select(ChronologyEvent).order_by(ChronologyEvent.event_type)).all()
        assert [(r.subject_id, r.event_type, r.topic) for r in rows] == [
            ("DRV-000123", "BAIL_GRANTED", "bail"), ("DRV-000123", "WARRANT_ISSUED", "court")]
    engine.dispose()


def test_ack_events_are_published_on_the_delivery_topic(settings: Any) -> None:
    """The webhooks' publish function sends DeliveryEvents through the real publisher, keyed by alert id."""
    ensure_topics(settings, [TOPICS["delivery"]])
    publisher = DeliveryPublisher.from_settings(settings)
    at = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    event = DeliveryEvent(delivery_event_id="ack-1", alert_id="alt-1", kind=DeliveryKind.ACKNOWLEDGED,
                          staff_id="staff-cm-01", channel=Channel.SMS, at=at, code="SMS")
    try:
        publisher_of(publisher)([event])
    finally:
        publisher.close()
    records = read_topic(settings.kafka_bootstrap, settings.topic("delivery"), 1)
    assert len(records) == 1 and records[0][0] == b"alt-1"
    decoded = DeliveryEvent.from_datum(codec_for(settings).decode(records[0][1], "delivery"))
    assert decoded == event
