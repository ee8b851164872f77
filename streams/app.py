"""The faust app of the correlation engine: its topics, tables, the batch processor its consumer feeds, the ticker."""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import faust

from runtime.codec import codec_for
from runtime.kafka import aiokafka_config
from runtime.settings import Settings
from schemas.catalogue import DAY_MS
from schemas.subject_events import SUBJECT_EVENTS
from streams.batches import BatchProcessor
from streams.case_registry import CASE, RegistryReader
from streams.clock import StreamClock, wall_now
from streams.correlate import Correlator
from streams.publish import KafkaStreamOutput, StreamOutput, subject_partition
from streams.resolve import Resolver
from streams.rules import RuleConfig
from streams.stores import StateTable
from streams.subject_states import SubjectStates
from streams.ticks import send_ticks_async
from streams.transport import FetchWaitTransport

__all__ = ["AGENCY_TOPICS", "STATE_TABLE", "TIMER_TABLE", "InternalTopicSpec", "StreamsApp", "app_id", "create_app",
           "internal_topic_specs", "rule_config"]

AGENCY_TOPICS = ("incident", "bail", "court", "breach")  # resolved by identity; case feeds the registry
STATE_TABLE = "subject-state"  # subject -> its state (JSON bytes)
TIMER_TABLE = "subject-timers"  # subject -> when its timers are next due (epoch seconds)
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
            InternalTopicSpec(changelog_short_name(TIMER_TABLE), n, None, True)]


def rule_config(settings: Settings) -> RuleConfig:
    """THE place the rules' windows come from settings."""
    return RuleConfig(escalation_window=timedelta(days=settings.escalation_window_days),
                      escalation_min_events=settings.escalation_min_events,
                      flap_window=timedelta(minutes=settings.flap_window_min),
                      expiry_horizon=timedelta(hours=settings.expiry_horizon_h),
                      late_grace=timedelta(hours=settings.late_grace_h),
                      state_retention=timedelta(days=settings.state_retention_days))


class StreamsApp(faust.App):
    """faust.App whose consumer hands every fetch of the streams' topics to one BatchProcessor (no agents)."""

    def __init__(self, settings: Settings, *, fetch_max_wait_ms: int, output: StreamOutput | None = None,
                 **kwargs: Any) -> None:
        self.fetch_max_wait_ms = fetch_max_wait_ms  # read by streams.transport when the consumer is built
        self.live_fetch_max_wait_ms = live_fetch_max_wait(settings)  # and once table recovery is over
        super().__init__(app_id(settings), **kwargs)
        self.settings = settings
        self.codec = codec_for(settings)
        self.clock = StreamClock(settings.stream_clock)
        self.registry = RegistryReader(settings, self.codec)
        n = settings.stream_partitions
        self.subject_events = self.topic(settings.topic(SUBJECT_EVENTS), key_type=bytes, value_type=bytes,
                                         partitions=n)
        self.batch_topics = frozenset(settings.topic(short) for short in (*AGENCY_TOPICS, CASE, SUBJECT_EVENTS))
        # One channel for all of them: the consumer hands their records to handle_batch, never to the channel
        self.topics.add(self.topic(*sorted(self.batch_topics), key_type=bytes, value_type=bytes))
        self.states = self.Table(STATE_TABLE, key_type=bytes, value_type=bytes, partitions=n)
        self.timers = self.Table(TIMER_TABLE, key_type=bytes, value_type=bytes, partitions=n)
        self.forwarded: Counter[str] = Counter()  # records sent to subject-events, by origin topic
        self.subjects = SubjectStates(self.states, self.timers, lambda subject: subject_partition(subject, n))
        self.output = output
        self.batches = BatchProcessor(settings.topic_prefix, Resolver(self.registry, self.codec, self.forwarded),
                                      Correlator(self.subjects, self.codec, self.clock, rule_config(settings)),
                                      self.subjects, _LazyOutput(self), stopping=lambda: self.should_stop)
        self.on_partitions_assigned.connect(self._forget_states)
        if not self.clock.simulated:
            self.timer(interval=settings.stream_tick_interval_s, name="streams.wall-ticker")(self.tick_owned)

    async def _forget_states(self, *_args: Any, **_kwargs: Any) -> None:
        """Partitions came and went: cached states and timer heaps start again from the stores."""
        self.subjects.forget()

    @property
    def written_topics(self) -> frozenset[str]:
        """The topics a batch writes besides the changelogs: subject-events, alert, dead-letter."""
        s = self.settings
        return frozenset({s.topic(SUBJECT_EVENTS), s.topic("alert"), s.topic("dead-letter")})

    @property
    def processed(self) -> Counter[str]:
        """Records fully handled, by topic short name (source topics, case, subject-events)."""
        return self.batches.processed

    def kafka_output(self) -> StreamOutput:
        """The output over this app's producer (once the producer exists)."""
        s = self.settings
        return KafkaStreamOutput(self.producer, self.codec, subject_events=s.topic(SUBJECT_EVENTS),
                                 alert=s.topic("alert"), dead_letter=s.topic("dead-letter"),
                                 partitions=s.stream_partitions)

    async def handle_batch(self, messages: Sequence[Any]) -> None:
        """Called by the consumer with one fetch of the batch topics (streams.transport)."""
        await self.registry.wait_ready()
        await self.batches.handle(messages)

    async def tick_owned(self) -> None:
        """Ticks the subject-events partitions this worker owns (each partition's owner ticks it)."""
        name = self.subject_events.get_topic_name()
        owned = [tp.partition for tp in self.consumer.assignment() if tp.topic == name]
        if owned:
            await send_ticks_async(self.subject_events, self.settings, wall_now(), owned)

    def _new_transport(self) -> FetchWaitTransport:
        return FetchWaitTransport(self.conf.broker_consumer, self)

    def on_init_dependencies(self) -> list[Any]:
        """The registry reader starts and stops with the app."""
        return [*super().on_init_dependencies(), self.registry]


class _LazyOutput:
    """The app's output: the one given (tests), else the Kafka output built on first use (the producer is lazy)."""

    def __init__(self, app: StreamsApp) -> None:
        self.app = app
        self._output: StreamOutput | None = None

    def _get(self) -> StreamOutput:
        if self._output is None:
            self._output = self.app.output or self.app.kafka_output()
        return self._output

    async def publish(self, *args: Any) -> None:
        await self._get().publish(*args)

    async def write(self, *args: Any) -> Any:
        return await self._get().write(*args)


def faust_options(settings: Settings, datadir: Path) -> dict[str, Any]:
    """faust settings for our deployment (FINDINGS of the Tansu spike; workarounds only in the embedded profile)."""
    client = aiokafka_config(settings)
    options: dict[str, Any] = {
        "broker": [f"kafka://{server}" for server in client["bootstrap_servers"]],
        "broker_client_id": client["client_id"],
        "key_serializer": "raw", "value_serializer": "raw", "store": table_store(settings), "datadir": str(datadir),
        "Table": StateTable, "topic_partitions": settings.stream_partitions, "topic_disable_leader": True,
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
            "broker_rebalance_timeout": settings.embedded_stream_rebalance_timeout_s,
            "broker_session_timeout": settings.embedded_stream_session_timeout_s,
            "broker_heartbeat_interval": settings.embedded_stream_heartbeat_interval_s,
        })
    return options


def live_fetch_max_wait(settings: Settings) -> int:
    """The streams' fetch wait outside table recovery: shorter in the embedded profile (Tansu holds every fetch for
    its whole wait, a latency floor on each hop); a real broker answers as soon as data is there."""
    if settings.embedded_workarounds:
        return min(settings.embedded_live_fetch_max_wait_ms, settings.stream_fetch_max_wait_ms)
    return settings.stream_fetch_max_wait_ms


def table_store(settings: Settings) -> str:
    """faust's table store: memory with the embedded broker (durable copy kept by `up`), RocksDB on a cluster."""
    if settings.stream_store != "auto":
        return settings.stream_store
    return "memory://" if settings.embedded_workarounds else "rocksdb://"


def _credentials(settings: Settings, client: dict[str, Any]) -> Any:
    """faust credentials for SSL / SASL from the shared aiokafka config (None for PLAINTEXT)."""
    protocol = settings.kafka_security_protocol
    if protocol == "SSL":
        return faust.SSLCredentials(client["ssl_context"])
    if protocol.startswith("SASL_"):
        return faust.SASLCredentials(username=client["sasl_plain_username"], password=client["sasl_plain_password"],
                                     ssl_context=client.get("ssl_context"), mechanism=client["sasl_mechanism"])
    return None


def create_app(settings: Settings, *, datadir: Path | None = None, output: StreamOutput | None = None) -> StreamsApp:
    """The streams app (an output may replace Kafka output, e.g. in tests)."""
    where = datadir or settings.data_dir / "streams"
    where.mkdir(parents=True, exist_ok=True)
    return StreamsApp(settings, fetch_max_wait_ms=settings.stream_fetch_max_wait_ms, output=output,
                      **faust_options(settings, where))
