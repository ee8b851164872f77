"""Topic provisioning: plan and apply partitions, cleanup policy and retention from the topic catalogue."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import structlog
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.errors import TopicAlreadyExistsError

from runtime.kafka import make_admin
from runtime.settings import Settings

log = structlog.get_logger(__name__)

Action = Literal["create", "update", "ok"]
# What ensure_topics reports per topic.
STATUS = {"create": "created", "update": "updated", "ok": "existing"}


class TopicSpecLike(Protocol):
    """The shape of schemas.catalogue.TopicSpec that provisioning needs."""

    short_name: str
    partitions: int
    retention_ms: int | None
    compacted: bool


@dataclass(frozen=True)
class TopicPlan:
    """What provisioning will do to one topic, and why."""

    name: str
    action: Action
    partitions: int
    configs: dict[str, str]
    changes: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    note: str = ""

    def describe(self) -> str:
        """One human line: action, topic, partitions, configs and any changes or notes."""
        configs = ", ".join(f"{k}={v}" for k, v in sorted(self.configs.items()))
        line = f"{self.action:<6} {self.name} partitions={self.partitions} {configs}"
        if self.changes:
            line += " | changes: " + ", ".join(f"{k} {old}->{new}" for k, (old, new) in sorted(self.changes.items()))
        return f"{line} | {self.note}" if self.note else line


def desired_configs(spec: TopicSpecLike) -> dict[str, str]:
    """Topic configs for a spec: compact or delete, and retention.ms (-1 when the spec keeps forever)."""
    return {
        "cleanup.policy": "compact" if spec.compacted else "delete",
        "retention.ms": "-1" if spec.retention_ms is None else str(int(spec.retention_ms)),
    }


def _existing_partitions(admin: KafkaAdminClient, names: list[str]) -> dict[str, int]:
    if not names:
        return {}
    return {t["name"]: len(t["partitions"]) for t in admin.describe_topics(names) if not t.get("error_code")}


def _existing_configs(admin: KafkaAdminClient, names: list[str]) -> dict[str, dict[str, str | None]]:
    if not names:
        return {}
    resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
    # Tansu answers only with config_filter="all" (BROKER-NOTES); Apache Kafka is fine with it too.
    described = admin.describe_configs(resources, config_filter="all").get("topic", {})
    return {name: {key: entry.get("value") for key, entry in described.get(name, {}).items()} for name in names}


def plan_with(admin: KafkaAdminClient, settings: Settings, specs: Iterable[TopicSpecLike]) -> list[TopicPlan]:
    """Compare the catalogue with the cluster and say, per topic, create / update / ok."""
    wanted = [(settings.topic(spec.short_name), spec) for spec in specs]
    present = set(admin.list_topics())
    existing = [name for name, _ in wanted if name in present]
    partitions = _existing_partitions(admin, existing)
    configs = _existing_configs(admin, existing)
    plans = []
    for name, spec in wanted:
        target = desired_configs(spec)
        if name not in present:
            plans.append(TopicPlan(name, "create", spec.partitions, target))
            continue
        current = configs.get(name, {})
        changes = {k: (current.get(k), v) for k, v in target.items() if current.get(k) != v}
        note = ""
        have = partitions.get(name, spec.partitions)
        if have != spec.partitions:
            # Never re-partition automatically: it would move keys and break per-person ordering.
            note = f"has {have} partitions, catalogue says {spec.partitions}: left as is"
        plans.append(TopicPlan(name, "update" if changes else "ok", have, target, changes, note))
    return plans


def apply_with(admin: KafkaAdminClient, settings: Settings, plans: list[TopicPlan]) -> dict[str, str]:
    """Carry out plans; a topic created meanwhile by someone else counts as existing."""
    result: dict[str, str] = {}
    to_create = [p for p in plans if p.action == "create"]
    if to_create:
        result.update(_create(admin, settings, to_create))
    to_update = [p for p in plans if p.action == "update"]
    if to_update:
        resources = [ConfigResource(ConfigResourceType.TOPIC, p.name, configs=dict(p.configs)) for p in to_update]
        # Tansu does not list its dynamic configs, so skip kafka-python's pre-check (BROKER-NOTES).
        admin.alter_configs(resources, raise_on_unknown=False)
        result.update({p.name: "updated" for p in to_update})
    result.update({p.name: "existing" for p in plans if p.action == "ok"})
    for plan in plans:
        if plan.note:
            log.warning("topic_partitions_differ", topic=plan.name, detail=plan.note)
    return {p.name: result[p.name] for p in plans}


def _create(admin: KafkaAdminClient, settings: Settings, plans: list[TopicPlan]) -> dict[str, str]:
    request: dict[str, dict[str, Any]] = {
        p.name: {"num_partitions": p.partitions, "replication_factor": settings.kafka_replication_factor,
                 "configs": dict(p.configs)}
        for p in plans
    }
    response = admin.create_topics(request, raise_errors=False, wait_for_metadata=False)
    statuses: dict[str, str] = {}
    for topic in response["topics"]:
        code = topic.get("error_code") or 0
        if code == 0:
            statuses[topic["name"]] = "created"
        elif code == TopicAlreadyExistsError.errno:
            statuses[topic["name"]] = "existing"
        else:
            raise RuntimeError(f"creating topic {topic['name']} failed: error {code} {topic.get('error_message')}")
    created = [name for name, status in statuses.items() if status == "created"]
    if created:
        _wait_for_leaders(admin, created)
    for name, status in statuses.items():
        log.info("topic_provisioned", topic=name, status=status)
    return statuses


def _wait_for_leaders(admin: KafkaAdminClient, names: list[str], timeout_s: float = 30.0) -> None:
    """Return once every partition of the new topics has a leader, so producers can use them at once."""
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        topics = admin.describe_topics(names)
        if all(not t.get("error_code") and t["partitions"] and all(p.get("leader_id", -1) >= 0 for p in t["partitions"])
               for t in topics):
            return
        time.sleep(0.1)
    raise TimeoutError(f"topics {names} had no leaders after {timeout_s:.0f}s")


def plan_topics(settings: Settings, specs: Iterable[TopicSpecLike]) -> list[TopicPlan]:
    """The provisioning plan for specs against the configured cluster (nothing is changed)."""

    admin = make_admin(settings)
    try:
        return plan_with(admin, settings, specs)
    finally:
        admin.close()


def ensure_topics(settings: Settings, specs: Iterable[TopicSpecLike]) -> dict[str, str]:
    """Create missing topics and fix drifted configs; returns {topic: created|existing|updated}. Idempotent."""

    admin = make_admin(settings)
    try:
        return apply_with(admin, settings, plan_with(admin, settings, list(specs)))
    finally:
        admin.close()
