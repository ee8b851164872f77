"""Helpers for the streams unit tests: in-memory tables and output, consumer-like messages, a batch processor."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faust.types import TP

from runtime.settings import Settings
from schemas.codec import AvroCodec
from schemas.events import Alert, DeadLetter
from schemas.jsonform import from_json
from schemas.subject_events import SUBJECT_EVENTS, forward_headers
from streams.app import rule_config
from streams.batches import BatchProcessor
from streams.case_registry import RegistryReader
from streams.clock import StreamClock
from streams.correlate import Correlator
from streams.publish import subject_partition
from streams.resolve import Forward, Resolver
from streams.subject_states import SubjectStates, Write
from tests.samples.events import sample

PREFIX = "unit."
CODEC = AvroCodec(prefix=PREFIX)
SUBJECT = "DRV-000123"
PARTITIONS = 6


@dataclass
class MemoryStore:
    """The partition-writable store interface of streams.stores, over a dict; remembers each write's partition."""

    data: dict[bytes, bytes] = field(default_factory=dict)
    partition_of: dict[bytes, int] = field(default_factory=dict)

    def get_in(self, partition: int, key: bytes) -> bytes | None:
        return self.data.get(key)

    def put_in(self, partition: int, key: bytes, value: bytes) -> None:
        self.data[key], self.partition_of[key] = value, partition

    def delete_in(self, partition: int, key: bytes) -> None:
        self.data.pop(key, None)

    def all_items(self) -> Any:
        return iter(list(self.data.items()))

    def changelog_written(self, tp: TP, offset: int) -> None:
        """The memory store keeps no offsets."""


@dataclass(eq=False)
class MemoryTable:
    """The parts of a StateTable a batch uses."""

    name: str
    store: MemoryStore = field(default_factory=MemoryStore)

    @property
    def changelog_name(self) -> str:
        return f"{PREFIX}streams-{self.name}-changelog"

    def changelog_tp(self, partition: int) -> TP:
        return TP(self.changelog_name, partition)


@dataclass
class RecordingOutput:
    """A StreamOutput that keeps what it is given, in order; can be told to refuse the next publishes."""

    fail_next: int = 0  # refuse the next n publishes (a broker fault)
    sent: list[tuple[str, Any]] = field(default_factory=list)  # ("forward"|"alert"|"dead_letter"|"write", payload)

    async def publish(self, forwards: list[Forward], alerts: list[Alert], letters: list[DeadLetter]) -> None:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise ConnectionError("broker unavailable")
        self.sent += [("forward", (f.subject_id, f.kind, f.topic, f.raw)) for f in forwards]
        self.sent += [("alert", a) for a in alerts] + [("dead_letter", d) for d in letters]

    async def write(self, writes: list[Write]) -> dict[tuple[Any, int], int]:
        self.sent += [("write", (w.table.name, w.partition, w.key)) for w in writes]
        return {(w.table, w.partition): n for n, w in enumerate(writes)}

    def of(self, what: str) -> list[Any]:
        """The payloads of one kind of send."""
        return [payload for kind, payload in self.sent if kind == what]


@dataclass
class Message:
    """A consumer message as the batch processor reads it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Any = ()
    timestamp: float | None = 0.0


@dataclass
class Streams:
    """A batch processor over memory tables, the simulated clock and a recording output, and its parts."""

    processor: BatchProcessor
    states: SubjectStates
    registry: RegistryReader
    output: RecordingOutput
    forwarded: Counter[str]
    offsets: Counter[str] = field(default_factory=Counter)

    async def source(self, topic: str, raw: bytes, key: bytes = b"k") -> None:
        """One source-topic record as a batch of its own."""
        await self.batch(self.message(topic, raw, key=key))

    async def batch(self, *messages: Message) -> None:
        await self.processor.handle(list(messages))

    def message(self, topic: str, raw: bytes | None, *, key: bytes | None = None, partition: int = 0,
                headers: Any = ()) -> Message:
        self.offsets[topic] += 1
        return Message(f"{PREFIX}{topic}", partition, self.offsets[topic], key, raw, list(headers))

    def forwarded_event(self, topic: str, raw: bytes, subject: str = SUBJECT, kind: str = "event") -> Message:
        """A subject-events record for `subject` on its partition."""
        return self.message(SUBJECT_EVENTS, raw, key=subject.encode(), partition=partition(subject),
                            headers=forward_headers(kind, topic))


def partition(subject: str) -> int:
    """The subject-events partition of a subject."""
    return subject_partition(subject, PARTITIONS)


def unit_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings naming an unreachable broker (nothing here connects) and the simulated clock."""
    values: dict[str, Any] = {"kafka_bootstrap": "127.0.0.1:1", "data_dir": tmp_path, "topic_prefix": PREFIX,
                              "stream_clock": "simulated"}
    values.update(overrides)
    return Settings(**values)


def streams(tmp_path: Path, output: RecordingOutput | None = None, *, stopping: Any = lambda: False) -> Streams:
    """A batch processor as the app builds one, without faust or a broker."""
    settings = unit_settings(tmp_path)
    output = output or RecordingOutput()
    registry = RegistryReader(settings, CODEC)
    states = SubjectStates(MemoryTable("subject-state"), MemoryTable("subject-timers"), partition)
    forwarded: Counter[str] = Counter()
    processor = BatchProcessor(PREFIX, Resolver(registry, CODEC, forwarded),
                               Correlator(states, CODEC, StreamClock("simulated"), rule_config(settings)),
                               states, output, stopping=stopping, delays=(0.0,))
    return Streams(processor, states, registry, output, forwarded)


def encoded(topic: str, event_type: str, **overrides: Any) -> bytes:
    """Confluent-framed Avro bytes of a contract sample (name_hash dropped unless overridden)."""
    record = sample(topic, event_type, **overrides)
    if "name_hash" not in overrides:
        record.pop("name_hash", None)
    return CODEC.encode(topic, from_json(topic, record))


def event_headers(topic: str, kind: str = "event") -> list[tuple[str, bytes]]:
    """Headers of a forwarded subject-events record."""
    return forward_headers(kind, topic)
