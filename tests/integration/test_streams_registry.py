"""The registry reader on the real broker: a full first read, and catching up with a case published just now."""
from __future__ import annotations

import time

import pytest

from entrypoints.bootstrap import provision
from schemas.codec import AvroCodec
from schemas.events import event_from_datum
from schemas.jsonform import from_json
from streams.case_registry import RegistryReader
from streams.rules import Resolved, resolve
from tests.integration.streams_harness import Feed
from tests.samples.events import sample

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


async def test_reader_is_ready_with_every_case_and_catches_up_with_a_new_one(settings):
    """After start the index holds the cases already published; catch_up() picks up one published a moment ago."""
    provision(settings)
    feed = Feed(settings)
    codec = AvroCodec(prefix=settings.topic_prefix)
    reader = RegistryReader(settings, codec)
    try:
        feed.send("case", "CASE_OPENED")
        await reader.start()
        await reader.wait_ready()
        assert set(reader.index.keys_of) == {"DRV-000123"}
        feed.send("case", "CASE_OPENED", details__subject_id="DRV-000888",
                  person_ids=[{"scheme": "DRIVE_SUBJECT", "value": "DRV-000888"}],
                  details__identifiers=[{"scheme": "PNC", "value": "2021/0000888R"}])
        published_at = time.time()
        assert reader.may_be_behind(published_at)
        assert await reader.catch_up(timeout_s=2.0)
        assert not reader.may_be_behind(published_at)
        bail = sample("bail", "BAIL_GRANTED", person_ids=[{"scheme": "PNC", "value": "2021/0000888R"}])
        assert resolve(reader.index, event_from_datum("bail", from_json("bail", bail))) == Resolved("DRV-000888")
    finally:
        await reader.stop()
        feed.close()
