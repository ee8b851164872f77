"""A worker handed partitions with a backlog handles all of it, however long faust's seek after recovery takes."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest
from faust.transport.drivers import aiokafka as faust_aiokafka

from entrypoints.bootstrap import provision
from schemas.codec import AvroCodec
from schemas.subject_events import SUBJECT_EVENTS, header
from streams.batches import BatchProcessor
from streams.transport import FetchWaitConsumer
from tests.integration.streams_harness import PNC, Feed, running_worker, wait_until
from tests.kafka_helpers import read_topic

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
BACKLOG = 40
SLOW_SEEK_S = 1.0  # the seek to the committed offsets after recovery: one broker round trip per partition
SLOW_RECORD_S = 0.05  # each record's work (registry catch-ups, broker acks): a backlog stays queued a while


@pytest.fixture
def slow_seek_and_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    """Slows faust's seek to the committed offsets and each record's work: records the fetcher delivers during
    the seek are still being handled when faust resumes the flow after it."""
    seek, handle = faust_aiokafka.Consumer.seek_to_committed, BatchProcessor.handle

    async def seek_then_wait(self: Any) -> Any:
        offsets = await seek(self)
        await asyncio.sleep(SLOW_SEEK_S)
        return offsets

    async def slow_handle(self: Any, messages: Any) -> Any:
        await asyncio.sleep(SLOW_RECORD_S * len(messages))
        return await handle(self, messages)

    monkeypatch.setattr(FetchWaitConsumer, "seek_to_committed", seek_then_wait)
    monkeypatch.setattr(BatchProcessor, "handle", slow_handle)


def forwarded_ids(settings: Any) -> set[str]:
    """Event ids of the bail records forwarded to subject-events (the whole topic, ticks and cases aside)."""
    codec = AvroCodec(prefix=settings.topic_prefix)
    records = read_topic(settings.kafka_bootstrap, settings.topic(SUBJECT_EVENTS), 10**6, timeout=15.0, to_end=True)
    return {codec.decode(value, "bail")["event_id"] for _, value, headers in records
            if header(headers, "topic") == "bail"}


async def test_a_backlog_waiting_for_a_restarted_worker_is_forwarded_whole(settings: Any, tmp_path: Any,
                                                                            slow_seek_and_agent: None) -> None:
    """Every bail record published while no worker ran reaches subject-events once a worker with state to
    recover starts: none is lost in the seek after the table recovery."""
    provision(settings)
    feed = Feed(settings)
    try:
        feed.send("case", "CASE_OPENED")
        async with running_worker(settings, tmp_path / "w1") as app:  # leaves the subject's state in a changelog
            await wait_until(lambda: app.processed["subject-events"] >= 1, timeout=20.0)
        sent = {feed.send("bail", "BAIL_GRANTED", person_ids=[PNC])["event_id"] for _ in range(BACKLOG)}
    finally:
        feed.close()
    async with running_worker(settings, tmp_path / "w2") as app:
        await wait_until(lambda: app.processed["bail"] >= BACKLOG, timeout=20.0)
    assert await asyncio.to_thread(forwarded_ids, settings) == sent
