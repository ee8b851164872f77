"""Integration helpers for the streams: provision, produce contract samples, run an in-process worker, read alerts."""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from entrypoints.bootstrap import provision
from runtime.kafka import make_producer
from runtime.settings import Settings
from schemas.codec import AvroCodec
from schemas.jsonform import from_json
from streams.app import StreamsApp, create_app
from streams.worker import start_worker, stop_worker
from tests.kafka_helpers import read_topic
from tests.samples.events import sample

SUBJECT = "DRV-000123"
PNC = {"scheme": "PNC", "value": "2019/0012345A"}
ZONE_EXCLUSION = {"condition_id": "C9", "kind": "EXCLUSION_ZONE", "location_ref": {"kind": "EM_ZONE",
                  "value": "ZONE-B15-2"}, "starts_at": "2026-11-20T14:00:00Z"}


class Feed:
    """Produces contract samples to the source topics, keyed as the catalogue says."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.codec = AvroCodec(prefix=settings.topic_prefix)
        self.producer = make_producer(settings)

    def send(self, topic: str, event_type: str, **overrides: Any) -> dict:
        """Sends one sample (name_hash dropped unless given) and waits for the broker's ack; returns the record."""
        record = sample(topic, event_type, **overrides)
        if "name_hash" not in overrides:
            record.pop("name_hash", None)
        ids = record["person_ids"]
        key = record["details"]["subject_id"] if topic == "case" else f"{ids[0]['scheme']}:{ids[0]['value']}"
        value = self.codec.encode(topic, from_json(topic, record))
        self.producer.send(self.settings.topic(topic), key=key.encode(), value=value).get(timeout=10)
        return record

    def close(self) -> None:
        self.producer.close()


def alerts_on_topic(settings: Settings, n: int, timeout: float = 20.0) -> list[dict]:
    """Up to n decoded alerts of the alert topic (fewer if the timeout passes first)."""
    codec = AvroCodec(prefix=settings.topic_prefix)
    records = read_topic(settings.kafka_bootstrap, settings.topic("alert"), n, timeout=timeout)
    return [codec.decode(value, "alert") for _, value, _ in records]


async def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Polls until condition() holds; AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def idle(app: StreamsApp, sources: dict[str, int]) -> bool:
    """Every produced source record was handled and everything forwarded was correlated."""
    return (all(app.processed[t] >= n for t, n in sources.items())
            and app.processed["subject-events"] >= sum(app.forwarded.values()))


@asynccontextmanager
async def running_worker(settings: Settings, datadir: Path) -> AsyncIterator[StreamsApp]:
    """A streams worker in this event loop, stopped on exit."""
    await asyncio.to_thread(provision, settings)
    app = create_app(settings, datadir=datadir)
    worker = await start_worker(app)
    try:
        yield app
    finally:
        await stop_worker(worker)
