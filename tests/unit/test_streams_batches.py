"""The batch processor: resolve, correlate, publish before writing state, bad records apart, timers by heap."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schemas.subject_events import KIND_POSSIBLE_MATCH, tick_headers
from streams.metrics import NOT_A_SUBJECT
from streams.subject_states import decode_state, subject_key
from tests.samples.events import sample
from tests.unit.streams_fixtures import SUBJECT, encoded, partition, streams

PNC_KEY = b"PNC:2019/0012345A"
STRANGER = [{"scheme": "PNC", "value": "1999/9999999Z"}]
NAME_HASH = "ab" * 32
OTHER = "DRV-000999"


@pytest.fixture
def s(tmp_path):
    """A batch processor over memory tables and a recording output."""
    return streams(tmp_path)


def registered(s, **case_overrides):
    """The registry reader has read the sample case (as if from the case topic) and is caught up."""
    raw = encoded("case", "CASE_OPENED", **case_overrides)
    s.registry.learn(raw)
    s.registry.ready.set()
    return raw


def stored(s, subject=SUBJECT):
    """The subject's state as the state table holds it (None: nothing stored)."""
    value = s.states.states.store.get_in(partition(subject), subject_key(subject))
    return decode_state(value) if value is not None else None


# ---------------------------------------------------------------------- resolve

async def test_an_event_about_a_subject_is_forwarded_after_its_case(s):
    """A bail record of a registered person goes to subject-events keyed by the subject, the case snapshot first."""
    case_raw = registered(s)
    bail_raw = encoded("bail", "BAIL_GRANTED")
    await s.source("bail", bail_raw, PNC_KEY)
    assert s.output.of("forward") == [(SUBJECT, "event", "case", case_raw), (SUBJECT, "event", "bail", bail_raw)]
    assert s.processor.processed["bail"] == 1 and s.forwarded == {"case": 1, "bail": 1}


async def test_an_event_about_nobody_is_dropped_and_counted(s):
    """A record of a person not in the registry is forwarded nowhere and counted as not a subject."""
    registered(s)
    before = NOT_A_SUBJECT.labels("incident")._value.get()
    await s.source("incident", encoded("incident", "ARREST", person_ids=STRANGER))
    assert s.output.sent == []
    assert NOT_A_SUBJECT.labels("incident")._value.get() == before + 1
    assert s.processor.processed["incident"] == 1


async def test_a_name_and_birth_date_match_is_forwarded_as_a_possible_match(s):
    """A record sharing only name hash and birth date goes to the candidate as possible_match, never as event."""
    registered(s, name_hash=NAME_HASH)
    raw = encoded("court", "WARRANT_ISSUED", person_ids=[{"scheme": "COURT_DEFENDANT", "value": "DEF-0"}],
                  name_hash=NAME_HASH)
    await s.source("court", raw)
    forwards = s.output.of("forward")
    assert forwards[-1] == (SUBJECT, KIND_POSSIBLE_MATCH, "court", raw)
    assert [kind for _, kind, topic, _ in forwards if topic == "court"] == [KIND_POSSIBLE_MATCH]


async def test_unreadable_source_bytes_are_dead_lettered_and_the_batch_goes_on(s):
    """Garbage on a source topic becomes a STREAM_DECODE_FAILED dead letter; the next record is still resolved."""
    registered(s)
    await s.batch(s.message("breach", b"not avro"), s.message("breach", encoded("breach", "BREACH_REPORTED")))
    [letter] = s.output.of("dead_letter")
    assert (letter.reason, letter.raw, letter.intended_topic) == ("STREAM_DECODE_FAILED", b"not avro", "breach")
    assert [topic for _, _, topic, _ in s.output.of("forward")] == ["case", "breach"]
    assert s.processor.processed["breach"] == 2


async def test_case_snapshots_are_forwarded_and_staff_records_ignored(s):
    """Case snapshots go to their subject; STAFF_UPDATED is dropped."""
    case_raw = encoded("case", "CASE_OPENED")
    await s.batch(s.message("case", case_raw), s.message("case", encoded("case", "STAFF_UPDATED")))
    assert s.output.of("forward") == [(SUBJECT, "event", "case", case_raw)]
    assert s.processor.processed["case"] == 2


# ---------------------------------------------------------------------- correlate

async def test_a_release_on_bail_alerts_the_case_manager_and_idva(s):
    """Case then bail granted in one batch: one release.bail alert to the case manager and the IDVA, state saved."""
    await s.batch(s.forwarded_event("case", encoded("case", "CASE_OPENED")),
                  s.forwarded_event("bail", encoded("bail", "BAIL_GRANTED")))
    [alert] = s.output.of("alert")
    assert alert.rule == "release.bail"
    assert {r.staff_id for r in alert.recipients} == {"staff-cm-01", "staff-idva-07"}
    assert len(stored(s).conditions) == 3


async def test_the_same_event_twice_raises_one_alert(s):
    """A redelivered record changes nothing and raises nothing the second time (also across batches)."""
    bail_raw = encoded("bail", "BAIL_GRANTED")
    await s.batch(s.forwarded_event("case", encoded("case", "CASE_OPENED")), s.forwarded_event("bail", bail_raw),
                  s.forwarded_event("bail", bail_raw))
    await s.batch(s.forwarded_event("bail", bail_raw))
    assert [a.rule for a in s.output.of("alert")] == ["release.bail"]


async def test_each_subjects_state_is_written_once_per_batch_to_its_partition(s):
    """Two subjects, two records each, one batch: one state write per subject, on the subject's partition."""
    other_case = {**sample("case", "CASE_OPENED")["details"], "subject_id": OTHER}
    await s.batch(s.forwarded_event("case", encoded("case", "CASE_OPENED")),
                  s.forwarded_event("case", encoded("case", "CASE_OPENED", details=other_case), OTHER),
                  s.forwarded_event("bail", encoded("bail", "BAIL_GRANTED")),
                  s.forwarded_event("incident", encoded("incident", "ARREST"), OTHER))
    writes = [(p, key) for table, p, key in s.output.of("write") if table == "subject-state"]
    assert sorted(writes) == sorted([(partition(SUBJECT), subject_key(SUBJECT)), (partition(OTHER), subject_key(OTHER))])


async def test_alerts_are_acknowledged_before_any_state_is_written(s):
    """The batch's alerts reach the broker first; then the changelog records; a crash in between raises again."""
    await s.batch(s.forwarded_event("case", encoded("case", "CASE_OPENED")),
                  s.forwarded_event("bail", encoded("bail", "BAIL_GRANTED")))
    kinds = [kind for kind, _ in s.output.sent]
    assert kinds.index("write") > kinds.index("alert")


async def test_a_bad_record_is_dead_lettered_and_the_rest_of_the_batch_goes_on(s):
    """Garbage between case and bail becomes a STREAM_DECODE_FAILED dead letter; the bail still raises its alert."""
    garbage = s.forwarded_event("bail", b"not avro")
    await s.batch(s.forwarded_event("case", encoded("case", "CASE_OPENED")), garbage,
                  s.forwarded_event("bail", encoded("bail", "BAIL_GRANTED")))
    assert [d.reason for d in s.output.of("dead_letter")] == ["STREAM_DECODE_FAILED"]
    assert [a.rule for a in s.output.of("alert")] == ["release.bail"]


async def test_a_record_of_unknown_kind_is_dead_lettered(s):
    """A subject-events record with an unknown kind is refused, not guessed at."""
    await s.batch(s.forwarded_event("bail", encoded("bail", "BAIL_GRANTED"), kind="mystery"))
    assert [d.reason for d in s.output.of("dead_letter")] == ["STREAM_UNKNOWN_KIND"]
    assert stored(s) is None


async def test_a_broker_fault_is_retried_until_the_alert_goes_out(s):
    """Two refused publishes, then the broker takes it: the alert is published, nothing is dead-lettered."""
    await s.batch(s.forwarded_event("case", encoded("case", "CASE_OPENED")))
    s.output.fail_next = 2
    await s.batch(s.forwarded_event("bail", encoded("bail", "BAIL_GRANTED")))
    assert [a.rule for a in s.output.of("alert")] == ["release.bail"]
    assert s.output.of("dead_letter") == []


async def test_nothing_is_written_when_a_stopping_worker_cannot_publish(tmp_path):
    """A worker stopping while the broker refuses gives up: the batch raises, no state is stored (the records are
    not acknowledged, so they are read again), and a later try raises the alert."""
    s = streams(tmp_path, stopping=lambda: True)
    await s.batch(s.forwarded_event("case", encoded("case", "CASE_OPENED")))
    before = stored(s)
    s.output.fail_next = 1
    bail = encoded("bail", "BAIL_GRANTED")
    with pytest.raises(ConnectionError):
        await s.batch(s.forwarded_event("bail", bail))
    assert stored(s) == before and s.output.of("alert") == []
    await s.batch(s.forwarded_event("bail", bail))
    assert [a.rule for a in s.output.of("alert")] == ["release.bail"]


# ---------------------------------------------------------------------- timers

def tick(s, at, p):
    return s.message("subject-events", b"", partition=p, headers=tick_headers(at))


async def test_a_tick_fires_the_expiry_warning_of_a_due_subject_once(s):
    """After bail expiring 2027-02-20, a tick on the subject's partition on 2027-02-18 raises expiry.upcoming once;
    a tick on another partition raises nothing."""
    await s.batch(s.forwarded_event("case", encoded("case", "CASE_OPENED")),
                  s.forwarded_event("bail", encoded("bail", "BAIL_GRANTED")))
    at, mine = datetime(2027, 2, 18, tzinfo=UTC), partition(SUBJECT)
    await s.batch(tick(s, at, (mine + 1) % 6))
    await s.batch(tick(s, at, mine))
    await s.batch(tick(s, at, mine))
    assert [a.rule for a in s.output.of("alert")] == ["release.bail", "expiry.upcoming"]


async def test_a_tick_in_a_batch_sees_the_due_time_set_earlier_in_it(s):
    """Case, bail and a tick two days before the bail ends, in one batch: the expiry warning is raised."""
    await s.batch(s.forwarded_event("case", encoded("case", "CASE_OPENED")),
                  s.forwarded_event("bail", encoded("bail", "BAIL_GRANTED")),
                  tick(s, datetime(2027, 2, 18, tzinfo=UTC), partition(SUBJECT)))
    assert [a.rule for a in s.output.of("alert")] == ["release.bail", "expiry.upcoming"]


async def test_timers_survive_a_restart_of_the_cache(s):
    """The timer heap and state cache are rebuilt from the tables (as after a rebalance or a restart)."""
    await s.batch(s.forwarded_event("case", encoded("case", "CASE_OPENED")),
                  s.forwarded_event("bail", encoded("bail", "BAIL_GRANTED")))
    s.states.forget()
    await s.batch(tick(s, datetime(2027, 2, 18, tzinfo=UTC), partition(SUBJECT)))
    assert [a.rule for a in s.output.of("alert")][-1] == "expiry.upcoming"


async def test_a_tick_creates_no_subject(s):
    """A tick on a partition with nothing due writes nothing and raises nothing."""
    await s.batch(tick(s, datetime(2027, 1, 1, tzinfo=UTC), 3))
    assert s.output.sent == [] and s.processor.processed["subject-events"] == 1
