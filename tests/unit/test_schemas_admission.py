"""The door's contract checks, one function for the intake and the replay oracle."""
from __future__ import annotations

import pytest

from entrypoints.replay.model import EngineReplay
from entrypoints.replay.scenario import Publish
from schemas.admission import NOT_AN_OBJECT, UNKNOWN_TOPIC, VALIDATION_FAILED, Refused, admit, summary
from schemas.errors import FieldError, Reason
from tests.samples.events import sample


def _refused(topic, record, reduced=None, **kwargs):
    with pytest.raises(Refused) as caught:
        admit(topic, record, record if reduced is None else reduced, **kwargs)
    return caught.value


def test_a_good_record_gives_its_datum():
    """A valid name-reduced record gives the datum from_json gives."""
    record = sample("incident", "ARREST")
    assert admit("incident", record, record)["event_id"] == record["event_id"]


def test_each_refusal_has_its_dead_letter_code_errors_and_summary():
    """Unknown topic, not an object, a name hash sent by the agency, a contract breach: code, errors, reason."""
    assert _refused("alert", {}).code == UNKNOWN_TOPIC
    not_object = _refused("incident", [1])
    assert (not_object.code, not_object.errors) == (NOT_AN_OBJECT, (FieldError("", "must be a JSON object"),))
    hashed = _refused("incident", sample("incident", "ARREST", name_hash="0" * 64))
    assert hashed.code == VALIDATION_FAILED and hashed.errors[0].code is Reason.UNKNOWN_FIELD
    assert admit("incident", sample("incident", "ARREST", name_hash="0" * 64),
                 sample("incident", "ARREST", name_hash="0" * 64), name_hashed=True)
    bad = _refused("incident", sample("incident", "ARREST", event_id="", occurred_at="x", extra=1, other=2))
    assert bad.code == VALIDATION_FAILED and len(bad.errors) == 4
    assert bad.reason == summary(bad.errors) and bad.reason.endswith("(and 1 more)")


def test_the_replay_oracle_refuses_what_the_door_refuses_with_the_same_errors():
    """The oracle's refusal of a line holds exactly the errors admit gives (no second copy of the checks)."""
    oracle = EngineReplay("key")
    record = sample("incident", "ARREST", name_hash="0" * 64)
    result = oracle.run(Publish(line=3, topic="incident", value=record))
    assert result.refusal is not None and result.refusal.errors == _refused("incident", record).errors
    assert oracle.run(Publish(line=4, topic="incident", value="x")).refusal.errors == (
        FieldError("", "must be a JSON object"),)


def test_the_replay_oracle_dedupes_by_agency_and_event_id_like_the_intake():
    """The same record again is a duplicate, a different one under its id a conflict — but another agency's record
    with the same id is its own record (each agency numbers its own), as the intake's journal has it."""
    oracle = EngineReplay("key")
    police = sample("incident", "ARREST", event_id="SHARED-7")
    court = sample("court", "HEARING_LISTED", event_id="SHARED-7", source__agency="court.demo")
    assert oracle.run(Publish(line=1, topic="incident", value=police)).refusal is None
    assert oracle.run(Publish(line=2, topic="court", value=court)).refusal is None
    assert oracle.run(Publish(line=3, topic="incident", value=police)).refusal.status == "duplicate"
    changed = {**police, "person_ids": [{"scheme": "PNC", "value": "2001/0000001A"}]}
    assert oracle.run(Publish(line=4, topic="incident", value=changed)).refusal.status == "conflict"
