"""The correlator over batches: in-order effects, per-partition changelogs, bad records apart, nothing saved unpublished."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from schemas.subject_events import tick_headers
from streams.app import rule_config
from streams.clock import StreamClock
from streams.correlate import Correlator
from streams.publish import StreamFailure
from streams.rules import SubjectState
from tests.samples.events import sample
from tests.unit.streams_fixtures import CODEC, SUBJECT, RecordingOutput, encoded, event_headers, unit_settings

OTHER = "DRV-000999"


@dataclass
class RecordingTable:
    """The parts of a faust table the correlator writes through: the store and the changelog."""

    data: dict[str, Any] = field(default_factory=dict)
    changelog: list[tuple[int, str]] = field(default_factory=list)  # (partition, key) in send order

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def send_changelog(self, partition: int, key: str, value: Any) -> None:
        self.changelog.append((partition, key))


@dataclass
class Record:
    """A subject-events message."""

    key: bytes | None
    value: bytes | None
    headers: Any
    partition: int


def event(topic: str, event_type: str, subject: str = SUBJECT, partition: int = 0, **overrides: Any) -> Record:
    """A forwarded source record for `subject` on `partition`."""
    return Record(subject.encode(), encoded(topic, event_type, **overrides), event_headers(topic), partition)


@pytest.fixture
def publisher():
    """What the correlator publishes."""
    return RecordingOutput()


@pytest.fixture
def correlator(tmp_path, publisher):
    """A correlator over recording tables, on the simulated clock."""
    return Correlator(RecordingTable(), RecordingTable(), CODEC, StreamClock("simulated"),
                      rule_config(unit_settings(tmp_path)), publisher)


async def test_a_later_record_in_a_batch_sees_an_earlier_ones_state(correlator, publisher):
    """Case then bail in one batch: the bail alert is raised, as it would be one record at a time."""
    outcomes = await correlator.handle_batch([event("case", "CASE_OPENED"), event("bail", "BAIL_GRANTED")])
    assert outcomes[0] == [] and [a.rule for a in outcomes[1]] == ["release.bail"]
    assert publisher.of("alert") == outcomes[1]
    assert len(SubjectState.from_dict(correlator.states.get(SUBJECT)).conditions) == 3


async def test_each_subjects_state_goes_to_its_own_partitions_changelog_once_per_batch(correlator):
    """Two subjects on partitions 0 and 3, two records each: one changelog record per subject, on its partition."""
    other_case = {**sample("case", "CASE_OPENED")["details"], "subject_id": OTHER}
    records = [event("case", "CASE_OPENED"), event("case", "CASE_OPENED", OTHER, 3, details=other_case),
               event("bail", "BAIL_GRANTED"), event("incident", "ARREST", OTHER, 3)]
    await correlator.handle_batch(records)
    assert sorted(correlator.states.changelog) == [(0, SUBJECT), (3, OTHER)]
    assert sorted(correlator.due.changelog) == [(0, "0")]


async def test_a_bad_record_is_returned_apart_and_the_rest_of_the_batch_goes_on(correlator, publisher):
    """Garbage between case and bail comes back as STREAM_DECODE_FAILED; the bail still raises its alert."""
    garbage = Record(SUBJECT.encode(), b"not avro", event_headers("bail"), 0)
    outcomes = await correlator.handle_batch([event("case", "CASE_OPENED"), garbage, event("bail", "BAIL_GRANTED")])
    assert isinstance(outcomes[1], StreamFailure) and outcomes[1].reason == "STREAM_DECODE_FAILED"
    assert [a.rule for a in outcomes[2]] == ["release.bail"]


async def test_nothing_is_written_when_the_batchs_alerts_cannot_be_published(correlator, publisher):
    """A refused publish raises STREAM_PUBLISH_FAILED and leaves both tables untouched."""
    publisher.fail_alerts = True
    with pytest.raises(StreamFailure) as refused:
        await correlator.handle_batch([event("case", "CASE_OPENED"), event("bail", "BAIL_GRANTED")])
    assert refused.value.reason == "STREAM_PUBLISH_FAILED"
    assert correlator.states.data == {} and correlator.states.changelog == []
    assert correlator.due.data == {} and correlator.due.changelog == []


async def test_a_tick_in_a_batch_sees_the_due_time_set_earlier_in_it(correlator):
    """Case, bail and a tick two days before the bail ends, in one batch: the expiry warning is raised."""
    tick = Record(None, b"", tick_headers(datetime(2027, 2, 18, tzinfo=UTC)), 0)
    outcomes = await correlator.handle_batch([event("case", "CASE_OPENED"), event("bail", "BAIL_GRANTED"), tick])
    assert [a.rule for a in outcomes[2]] == ["expiry.upcoming"]
