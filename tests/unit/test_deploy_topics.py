"""deploy/k8s/base/kafka-topics.yaml is exactly what the generator makes from the topic catalogue."""
from __future__ import annotations

from pathlib import Path

import yaml

from entrypoints.commands.deploy import strimzi_topics_yaml, topic_specs
from runtime.settings import Settings
from runtime.topics import desired_configs

BASE = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "base"


def _deployed_settings() -> Settings:
    """Settings with the topic prefix and stream partitions the base ConfigMap deploys."""
    [config] = [d for d in yaml.safe_load_all((BASE / "configmap.yaml").read_text()) if d]
    return Settings(topic_prefix=config["data"]["DRIVE_TOPIC_PREFIX"],
                    stream_partitions=int(config["data"]["DRIVE_STREAM_PARTITIONS"]))


def _committed() -> list[dict]:
    return [d for d in yaml.safe_load_all((BASE / "kafka-topics.yaml").read_text()) if d]


def test_committed_topics_match_the_catalogue() -> None:
    """One KafkaTopic per catalogue and streams topic: full name with prefix, partitions, retention.ms, cleanup.policy."""
    settings = _deployed_settings()
    wanted = {settings.topic(s.short_name): (s.partitions, desired_configs(s)) for s in topic_specs(settings)}
    found = {d["spec"]["topicName"]: (d["spec"]["partitions"], d["spec"]["config"]) for d in _committed()}
    assert found == wanted
    assert all(d["kind"] == "KafkaTopic" and d["metadata"]["labels"]["strimzi.io/cluster"] for d in _committed())


def test_committed_file_is_the_generator_output() -> None:
    """The file is byte for byte what `drive-alerts deploy strimzi-topics` prints (regenerate it when this fails)."""
    assert (BASE / "kafka-topics.yaml").read_text() == strimzi_topics_yaml(_deployed_settings())


def test_generator_follows_a_changed_catalogue() -> None:
    """A different prefix or partition count changes the generated names and partitions (the check can fail)."""
    text = strimzi_topics_yaml(Settings(topic_prefix="other.", stream_partitions=12))
    docs = [d for d in yaml.safe_load_all(text) if d]
    assert "other.subject-events" in {d["spec"]["topicName"] for d in docs}
    assert {d["spec"]["partitions"] for d in docs if d["spec"]["topicName"] == "other.subject-events"} == {12}
    assert text != (BASE / "kafka-topics.yaml").read_text()
