"""The real pipeline a replay drives: topics, the connectors intake over a temp journal, the in-process faust
worker, simulated-clock ticks, an idle check over the worker's counters, and a reader of new alerts."""
from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog
from kafka import TopicPartition

from connectors.intake.submit import Intake, IntakeOutcome, Origin, build_intake
from entrypoints.bootstrap import provision
from entrypoints.replay.scenario import Publish
from migrations import upgrade
from runtime.codec import codec_for
from runtime.db import make_engine
from runtime.kafka import make_consumer, make_producer, read_to_end
from runtime.settings import Settings
from schemas.catalogue import SOURCE_TOPICS
from schemas.subject_events import SUBJECT_EVENTS
from streams.app import create_app
from streams.ticks import send_ticks
from streams.worker import start_worker, stop_worker

log = structlog.get_logger(__name__)
POLL_S = 0.02


class PipelineStuck(RuntimeError):
    """The worker did not process everything sent to it within the timeout."""


class ReplayPipeline:
    """One replay's pipeline on a broker: open() before use, close() after (the worker stops first)."""

    def __init__(self, settings: Settings, workdir: Path, scenario_name: str) -> None:
        self.settings = settings
        self.workdir = workdir
        self.scenario_name = scenario_name
        self.accepted: Counter[str] = Counter()  # records the intake accepted, by source topic
        self.ticks_sent = 0
        self.app: Any = None
        self._worker: Any = None
        self._engine: Any = None
        self._producer: Any = None
        self._intake: Intake | None = None
        self._alerts: TopicReader | None = None

    async def open(self) -> None:
        """Topics, journal, producer and intake, then the worker (returns once it is ready)."""

        settings = self.settings
        await asyncio.to_thread(provision, settings)
        url = settings.resolved_database_url
        await asyncio.to_thread(upgrade, url)
        self._engine = make_engine(url)
        self._producer = await asyncio.to_thread(make_producer, settings)
        self._intake = build_intake(settings, self._engine, self._producer)
        self._alerts = await asyncio.to_thread(TopicReader, settings, settings.topic("alert"))
        self.app = create_app(settings, datadir=self.workdir / "streams")
        self._worker = await start_worker(self.app)

    async def close(self) -> None:
        """The worker first (stopping the broker under a running worker hangs it), then the clients."""

        try:
            if self._worker is not None:
                await stop_worker(self._worker)
        finally:
            for closer in (self._alerts, self._producer):
                if closer is not None:
                    await asyncio.to_thread(closer.close)
            if self._engine is not None:
                self._engine.dispose()

    async def publish(self, step: Publish) -> IntakeOutcome:
        """One scenario event through the connectors intake (validation, name hashing, dedupe, dead letters)."""
        assert self._intake is not None
        value = step.value
        source = value.get("source") if isinstance(value, dict) else None
        agency = source.get("agency") if isinstance(source, dict) else None
        origin = Origin(connector="replay", agency=agency if isinstance(agency, str) else None,
                        location=f"{self.scenario_name}#line={step.line}")

        def submit() -> IntakeOutcome:
            outcome = self._intake.submit(step.topic, value, origin)
            self._intake.flush()
            return outcome

        outcome = await asyncio.to_thread(submit)
        if outcome.status == "accepted":
            self.accepted[step.topic] += 1
        return outcome

    async def tick(self, now: datetime) -> None:
        """A tick at `now` to every partition of subject-events."""

        self.ticks_sent += await asyncio.to_thread(send_ticks, self._producer, self.settings, now)

    def backlog(self) -> dict[str, tuple[int, int]]:
        """{agent: (processed, sent)} for every agent that has not yet processed all it was sent."""
        processed, forwarded = self.app.processed, self.app.forwarded
        sent = {topic: self.accepted[topic] for topic in SOURCE_TOPICS}
        sent[SUBJECT_EVENTS] = sum(forwarded.values()) + self.ticks_sent
        return {agent: (processed[agent], n) for agent, n in sent.items() if processed[agent] < n}

    async def wait_idle(self, timeout_s: float) -> None:
        """Returns once every accepted record and every tick has been fully processed; PipelineStuck otherwise."""
        deadline = time.monotonic() + timeout_s
        while backlog := self.backlog():
            if self._worker.should_stop:
                raise PipelineStuck("the worker stopped (interrupted?) before the pipeline finished")
            if time.monotonic() >= deadline:
                behind = ", ".join(f"{agent} {done}/{sent}" for agent, (done, sent) in sorted(backlog.items()))
                raise PipelineStuck(f"the pipeline did not finish within {timeout_s:g} s (processed/sent: {behind})")
            await asyncio.sleep(POLL_S)

    async def new_alerts(self, timeout_s: float) -> list[dict[str, Any]]:
        """The alert datums published since the last call (the worker acknowledged them before counting)."""
        assert self._alerts is not None
        codec = codec_for(self.settings)
        records = await asyncio.to_thread(self._alerts.read_new, timeout_s)
        return [codec.decode(r.value, "alert") for r in records]


class TopicReader:
    """Reads topics from the beginning, a batch at a time up to their current end (no consumer group)."""

    def __init__(self, settings: Settings, *topics: str) -> None:
        self.topics = topics
        self.consumer = make_consumer(settings)
        partitions = [tp for topic in topics for tp in self._partitions(topic)]
        self.consumer.assign(partitions)
        self.consumer.seek_to_beginning(*partitions)
        self.partitions = partitions

    def _partitions(self, topic: str, timeout_s: float = 30.0) -> list[TopicPartition]:
        deadline = time.monotonic() + timeout_s
        while not (found := self.consumer.partitions_for_topic(topic)):
            if time.monotonic() >= deadline:
                raise PipelineStuck(f"topic {topic} has no partitions")
            time.sleep(0.1)
        return [TopicPartition(topic, p) for p in sorted(found)]

    def read_new(self, timeout_s: float) -> list[Any]:
        """Every record between the last read and the topics' end now, in partition order."""
        ends = self.consumer.end_offsets(self.partitions)
        deadline = time.monotonic() + timeout_s
        records: list[Any] = []
        while not all(read_to_end(self.consumer, tp, ends[tp]) for tp in self.partitions):
            if time.monotonic() >= deadline:
                raise PipelineStuck(f"{', '.join(self.topics)} could not be read within {timeout_s:g} s")
            for batch in self.consumer.poll(timeout_ms=200).values():
                records += batch
        return records

    def close(self) -> None:
        """Closes the consumer."""
        self.consumer.close()
