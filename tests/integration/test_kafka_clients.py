"""The Kafka client factory and topic provisioning against the real embedded broker."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from kafka import TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType

from entrypoints import cli
from runtime.kafka import broker_for, make_admin, make_consumer, make_producer
from runtime.topics import apply_with, ensure_topics, plan_with
from schemas.catalogue import TOPICS
from streams.app import internal_topic_specs
from tests.kafka_helpers import read_topic

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Spec:
    """A topic spec of the catalogue's shape, for provisioning tests."""

    short_name: str
    partitions: int
    retention_ms: int | None
    compacted: bool


def _topic_configs(settings, name: str) -> dict[str, str]:
    admin = make_admin(settings)
    try:
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)], config_filter="all")
    finally:
        admin.close()
    return {key: entry["value"] for key, entry in described["topic"][name].items()}


def _partition_counts(settings, names: list[str]) -> dict[str, int]:
    admin = make_admin(settings)
    try:
        return {t["name"]: len(t["partitions"]) for t in admin.describe_topics(names)}
    finally:
        admin.close()


def test_producer_to_group_consumer_round_trip(settings):
    """Bytes sent by make_producer come back unchanged through a make_consumer group subscription."""
    ensure_topics(settings, [Spec("roundtrip", 2, None, False)])
    topic = settings.topic("roundtrip")
    producer = make_producer(settings)
    sent = {f"key-{i}".encode(): f"value-{i}".encode() for i in range(20)}
    for key, value in sent.items():
        producer.send(topic, key=key, value=value, headers=[("event-id", key)])
    producer.flush()
    producer.close()

    consumer = make_consumer(settings, topic, group_id=f"g-{uuid.uuid4().hex[:6]}")
    received = {}
    try:
        for _ in range(300):
            for batch in consumer.poll(timeout_ms=200).values():
                for record in batch:
                    received[record.key] = record.value
                    assert record.headers == [("event-id", record.key)]
            if len(received) >= len(sent):
                break
        consumer.commit()
    finally:
        consumer.close()
    assert received == sent


def test_embedded_profile_makes_end_offsets_exact(settings):
    """With one record per batch, the broker's latest offset equals the number of records sent."""
    ensure_topics(settings, [Spec("offsets", 1, None, False)])
    topic = settings.topic("offsets")
    producer = make_producer(settings)
    for i in range(25):
        producer.send(topic, value=b"%d" % i)
    producer.flush()
    producer.close()
    consumer = make_consumer(settings)
    try:
        assert consumer.end_offsets([TopicPartition(topic, 0)]) == {TopicPartition(topic, 0): 25}
    finally:
        consumer.close()


def test_ensure_topics_creates_the_catalogue_then_is_idempotent(settings):
    """The first run creates every catalogue topic with its partitions and configs; the second changes nothing."""
    specs = list(TOPICS.values())
    first = ensure_topics(settings, specs)
    assert first == {settings.topic(s.short_name): "created" for s in specs}
    second = ensure_topics(settings, specs)
    assert second == {settings.topic(s.short_name): "existing" for s in specs}

    counts = _partition_counts(settings, list(first))
    assert counts == {settings.topic(s.short_name): s.partitions for s in specs}
    case = _topic_configs(settings, settings.topic("case"))
    assert case["cleanup.policy"] == "compact" and case["retention.ms"] == "-1"
    incident = _topic_configs(settings, settings.topic("incident"))
    assert incident["cleanup.policy"] == "delete"
    assert incident["retention.ms"] == str(TOPICS["incident"].retention_ms)


def test_ensure_topics_repairs_drifted_configs(settings):
    """A topic whose retention was changed by hand is reported updated and set back to the spec."""
    spec = Spec("drift", 1, 86_400_000, False)
    ensure_topics(settings, [spec])
    admin = make_admin(settings)
    try:
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, settings.topic("drift"),
                                            configs={"retention.ms": "1000"})], raise_on_unknown=False)
    finally:
        admin.close()
    assert _topic_configs(settings, settings.topic("drift"))["retention.ms"] == "1000"
    assert ensure_topics(settings, [spec]) == {settings.topic("drift"): "updated"}
    assert _topic_configs(settings, settings.topic("drift"))["retention.ms"] == "86400000"


def test_topic_created_meanwhile_counts_as_existing(settings):
    """If another process creates a planned topic first, applying the plan reports it existing, not an error."""
    spec = Spec("race", 2, None, False)
    admin = make_admin(settings)
    try:
        plans = plan_with(admin, settings, [spec])
        assert [p.action for p in plans] == ["create"]
        assert ensure_topics(settings, [spec]) == {settings.topic("race"): "created"}
        assert apply_with(admin, settings, plans) == {settings.topic("race"): "existing"}
    finally:
        admin.close()


def test_partition_mismatch_is_reported_not_changed(settings):
    """A topic with other partitions than the spec is left alone and the plan says so."""
    ensure_topics(settings, [Spec("parts", 2, None, False)])
    admin = make_admin(settings)
    try:
        (plan,) = plan_with(admin, settings, [Spec("parts", 4, None, False)])
    finally:
        admin.close()
    assert plan.partitions == 2 and "catalogue says 4" in plan.note
    assert _partition_counts(settings, [settings.topic("parts")]) == {settings.topic("parts"): 2}


def test_cli_topics_apply_dry_run_changes_nothing(settings, restore_logging, capsys):
    """`topics apply --dry-run` prints a create line per catalogue topic and creates none of them."""
    args = ["--kafka-bootstrap", settings.kafka_bootstrap, "--topic-prefix", settings.topic_prefix]
    assert cli.main([*args, "topics", "apply", "--dry-run"]) == 0
    out = capsys.readouterr().out
    for spec in TOPICS.values():
        assert f"create {settings.topic(spec.short_name)} partitions={spec.partitions}" in out
    admin = make_admin(settings)
    try:
        assert not [t for t in admin.list_topics() if t.startswith(settings.topic_prefix)]
    finally:
        admin.close()

    assert cli.main([*args, "topics", "apply"]) == 0
    out = capsys.readouterr().out
    provisioned = len(TOPICS) + len(internal_topic_specs(settings))  # + the streams' internal topics
    assert out.count("created") == provisioned
    assert cli.main([*args, "topics", "apply", "--dry-run"]) == 0
    assert capsys.readouterr().out.count("ok ") == provisioned


def test_broker_for_uses_a_configured_cluster(settings):
    """broker_for yields the configured bootstrap without starting anything."""
    with broker_for(settings) as bootstrap:
        assert bootstrap == settings.kafka_bootstrap


def test_broker_for_starts_and_stops_the_embedded_broker(settings_factory):
    """With no bootstrap configured, broker_for runs an embedded broker only for the block."""
    from runtime.embedded_broker import answers_kafka

    with broker_for(settings_factory(kafka_bootstrap=None)) as bootstrap:
        assert bootstrap != settings_factory().kafka_bootstrap
        assert answers_kafka(bootstrap)
    assert not answers_kafka(bootstrap, timeout_s=0.5)


def test_read_topic_returns_key_value_headers(settings):
    """The shared read_topic helper reads back what make_producer wrote, from every partition."""
    ensure_topics(settings, [Spec("readback", 3, None, False)])
    topic = settings.topic("readback")
    producer = make_producer(settings)
    for i in range(6):
        producer.send(topic, key=b"k%d" % i, value=b"v%d" % i, headers=[("n", b"%d" % i)])
    producer.flush()
    producer.close()
    records = read_topic(settings.kafka_bootstrap, topic, 6)
    assert sorted(records) == [(b"k%d" % i, b"v%d" % i, [("n", b"%d" % i)]) for i in range(6)]
