"""The typed classes are generated from the .avsc files, and the checked-in modules are what the generator writes."""
from __future__ import annotations

import dataclasses
import io
import struct
from datetime import UTC, datetime

import pytest
from fastavro import parse_schema, schemaless_writer

from schemas import avro_schemas as registry
from schemas.codec import AvroCodec
from schemas.enums import ConditionKind, PersonIdScheme
from schemas.events import RECORD_CLASSES, Condition, Event, PersonId, event_from_datum
from schemas.generate import main, render_all, stale
from schemas.jsonform import from_json
from tests.samples.events import RECORD_SAMPLES, SAMPLES

CODEC = AvroCodec()


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


@pytest.mark.parametrize("key", sorted(SAMPLES) + sorted((t, None) for t in RECORD_SAMPLES))
def test_decode_typed_gives_what_decode_then_from_datum_gives(key):
    """AvroCodec.decode_typed (timestamps read as numbers, converted once) equals the two-step path."""
    topic, event_type = key
    data = CODEC.encode(topic, from_json(topic, SAMPLES[key] if event_type else RECORD_SAMPLES[topic]))
    two_step = (event_from_datum(topic, CODEC.decode(data, topic)) if event_type
                else RECORD_CLASSES[topic].from_datum(CODEC.decode(data, topic)))
    typed = CODEC.decode_typed(data, topic)
    assert typed == two_step and typed.to_datum() == two_step.to_datum()


def test_decode_typed_resolves_older_versions():
    """incident v1 bytes decode to the latest class, risk_level None, times as aware UTC datetimes."""
    datum = from_json("incident", SAMPLES[("incident", "DOMESTIC_INCIDENT")])
    del datum["details"]["risk_level"]
    datum["details"] = ("drive.incident.DomesticIncident", datum["details"])
    out = io.BytesIO()
    out.write(struct.pack(">bI", 0, 1))
    schemaless_writer(out, parse_schema(registry.schema_for("incident", 1)), datum)
    event = CODEC.decode_typed(out.getvalue(), "incident")
    assert event.details.risk_level is None and event.occurred_at == datetime(2026, 11, 22, 9, 41, tzinfo=UTC)
    assert event.occurred_at.tzinfo is UTC and event == event_from_datum("incident", CODEC.decode(out.getvalue()))
