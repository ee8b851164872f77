"""Test helper: read back the raw records of a topic with a plain kafka-python consumer (no group)."""
from __future__ import annotations

import time
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from runtime.kafka import read_to_end

Record = tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]


def read_topic(bootstrap: str, topic: str, n: int, timeout: float = 15.0, *, to_end: bool = False,
               **config: Any) -> list[Record]:
    """Read up to n records of `topic` from the beginning of every partition as (key, value, headers).

    Returns fewer than n when the timeout passes first, so callers assert on the length. Records of one
    partition come in offset order; partitions are interleaved as fetched. `to_end`: stop as soon as every
    partition is read to the end offsets found at the start — only for callers that flushed their producer.
    """
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             allow_auto_create_topics=False, **config)
    try:
        deadline = time.monotonic() + timeout
        partitions = _wait_for_partitions(consumer, topic, deadline)
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions) if to_end else None
        records: list[Record] = []
        while len(records) < n and time.monotonic() < deadline:
            if ends is not None and all(read_to_end(consumer, tp, ends[tp]) for tp in partitions):
                break
            batches = consumer.poll(timeout_ms=200, max_records=n - len(records))
            for batch in batches.values():
                records.extend((r.key, r.value, list(r.headers or [])) for r in batch)
        return records[:n]
    finally:
        consumer.close()


def _wait_for_partitions(consumer: KafkaConsumer, topic: str, deadline: float) -> list[TopicPartition]:
    """The topic's partitions, waiting for the metadata to name them (the topic may be brand new)."""
    while True:
        found = consumer.partitions_for_topic(topic)
        if found:
            return [TopicPartition(topic, p) for p in sorted(found)]
        if time.monotonic() >= deadline:
            raise AssertionError(f"topic {topic!r} has no partitions (does it exist?)")
        time.sleep(0.2)
