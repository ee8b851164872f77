"""deploy/k8s/kafka: KafkaTopics and KafkaUsers where Strimzi watches, generated, and each user granted exactly what its
service's code uses — derived here from the code itself (its constants and the streams app), not from the generator."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.intake.publisher import DEAD_LETTER_TOPIC
from consumers.chronology.feed import group_id as chronology_group
from consumers.delivery.events import DELIVERY_TOPIC
from consumers.delivery.service import CONSUMED, dispatcher_group
from entrypoints.bootstrap import DISPATCHER_TOPICS, INTAKE_TOPICS, WORKER_TOPICS
from entrypoints.strimzi import WITHOUT_KAFKA, acl_table, services, topics_yaml, user_name, users_yaml
from runtime.kafka import producer_config
from runtime.settings import Settings
from runtime.topics import desired_configs
from schemas.catalogue import SOURCE_TOPICS, TOPICS
from schemas.subject_events import SUBJECT_EVENTS
from streams.app import create_app, internal_topic_specs
from streams.case_registry import CASE

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KAFKA = K8S / "kafka"
BASE = K8S / "base"
Grant = tuple[str, str, str]  # (resource type, name, operation)
STRIMZI_OPERATIONS = {"Read", "Write", "Create", "Delete", "Alter", "Describe", "ClusterAction", "AlterConfigs",
                      "DescribeConfigs", "IdempotentWrite", "All"}


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text("utf-8")) if d]


def _config() -> dict[str, str]:
    [config] = _docs(BASE / "configmap.yaml")
    return config["data"]


def _deployed() -> Settings:
    """Settings with the topic prefix and stream partitions the base ConfigMap deploys."""
    data = _config()
    return Settings(topic_prefix=data["DRIVE_TOPIC_PREFIX"], stream_partitions=int(data["DRIVE_STREAM_PARTITIONS"]),
                    kafka_bootstrap=data["DRIVE_KAFKA_BOOTSTRAP"])


def _users() -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in _docs(KAFKA / "kafka-users.yaml")}


def _granted(user: dict[str, Any]) -> set[Grant]:
    grants = set()
    for acl in user["spec"]["authorization"]["acls"]:
        resource = acl["resource"]
        for operation in acl["operations"]:
            grants.add((resource["type"], resource.get("name", "kafka-cluster"), operation))
    return grants


def _uses(settings: Settings, tmp_path: Path) -> dict[str, dict[str, set[str]]]:
    """What each service's code uses, read from the code: constants it subscribes and publishes with, the faust app."""
    t = settings.topic
    app = create_app(settings, datadir=tmp_path)
    changelogs = {name for table in app.tables.values() for name in table.changelog_topic.topics}
    subscribed = set(app.batch_topics)
    published = set(app.written_topics)
    idempotent = {"true"} if producer_config(settings)["enable_idempotence"] else set()
    connector = {"write": {t(n) for n in (*SOURCE_TOPICS, DEAD_LETTER_TOPIC)}, "check": {t(n) for n in INTAKE_TOPICS},
                 "idempotent": idempotent}
    return {
        "intake": connector, "filedrop": connector, "sqlpoll": connector,
        "worker": {"read": subscribed | {t(CASE)} | changelogs, "write": published | changelogs,
                   "check": {t(n) for n in WORKER_TOPICS} | {t(s.short_name) for s in internal_topic_specs(settings)},
                   "create": changelogs, "group": {app.conf.id}},
        "dispatcher": {"read": {t(n) for n in CONSUMED}, "write": {t(DELIVERY_TOPIC)},
                       "check": {t(n) for n in DISPATCHER_TOPICS}, "group": {dispatcher_group(settings)},
                       "idempotent": idempotent},
        "chronology-feed": {"read": {t(SUBJECT_EVENTS)}, "check": {t(SUBJECT_EVENTS)}, "group": {chronology_group(settings)}},
        "webhooks": {"write": {t(DELIVERY_TOPIC)}, "idempotent": idempotent},
    }


def _expected(use: dict[str, set[str]]) -> set[Grant]:
    """The ACLs a service needs for that use: Describe on every topic it touches, plus the operation of each use."""
    operation = {"read": "Read", "write": "Write", "check": "DescribeConfigs", "create": "Create"}
    grants: set[Grant] = set()
    for kind, op in operation.items():
        for name in use.get(kind, set()):
            grants |= {("topic", name, op), ("topic", name, "Describe")}
    grants |= {("group", group, "Read") for group in use.get("group", set())}
    if use.get("idempotent"):
        grants.add(("cluster", "kafka-cluster", "IdempotentWrite"))
    return grants


def test_every_service_is_granted_exactly_what_its_code_uses(tmp_path: Path) -> None:
    """Each KafkaUser's ACLs = the topics, groups and cluster operations its service's code uses: none missing, none more."""
    settings = _deployed()
    users = _users()
    uses = _uses(settings, tmp_path)
    assert set(users) == {user_name(service) for service in uses}
    for service, use in uses.items():
        granted, expected = _granted(users[user_name(service)]), _expected(use)
        assert granted - expected == set(), f"{service} is granted more than it uses"
        assert expected - granted == set(), f"{service} lacks a grant its code needs"


def test_the_coverage_check_catches_a_missing_grant(tmp_path: Path) -> None:
    """The chronology feed's Read on subject-events is among what it needs (the check above can fail); the
    dispatcher, which no longer runs the feed, has neither that Read nor the chronology group."""
    settings = _deployed()
    feed = _granted(_users()[user_name("chronology-feed")])
    needed = _expected(_uses(settings, tmp_path)["chronology-feed"])
    assert ("topic", settings.topic(SUBJECT_EVENTS), "Read") in needed & feed
    assert ("group", chronology_group(settings), "Read") in needed & feed
    assert needed - (feed - {("topic", settings.topic(SUBJECT_EVENTS), "Read")})
    dispatcher = _granted(_users()[user_name("dispatcher")])
    assert ("topic", settings.topic(SUBJECT_EVENTS), "Read") not in dispatcher
    assert ("group", chronology_group(settings), "Read") not in dispatcher


def test_committed_files_are_the_generator_output() -> None:
    """kafka-topics.yaml and kafka-users.yaml are byte for byte what `drive-alerts deploy strimzi-*` print."""
    settings = _deployed()
    assert (KAFKA / "kafka-topics.yaml").read_text() == topics_yaml(settings)
    assert (KAFKA / "kafka-users.yaml").read_text() == users_yaml(settings)


def test_committed_topics_match_the_catalogue() -> None:
    """One KafkaTopic per catalogue and streams topic: full name with prefix, partitions, retention.ms, cleanup.policy."""
    settings = _deployed()
    specs = [*TOPICS.values(), *internal_topic_specs(settings)]
    wanted = {settings.topic(s.short_name): (s.partitions, desired_configs(s)) for s in specs}
    found = {d["spec"]["topicName"]: (d["spec"]["partitions"], d["spec"]["config"]) for d in _docs(KAFKA / "kafka-topics.yaml")}
    assert found == wanted


def test_strimzi_resources_are_where_the_operators_watch() -> None:
    """Every KafkaTopic and KafkaUser is in the Kafka cluster's namespace (the one the ConfigMap's bootstrap and the
    NetworkPolicy name), labelled for that cluster; the application's base holds none of them."""
    host = _config()["DRIVE_KAFKA_BOOTSTRAP"].split(":")[0]
    match = re.fullmatch(r"(?P<cluster>[a-z0-9-]+)-kafka-bootstrap\.(?P<namespace>[a-z0-9-]+)\.svc(\..*)?", host)
    assert match, host
    policies = _docs(BASE / "networkpolicy.yaml")
    kafka_egress = [rule for p in policies for rule in p["spec"].get("egress", []) for to in rule.get("to", [])
                    if to.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
                    == match["namespace"]]
    assert kafka_egress, "no egress to the Kafka namespace"
    [kustomization] = _docs(KAFKA / "kustomization.yaml")
    assert kustomization["namespace"] == match["namespace"]
    resources = [d for name in kustomization["resources"] for d in _docs(KAFKA / name)]
    assert {d["kind"] for d in resources} == {"KafkaTopic", "KafkaUser"}
    for doc in resources:
        assert doc["metadata"]["namespace"] == match["namespace"]
        assert doc["metadata"]["labels"]["strimzi.io/cluster"] == match["cluster"]
    base = [d for path in BASE.glob("*.yaml") for d in _docs(path)]
    assert not [d for d in base if d.get("apiVersion", "").startswith("kafka.strimzi.io/")]
    [production] = _docs(K8S / "overlays" / "production" / "kustomization.yaml")
    assert "../../kafka" in production["resources"]


def test_kafka_users_are_well_formed() -> None:
    """SCRAM-SHA-512 users with the simple authorizer; literal resources and Strimzi's operation names only."""
    for user in _users().values():
        assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
        assert user["spec"]["authorization"]["type"] == "simple"
        for acl in user["spec"]["authorization"]["acls"]:
            assert acl["resource"]["type"] in {"topic", "group", "cluster"}
            assert acl["resource"].get("patternType", "literal") == "literal"
            assert set(acl["operations"]) <= STRIMZI_OPERATIONS and acl["operations"]


def _workloads() -> list[dict[str, Any]]:
    return [d for path in BASE.glob("*.yaml") for d in _docs(path) if d["kind"] in ("Deployment", "StatefulSet")]


def test_each_workload_logs_in_as_its_own_kafka_user() -> None:
    """A workload running `drive-alerts <service>` has that service's user name and the password Strimzi made for it;
    one that never talks to Kafka (the web app) has no Kafka credentials at all."""
    users = _users()
    seen = set()
    for workload in _workloads():
        for container in workload["spec"]["template"]["spec"]["containers"]:
            service = container["args"][0]
            env = {e["name"]: e for e in container.get("env", [])}
            if service in WITHOUT_KAFKA:
                assert not {n for n in env if n.startswith("DRIVE_KAFKA_SASL")} and service not in services(_deployed())
                continue
            assert env["DRIVE_KAFKA_SASL_USERNAME"]["value"] == user_name(service) in users
            secret = env["DRIVE_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
            assert secret == {"name": user_name(service), "key": "password"}
            seen.add(service)
    assert seen == set(services(_deployed()))


@pytest.mark.parametrize("doc", ["docs/runbook.md", "docs/security.md"])
def test_docs_show_the_generated_acl_table(doc: str) -> None:
    """The ACL table in the docs is `drive-alerts deploy acl-table` (regenerate it between the markers)."""
    text = (ROOT / doc).read_text("utf-8")
    table = re.search(r"<!-- acl-table:start -->\n(.*?)<!-- acl-table:end -->", text, re.S)
    assert table is not None and table.group(1).strip() == acl_table(Settings()).strip()
