"""The raw ceiling: kafka-python produce and aiokafka consume of the same events on the same broker."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from kafka.admin import NewTopic

from entrypoints.bench.data import Encoded
from entrypoints.bench.pipeline import produce
from runtime.kafka import aiokafka_config, make_admin
from runtime.settings import Settings

TOPIC = "bench-ceiling"
KAFKA_PYTHON_BATCH_SIZE = 16384  # kafka-python's default; the embedded profile's one-record batches are measured too


@dataclass(frozen=True)
class Ceiling:
    """Raw client rates over the bench's events (events/s)."""

    produce_per_s: float  # kafka-python with its own batching (acks=all, idempotent): the client's ceiling
    consume_per_s: float
    profile_produce_per_s: float  # the project's producer as configured (embedded: one record per batch)


def _create_topic(settings: Settings) -> str:
    name = settings.topic(TOPIC)
    admin = make_admin(settings)
    try:
        admin.create_topics([NewTopic(name, settings.stream_partitions, 1)])
    finally:
        admin.close()
    return name


async def _consume(settings: Settings, topic: str, count: int) -> float:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(topic, group_id=None, auto_offset_reset="earliest", enable_auto_commit=False,
                                fetch_max_wait_ms=100, **aiokafka_config(settings))
    await consumer.start()
    try:
        seen, start = 0, time.perf_counter()
        while seen < count:
            batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            seen += sum(len(b) for b in batches.values())
        return time.perf_counter() - start
    finally:
        await consumer.stop()


def measure_ceiling(settings: Settings, events: Sequence[Encoded]) -> Ceiling:
    """Produces the events to a bench topic with the project's producer, then reads them all back with aiokafka."""
    topic = _create_topic(settings)
    renamed = [Encoded(TOPIC, e.key, e.value, e.event_id) for e in events]
    produce_s = produce(settings, renamed, batch_size=KAFKA_PYTHON_BATCH_SIZE)
    profile_s = produce(settings, renamed)
    consume_s = asyncio.run(_consume(settings, topic, 2 * len(events)))
    return Ceiling(len(events) / produce_s, 2 * len(events) / consume_s, len(events) / profile_s)
