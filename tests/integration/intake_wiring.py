"""Test wiring for the connector integration tests: a real Intake on a real database and the test broker."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from connectors.intake.submit import Intake, build_intake
from migrations import upgrade
from runtime.db import make_engine
from runtime.kafka import make_producer
from runtime.settings import Settings
from runtime.topics import ensure_topics
from schemas.catalogue import TOPICS
from schemas.codec import AvroCodec
from tests.kafka_helpers import read_topic


@contextmanager
def real_intake(settings: Settings, database_url: str, producer: Any = None) -> Iterator[Intake]:
    """An Intake journaling in database_url (migrated) and publishing to the test broker's prefixed topics."""
    upgrade(database_url)
    engine = make_engine(database_url)
    ensure_topics(settings, TOPICS.values())
    producer = producer if producer is not None else make_producer(settings)
    try:
        yield build_intake(settings, engine, producer)
    finally:
        producer.close()
        engine.dispose()


def read_records(settings: Settings, topic: str, n: int, timeout: float = 15.0) -> list[tuple[str, dict]]:
    """Up to n (key, decoded datum) pairs of a short-named topic, read with a plain kafka-python consumer."""
    codec = AvroCodec(prefix=settings.topic_prefix)
    raw = read_topic(settings.kafka_bootstrap, settings.topic(topic), n, timeout=timeout, to_end=True)
    return [(key.decode(), codec.decode(value)) for key, value, _ in raw]
