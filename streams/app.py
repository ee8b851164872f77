"""The faust app of the correlation engine: create_app(settings), its topics, tables and internal topic specs."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import faust

from runtime.codec import codec_for
from runtime.kafka import aiokafka_config
from runtime.settings import Settings
from schemas.catalogue import DAY_MS
from schemas.codec import AvroCodec
from schemas.subject_events import SUBJECT_EVENTS
from streams.agents import AGENCY_TOPICS, install_agents
from streams.case_registry import RegistryReader
from streams.clock import StreamClock
from streams.publish import KafkaStreamOutput, StreamOutput
from streams.rules import RuleConfig
from streams.transport import FetchWaitTransport

__all__ = ["AGENCY_TOPICS", "DUE_TABLE", "STATE_TABLE", "InternalTopicSpec", "StreamsApp", "app_id", "create_app",
           "internal_topic_specs", "make_codec", "rule_config"]

STATE_TABLE = "subject-state"  # subject_id -> SubjectState.to_dict()
DUE_TABLE = "subject-due"  # str(partition) -> {subject_id: epoch seconds when on_tick is next due}
_SUBJECT_EVENTS_RETENTION_MS = 7 * DAY_MS


@dataclass(frozen=True, slots=True)
class InternalTopicSpec:
    """An internal topic of the streams, in the shape runtime.topics provisions (short name = after the prefix)."""

    short_name: str
    partitions: int
    retention_ms: int | None
    compacted: bool


def app_id(settings: Settings) -> str:
    """The faust app id (consumer group and changelog prefix); the topic prefix keeps deployments apart."""
    return f"{settings.topic_prefix}streams"


def changelog_short_name(table: str) -> str:
    """Short name (after the topic prefix) of a table's changelog: faust names it <app_id>-<table>-changelog."""
    return f"streams-{table}-changelog"


def internal_topic_specs(settings: Settings) -> list[InternalTopicSpec]:
    """subject-events and the two table changelogs, all with stream_partitions partitions (co-partitioned)."""
    n = settings.stream_partitions
    return [InternalTopicSpec(SUBJECT_EVENTS, n, _SUBJECT_EVENTS_RETENTION_MS, False),
            InternalTopicSpec(changelog_short_name(STATE_TABLE), n, None, True),
            InternalTopicSpec(changelog_short_name(DUE_TABLE), n, None, True)]


def rule_config(settings: Settings) -> RuleConfig:
    """THE place the rules' windows come from settings."""
    return RuleConfig(escalation_window=timedelta(days=settings.escalation_window_days),
                      escalation_min_events=settings.escalation_min_events,
                      flap_window=timedelta(minutes=settings.flap_window_min),
                      expiry_horizon=timedelta(hours=settings.expiry_horizon_h),
                      late_grace=timedelta(hours=settings.late_grace_h),
                      state_retention=timedelta(days=settings.state_retention_days))


def make_codec(settings: Settings) -> AvroCodec:
    """The process's Avro codec (runtime.codec: the schema registry when configured)."""
    return codec_for(settings)


class StreamsApp(faust.App):
    """faust.App with the fetch-wait transport and the engine's parts: registry, clock, publisher, counters."""

    def __init__(self, settings: Settings, *, fetch_max_wait_ms: int, **kwargs: Any) -> None:
        self.fetch_max_wait_ms = fetch_max_wait_ms  # read by streams.transport when the consumer is built
        super().__init__(app_id(settings), **kwargs)
        self.settings = settings
        self.processed: Counter[str] = Counter()  # records fully handled, by agent key (topic short name)
        self.forwarded: Counter[str] = Counter()  # records sent to subject-events, by origin topic
        self.codec = make_codec(settings)
        self.rule_config = rule_config(settings)
        self.clock = StreamClock(settings.stream_clock)
        self.registry = RegistryReader(settings, self.codec)
        n = settings.stream_partitions
        self.subject_events = self.topic(settings.topic(SUBJECT_EVENTS), key_type=bytes, value_type=bytes,
                                         partitions=n)
        self.alert_topic = self.topic(settings.topic("alert"), key_type=bytes, value_type=bytes)
        self.dead_letter_topic = self.topic(settings.topic("dead-letter"), key_type=bytes, value_type=bytes)
        self.states = self.Table(STATE_TABLE, default=None, partitions=n)
        self.due = self.Table(DUE_TABLE, default=None, partitions=n)
        self.publisher: StreamOutput = KafkaStreamOutput(self.subject_events, self.alert_topic,
                                                        self.dead_letter_topic, self.codec)

    def _new_transport(self) -> FetchWaitTransport:
        return FetchWaitTransport(self.conf.broker_consumer, self)

    def on_init_dependencies(self) -> list[Any]:
        """The registry reader starts and stops with the app."""
        return [*super().on_init_dependencies(), self.registry]


def faust_options(settings: Settings, datadir: Path) -> dict[str, Any]:
    """faust settings for our deployment (FINDINGS of the Tansu spike; workarounds only in the embedded profile)."""
    client = aiokafka_config(settings)
    options: dict[str, Any] = {
        "broker": [f"kafka://{server}" for server in client["bootstrap_servers"]],
        "broker_client_id": client["client_id"],
        "key_serializer": "raw", "value_serializer": "raw", "store": "memory://", "datadir": str(datadir),
        "topic_partitions": settings.stream_partitions, "topic_disable_leader": True,
        "table_standby_replicas": 0, "consumer_auto_offset_reset": "earliest",
        "web_enabled": False, "worker_redirect_stdouts": False, "broker_commit_interval": 1.0,
    }
    if settings.kafka_replication_factor > 0:
        options["topic_replication_factor"] = settings.kafka_replication_factor
    credentials = _credentials(settings, client)
    if credentials is not None:
        options["broker_credentials"] = credentials
    if settings.embedded_workarounds:
        options.update({
            "topic_replication_factor": 1,
            # Tansu holds group joins for the whole rebalance timeout.
            "broker_rebalance_timeout": 5, "broker_session_timeout": 10, "broker_heartbeat_interval": 1,
        })
    return options


def _credentials(settings: Settings, client: dict[str, Any]) -> Any:
    """faust credentials for SSL / SASL from the shared aiokafka config (None for PLAINTEXT)."""
    protocol = settings.kafka_security_protocol
    if protocol == "SSL":
        return faust.SSLCredentials(client["ssl_context"])
    if protocol.startswith("SASL_"):
        return faust.SASLCredentials(username=client["sasl_plain_username"], password=client["sasl_plain_password"],
                                     ssl_context=client.get("ssl_context"), mechanism=client["sasl_mechanism"])
    return None


def create_app(settings: Settings, *, datadir: Path | None = None,
               publisher: StreamOutput | None = None) -> StreamsApp:
    """The streams app with its agents installed (a publisher may replace Kafka output, e.g. in tests)."""
    where = datadir or settings.data_dir / "streams"
    where.mkdir(parents=True, exist_ok=True)
    app = StreamsApp(settings, fetch_max_wait_ms=settings.stream_fetch_max_wait_ms, **faust_options(settings, where))
    if publisher is not None:
        app.publisher = publisher
    install_agents(app)
    return app
