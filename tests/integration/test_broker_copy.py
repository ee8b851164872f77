"""The embedded broker's durable copy against real Tansu brokers: checkpoint one broker, restore into a fresh one."""
from __future__ import annotations

from pathlib import Path

import pytest
from kafka import TopicPartition
from kafka.structs import OffsetAndMetadata

from runtime.broker_copy import BrokerCopy, Kept
from runtime.embedded_broker import EmbeddedBroker
from runtime.kafka import make_admin, make_consumer, make_producer
from runtime.settings import Settings
from runtime.topics import ensure_topics
from schemas.catalogue import TopicSpec
from tests.kafka_helpers import read_topic

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
GROUP = "copy-test-group"
SPECS = [TopicSpec("registry", "k", "x", 2, None, True, "compacted"), TopicSpec("events", "k", "x", 2, None, False, "")]


def _settings(broker: EmbeddedBroker, tmp_path: Path) -> Settings:
    return Settings(kafka_bootstrap=broker.bootstrap, embedded_profile=True, data_dir=tmp_path, topic_prefix="c.")


def _kept(settings: Settings) -> list[Kept]:
    return [Kept(settings.topic("registry"), "compacted", 2, (GROUP,)),
            Kept(settings.topic("events"), "tail", 2, (GROUP,))]


def _commit(settings: Settings, offsets: dict[TopicPartition, int]) -> None:
    consumer = make_consumer(settings, group_id=GROUP)
    try:
        consumer.assign(list(offsets))
        consumer.commit({tp: OffsetAndMetadata(off, "", -1) for tp, off in offsets.items()})
    finally:
        consumer.close()


def _committed(settings: Settings) -> dict[TopicPartition, int]:
    admin = make_admin(settings)
    try:
        return {tp: m.offset for tp, m in (admin.list_group_offsets({GROUP: None}).get(GROUP) or {}).items()}
    finally:
        admin.close()


def test_a_checkpointed_broker_comes_back_with_latest_records_uncommitted_tails_and_offsets(tmp_path: Path) -> None:
    """Compacted topic: only the latest record per key survives; tail topic: only what the group has not committed;
    the group resumes at the same records in the fresh broker."""
    with EmbeddedBroker(port=0, log_path=tmp_path / "b1.log") as first:
        s = _settings(first, tmp_path)
        ensure_topics(s, SPECS)
        producer = make_producer(s)
        for key, value in ((b"a", b"a1"), (b"b", b"b1"), (b"a", b"a2")):
            producer.send(s.topic("registry"), key=key, value=value, partition=0)
        for n in range(6):
            producer.send(s.topic("events"), key=b"e", value=f"e{n}".encode(), partition=1, headers=[("n", b"%d" % n)])
        producer.flush()
        producer.close()
        _commit(s, {TopicPartition(s.topic("registry"), 0): 2, TopicPartition(s.topic("events"), 1): 4})
        copy = BrokerCopy(tmp_path / "copy.db", s, _kept(s), [GROUP])
        cut = copy.checkpoint()
        copy.close()
    assert cut.read_to[TopicPartition(s.topic("events"), 1)] == 6
    assert cut.committed[GROUP][TopicPartition(s.topic("events"), 1)] == 4

    with EmbeddedBroker(port=0, log_path=tmp_path / "b2.log") as second:
        s = _settings(second, tmp_path)
        ensure_topics(s, SPECS)
        copy = BrokerCopy(tmp_path / "copy.db", s, _kept(s), [GROUP])
        assert copy.restore() == 2 + 2  # a2 and b1; e4 and e5
        registry = read_topic(s.kafka_bootstrap, s.topic("registry"), 2, 10.0)
        events = read_topic(s.kafka_bootstrap, s.topic("events"), 2, 10.0)
        assert sorted(value for _, value, _ in registry) == [b"a2", b"b1"]
        assert [value for _, value, _ in events] == [b"e4", b"e5"]
        assert [dict(headers)["n"] for _, _, headers in events] == [b"4", b"5"]
        committed = _committed(s)
        # registry: b1 (old offset 1) and a2 (old 2) are new offsets 0 and 1; committed 2 -> 1 (a2 not yet read)
        assert committed[TopicPartition(s.topic("registry"), 0)] == 1
        assert committed[TopicPartition(s.topic("events"), 1)] == 0
        again = copy.checkpoint()  # the copy now numbers as the fresh broker does
        assert again.records == 0 and again.read_to[TopicPartition(s.topic("events"), 1)] == 2
        copy.close()
