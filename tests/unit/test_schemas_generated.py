"""The typed classes are generated from the .avsc files, and the checked-in modules are what the generator writes."""
from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from schemas.enums import ConditionKind, PersonIdScheme
from schemas.events import Condition, Event, PersonId, event_from_datum
from schemas.generate import main, render_all, stale
from schemas.jsonform import from_json
from tests.samples.events import SAMPLES


def test_generated_modules_are_current():
    """Every generated file equals what `python -m schemas.generate` writes now (run it after editing a schema)."""
    assert stale(render_all()) == []
    assert main(["--check"]) == 0


def test_the_staleness_check_sees_a_changed_file():
    """A generated file that differs from the generator's output is reported (so the test above can fail)."""
    files = render_all()
    path = "schemas/generated/common.py"
    assert stale({**files, path: files[path] + "# edited by hand\n"}) == [path]


def test_from_datum_builds_the_same_frozen_instances_as_the_constructor():
    """Records filled through their slot setters are equal, hash alike and stay frozen."""
    built = Condition.from_datum({"condition_id": "C1", "kind": "NO_CONTACT", "protected_person_ref": "VIC-0001",
                                  "starts_at": datetime(2026, 1, 1, tzinfo=UTC)})
    made = Condition(condition_id="C1", kind=ConditionKind.NO_CONTACT, protected_person_ref="VIC-0001",
                     starts_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert built == made and hash(built) == hash(made) and built.kind is ConditionKind.NO_CONTACT
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.condition_id = "C2"  # type: ignore[misc]
    assert PersonId.from_datum({"scheme": "PNC", "value": "20/1B"}).key() == "PNC:20/1B"


def test_unknown_symbols_and_event_types_are_refused():
    """A symbol no enum has raises ValueError, and an event type without a details record KeyError."""
    with pytest.raises(ValueError):
        PersonId.from_datum({"scheme": "NOPE", "value": "x"})
    datum = from_json("incident", SAMPLES[("incident", "ARREST")])
    with pytest.raises(KeyError):
        event_from_datum("incident", {**datum, "event_type": "UNKNOWN"})
    assert isinstance(event_from_datum("incident", datum), Event)
    assert PersonIdScheme("PNC") is PersonIdScheme.PNC
