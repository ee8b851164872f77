"""RegistryReader: the whole case topic read into an in-memory IdentityIndex (no group: every worker reads it all)."""
from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from mode import Service

from runtime.kafka import aiokafka_config
from runtime.settings import Settings
from schemas.codec import AvroCodec
from schemas.details import CaseSnapshot
from schemas.events import Event, event_from_datum
from streams.rules import IdentityIndex, index_case

log = structlog.get_logger(__name__)
CASE = "case"


class RegistryReader(Service):
    """Keeps the identity index of the case registry current; knows when it last was caught up with the topic."""

    def __init__(self, settings: Settings, codec: AvroCodec, **kwargs: Any) -> None:
        self.settings = settings
        self.codec = codec
        self.index = IdentityIndex()
        self.cases: dict[str, bytes] = {}  # subject -> raw bytes of its latest open-case snapshot
        self.caught_up_at: float = 0.0  # epoch s: every case record older than this has been read
        self.ready = asyncio.Event()  # set after the first catch-up
        self.records_read = 0
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []
        super().__init__(**kwargs)

    def learn(self, raw: bytes) -> Event | None:
        """Indexes one case-topic record (staff records and unreadable bytes change nothing)."""
        try:
            event = event_from_datum(CASE, self.codec.decode(raw, CASE))
        except Exception as exc:  # noqa: BLE001 - a bad registry record must not stop identity resolution
            log.warning("registry_record_unreadable", error=type(exc).__name__)
            return None
        if isinstance(event.details, CaseSnapshot):
            index_case(self.index, event)
            subject = event.details.subject_id
            if subject in self.index.keys_of:
                self.cases[subject] = raw
            else:
                self.cases.pop(subject, None)
        return event

    def case_record(self, subject_id: str) -> bytes | None:
        """The raw latest snapshot of an open case (None when the subject has no open case)."""
        return self.cases.get(subject_id)

    def may_be_behind(self, timestamp_s: float | None) -> bool:
        """True when a record stamped at timestamp_s (epoch seconds) may postdate case records not read yet."""
        return timestamp_s is None or timestamp_s >= self.caught_up_at

    async def wait_ready(self) -> None:
        """Returns once the whole case topic has been read at least once."""
        await self.ready.wait()

    async def on_start(self) -> None:
        """Opens a group-less consumer on every case partition, from the beginning."""
        topic = self.settings.topic(CASE)
        consumer = AIOKafkaConsumer(**aiokafka_config(self.settings), group_id=None, enable_auto_commit=False,
                                    auto_offset_reset="earliest",
                                    fetch_max_wait_ms=self.settings.stream_fetch_max_wait_ms)
        await consumer.start()
        self._consumer = consumer
        self._partitions = await _partitions_of(consumer, topic)
        consumer.assign(self._partitions)
        await consumer.seek_to_beginning(*self._partitions)

    async def on_stop(self) -> None:
        """Closes the consumer."""
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    @Service.task
    async def _read_forever(self) -> None:
        """Reads the case topic as it grows; reaching the end offsets seen at start sets `ready`."""
        assert self._consumer is not None
        asked_at = time.time()
        first_ends = await self._ends()
        while not self.should_stop:
            batches = await self._consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    if record.value is not None:
                        self.learn(record.value)
                        self.records_read += 1
            if not self.ready.is_set() and await self._reached(first_ends):
                self.caught_up_at = max(self.caught_up_at, asked_at)
                self.ready.set()
                log.info("registry_ready", subjects=len(self.index.keys_of), records_read=self.records_read)

    async def catch_up(self, timeout_s: float = 2.0) -> bool:
        """Waits (bounded) until every case record written before this call has been read; True if it was."""
        consumer = self._consumer
        if consumer is None:
            return False
        asked_at = time.time()
        ends = await self._ends()
        deadline = time.monotonic() + timeout_s
        while not await self._reached(ends):
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.01)
        self.caught_up_at = max(self.caught_up_at, asked_at)
        return True

    async def _ends(self) -> dict[TopicPartition, int]:
        """The case partitions' end offsets: the listed ones, or the high watermark this reader's own fetches saw
        when that is further (Tansu lists the start of a partition's last batch + 1)."""
        assert self._consumer is not None
        listed = await self._consumer.end_offsets(self._partitions)
        return {tp: max(end, self._consumer.highwater(tp) or 0) for tp, end in listed.items()}

    async def _reached(self, ends: dict[TopicPartition, int]) -> bool:
        """True when the read position of every partition is at or past the given end offset."""
        assert self._consumer is not None
        positions = [await self._consumer.position(tp) for tp in ends]
        return all(position >= end for position, end in zip(positions, ends.values(), strict=True))


async def _partitions_of(consumer: AIOKafkaConsumer, topic: str, timeout_s: float = 30.0) -> list[TopicPartition]:
    """Every partition of a topic, waiting for the metadata to name them."""
    deadline = time.monotonic() + timeout_s
    while True:
        await consumer.topics()  # refreshes the cluster metadata
        found = consumer.partitions_for_topic(topic)
        if found:
            return [TopicPartition(topic, p) for p in sorted(found)]
        if time.monotonic() >= deadline:
            raise RuntimeError(f"topic {topic} does not exist: provision it first (drive-alerts topics apply)")
        await asyncio.sleep(0.2)
