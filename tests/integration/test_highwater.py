"""True end offsets of partitions written in multi-record batches, whatever ListOffsets(latest) answers."""
from __future__ import annotations

from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition
from kafka.admin import NewTopic

from runtime.kafka import aiokafka_config, make_admin, make_producer
from streams.highwater import true_end_offsets

pytestmark = pytest.mark.integration
BATCHES = (1, 10, 100)


def write_batches(settings: Any, topic: str) -> None:
    """One partition written in batches of 1, 10 and 100 records (each batch flushed whole)."""
    admin = make_admin(settings)
    try:
        admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        admin.close()
    producer = make_producer(settings, batch_size=1 << 20, linger_ms=1000)
    try:
        for size in BATCHES:
            for n in range(size):
                producer.send(topic, key=b"k", value=str(n).encode())
            producer.flush()
    finally:
        producer.close()


async def listed_end(settings: Any, tp: TopicPartition) -> int:
    """What the broker answers to ListOffsets(latest)."""
    consumer = AIOKafkaConsumer(group_id=None, **aiokafka_config(settings))
    await consumer.start()
    try:
        return (await consumer.end_offsets([tp]))[tp]
    finally:
        await consumer.stop()


async def test_the_true_end_is_found_after_multi_record_batches(settings: Any) -> None:
    """After batches of 1, 10 and 100 records the end offset is 111, even where the broker lists another."""
    topic = settings.topic("highwater")
    write_batches(settings, topic)
    tp = TopicPartition(topic, 0)
    listed = await listed_end(settings, tp)
    ends = await true_end_offsets(aiokafka_config(settings), {(topic, 0): listed}, 100)
    assert ends == {(topic, 0): sum(BATCHES)}


async def test_empty_partitions_are_not_probed(settings: Any) -> None:
    """A listed end of 0 stays 0 without a fetch (no consumer is started for nothing)."""
    assert await true_end_offsets(aiokafka_config(settings), {("nothing-here", 0): 0}, 100) == {("nothing-here", 0): 0}
