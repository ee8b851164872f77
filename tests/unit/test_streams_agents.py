"""The stream agents under faust's test_context: resolve, registry and correlate, with an in-memory publisher."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schemas.subject_events import KIND_POSSIBLE_MATCH, tick_headers
from streams.metrics import NOT_A_SUBJECT
from streams.rules import SubjectState
from tests.unit.streams_fixtures import SUBJECT, RecordingOutput, encoded, event_headers, test_app

PNC_KEY = b"PNC:2019/0012345A"
STRANGER = [{"scheme": "PNC", "value": "1999/9999999Z"}]
NAME_HASH = "ab" * 32


@pytest.fixture
def publisher():
    """What the agents send."""
    return RecordingOutput()


@pytest.fixture
def app(tmp_path, publisher, monkeypatch):
    """An app whose output goes to the recording publisher; failed records are retried without waiting."""
    monkeypatch.setattr("streams.agents.RETRY_DELAYS_S", (0.0, 0.0, 0.0))
    return test_app(tmp_path, publisher)


def registered(app, **case_overrides):
    """The registry reader has read the sample case (as if from the case topic) and is caught up."""
    raw = encoded("case", "CASE_OPENED", **case_overrides)
    app.registry.learn(raw)
    app.registry.ready.set()
    return raw


async def test_an_event_about_a_subject_is_forwarded_after_its_case(app, publisher):
    """A bail record of a registered person goes to subject-events keyed by the subject, the case snapshot first."""
    case_raw = registered(app)
    bail_raw = encoded("bail", "BAIL_GRANTED")
    async with app.resolve_agents["bail"].test_context() as agent:
        await agent.put(key=PNC_KEY, value=bail_raw)
    assert publisher.of("forward") == [(SUBJECT, "event", "case", case_raw), (SUBJECT, "event", "bail", bail_raw)]
    assert app.processed["bail"] == 1 and app.forwarded == {"case": 1, "bail": 1}


async def test_an_event_about_nobody_is_dropped_and_counted(app, publisher):
    """A record of a person not in the registry is forwarded nowhere and counted as not a subject."""
    registered(app)
    before = NOT_A_SUBJECT.labels("incident")._value.get()
    async with app.resolve_agents["incident"].test_context() as agent:
        await agent.put(key=b"PNC:1999/9999999Z", value=encoded("incident", "ARREST", person_ids=STRANGER))
    assert publisher.sent == []
    assert NOT_A_SUBJECT.labels("incident")._value.get() == before + 1
    assert app.processed["incident"] == 1


async def test_a_name_and_birth_date_match_is_forwarded_as_a_possible_match(app, publisher):
    """A record sharing only name hash and birth date goes to the candidate as possible_match, never as event."""
    registered(app, name_hash=NAME_HASH)
    raw = encoded("court", "WARRANT_ISSUED", person_ids=[{"scheme": "COURT_DEFENDANT", "value": "DEF-0"}],
                  name_hash=NAME_HASH)
    async with app.resolve_agents["court"].test_context() as agent:
        await agent.put(key=b"COURT_DEFENDANT:DEF-0", value=raw)
    forwards = publisher.of("forward")
    assert forwards[-1] == (SUBJECT, KIND_POSSIBLE_MATCH, "court", raw)
    assert [kind for _, kind, topic, _ in forwards if topic == "court"] == [KIND_POSSIBLE_MATCH]


async def test_unreadable_source_bytes_are_dead_lettered_and_the_agent_goes_on(app, publisher):
    """Garbage on a source topic becomes a STREAM_DECODE_FAILED dead letter; the next record is still resolved."""
    registered(app)
    async with app.resolve_agents["breach"].test_context() as agent:
        await agent.put(key=b"x", value=b"not avro")
        await agent.put(key=PNC_KEY, value=encoded("breach", "BREACH_REPORTED"))
    [letter] = publisher.of("dead_letter")
    assert (letter.reason, letter.raw, letter.intended_topic) == ("STREAM_DECODE_FAILED", b"not avro", "breach")
    assert [topic for _, _, topic, _ in publisher.of("forward")] == ["case", "breach"]
    assert app.processed["breach"] == 2


async def test_case_snapshots_are_forwarded_and_staff_records_ignored(app, publisher):
    """The registry agent sends case snapshots to their subject and drops STAFF_UPDATED."""
    case_raw = encoded("case", "CASE_OPENED")
    async with app.registry_agent.test_context() as agent:
        await agent.put(key=SUBJECT.encode(), value=case_raw)
        await agent.put(key=b"staff:staff-dm-01", value=encoded("case", "STAFF_UPDATED"))
    assert publisher.of("forward") == [(SUBJECT, "event", "case", case_raw)]
    assert app.processed["case"] == 2


async def correlate(app, *records):
    """Puts (topic, raw[, kind]) records for SUBJECT on partition 0 of subject-events; the alerts of each."""
    async with app.correlate_agent.test_context() as agent:
        for topic, raw, *kind in records:
            await agent.put(key=SUBJECT.encode(), value=raw, partition=0, headers=event_headers(topic, *kind))
        return [agent.results[i] for i in range(len(records))]


async def test_a_release_on_bail_alerts_the_case_manager_and_idva(app, publisher):
    """Case then bail granted: one release.bail alert to the case manager and the victim's IDVA, state saved."""
    results = await correlate(app, ("case", encoded("case", "CASE_OPENED")), ("bail", encoded("bail", "BAIL_GRANTED")))
    assert results[0] == []
    [alert] = results[1]
    assert alert.rule == "release.bail"
    assert {r.staff_id for r in alert.recipients} == {"staff-cm-01", "staff-idva-07"}
    assert publisher.of("alert") == [alert]
    assert len(SubjectState.from_dict(app.states.get(SUBJECT)).conditions) == 3


async def test_the_same_event_twice_raises_one_alert(app, publisher):
    """A redelivered record changes nothing and raises nothing the second time."""
    bail_raw = encoded("bail", "BAIL_GRANTED")
    await correlate(app, ("case", encoded("case", "CASE_OPENED")), ("bail", bail_raw), ("bail", bail_raw))
    assert [a.rule for a in publisher.of("alert")] == ["release.bail"]


async def test_a_transient_publish_failure_is_retried_and_the_alert_goes_out(app, publisher):
    """Two refused publishes, then the broker takes it: the alert is published and nothing is dead-lettered."""
    await correlate(app, ("case", encoded("case", "CASE_OPENED")))
    publisher.fail_next_alerts = 2
    [alerts] = await correlate(app, ("bail", encoded("bail", "BAIL_GRANTED")))
    assert [a.rule for a in alerts] == ["release.bail"]
    assert publisher.of("dead_letter") == []


async def test_state_is_not_saved_when_the_alert_cannot_be_published(app, publisher):
    """If publishing the alert fails, the state table keeps the state from before the event (the alert is not lost:
    the record is dead-lettered and a redelivery would raise it again)."""
    await correlate(app, ("case", encoded("case", "CASE_OPENED")))
    before = app.states.get(SUBJECT)
    publisher.fail_alerts = True
    bail_raw = encoded("bail", "BAIL_GRANTED")
    results = await correlate(app, ("bail", bail_raw))
    assert results == [[]]
    assert app.states.get(SUBJECT) == before
    [letter] = publisher.of("dead_letter")
    assert (letter.reason, letter.raw) == ("STREAM_PUBLISH_FAILED", bail_raw)
    publisher.fail_alerts = False
    assert [a.rule for a in (await correlate(app, ("bail", bail_raw)))[0]] == ["release.bail"]


async def test_a_tick_fires_the_expiry_warning_of_a_due_subject(app, publisher):
    """After bail expiring 2027-02-20, a tick on the subject's partition on 2027-02-18 raises expiry.upcoming once."""
    await correlate(app, ("case", encoded("case", "CASE_OPENED")), ("bail", encoded("bail", "BAIL_GRANTED")))
    assert SUBJECT in app.due.get("0")
    at = datetime(2027, 2, 18, tzinfo=UTC)
    async with app.correlate_agent.test_context() as agent:
        await agent.put(key=None, value=b"", partition=1, headers=tick_headers(at))
        await agent.put(key=None, value=b"", partition=0, headers=tick_headers(at))
        await agent.put(key=None, value=b"", partition=0, headers=tick_headers(at))
        results = [agent.results[i] for i in range(3)]
    assert results[0] == [] and results[2] == []
    assert [a.rule for a in results[1]] == ["expiry.upcoming"]


async def test_a_tick_creates_no_subject(app, publisher):
    """A tick on a partition with nothing due writes no state and raises nothing."""
    async with app.correlate_agent.test_context() as agent:
        await agent.put(key=None, value=b"", partition=3, headers=tick_headers(datetime(2027, 1, 1, tzinfo=UTC)))
        assert agent.results[0] == []
    assert list(app.states.keys()) == [] and app.processed["subject-events"] == 1


async def test_a_record_of_unknown_kind_is_dead_lettered(app, publisher):
    """A subject-events record with an unknown kind is refused, not guessed at."""
    await correlate(app, ("bail", encoded("bail", "BAIL_GRANTED"), "mystery"))
    assert [d.reason for d in publisher.of("dead_letter")] == ["STREAM_UNKNOWN_KIND"]
    assert app.states.get(SUBJECT) is None
