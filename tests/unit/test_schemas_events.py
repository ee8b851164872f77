"""The typed event classes mirror the .avsc records field for field, and convert to and from datums losslessly."""
from __future__ import annotations

import dataclasses
import types
import typing
from datetime import UTC, date, datetime

import pytest

import schemas.enums as enums
from schemas import avro_schemas as registry
from schemas._schemawalk import named_types, resolve, type_name
from schemas.catalogue import EVENT_TYPES, SOURCE_TOPICS, TOPICS
from schemas.codec import AvroCodec
from schemas.details import DETAILS_CLASSES, LinkedVictim, OnCallShift
from schemas.enums import CaseEventType, ConditionKind, LocationKind, PersonIdScheme, Severity, StaffRole
from schemas.errors import FieldError
from schemas.events import (
    RECORD_CLASSES,
    Alert,
    AlertRecipient,
    DeadLetter,
    DeadLetterSource,
    DeliveryEvent,
    Event,
    event_from_datum,
)
from schemas.jsonform import from_json, to_json
from schemas.shared import Condition, CurfewHours, LocationRef, PersonId, Source
from tests.samples.events import RECORD_SAMPLES, SAMPLES

CODEC = AvroCodec()
RECORD_CLASS_BY_AVRO_NAME = {
    **{name: cls for name, cls in DETAILS_CLASSES.items()},
    **{cls.__name__: cls for cls in (PersonId, Source, LocationRef, CurfewHours, Condition, Alert, AlertRecipient,
                                     DeliveryEvent, DeadLetter, DeadLetterSource, FieldError, LinkedVictim,
                                     OnCallShift)},
    **{TOPICS[t].value_schema.rsplit(".", 1)[1]: Event for t in SOURCE_TOPICS},
}
ALL_RECORDS = {}
ALL_ENUMS = {}
for _topic in TOPICS:
    for _name, (_definition, _ns) in named_types(registry.schema_for(_topic)).items():
        (ALL_RECORDS if _definition["type"] == "record" else ALL_ENUMS)[_name] = (_topic, _definition, _ns)


def _expected_hint(field_type, namespace, names):
    """What Python type a field of this Avro type should be hinted as, as a comparable description."""
    node, namespace = resolve(field_type, namespace, names)
    kind = type_name(node)
    if kind == "union":
        (branch,) = [b for b in node if b != "null"]
        return ("optional", _expected_hint(branch, namespace, names))
    if isinstance(node, dict) and node.get("logicalType") == "timestamp-millis":
        return datetime
    if isinstance(node, dict) and node.get("logicalType") == "date":
        return date
    if kind == "array":
        return ("tuple", _expected_hint(node["items"], namespace, names))
    if kind in ("record", "enum"):
        return node["name"]
    return {"string": str, "boolean": bool, "int": int, "long": int, "bytes": bytes}[kind]


def _actual_hint(hint):
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return ("optional", _actual_hint(args[0])) if len(args) == 1 else "union"
    if origin is tuple:
        return ("tuple", _actual_hint(typing.get_args(hint)[0]))
    if isinstance(hint, type) and (dataclasses.is_dataclass(hint) or issubclass(hint, enums.StrEnum)):
        return hint.__name__
    return hint


@pytest.mark.parametrize("avro_name", sorted(ALL_RECORDS))
def test_dataclass_matches_avro_record_field_for_field(avro_name):
    """Each Avro record has a dataclass with the same fields, in order, with matching types and optionality."""
    topic, definition, namespace = ALL_RECORDS[avro_name]
    cls = RECORD_CLASS_BY_AVRO_NAME[definition["name"]]
    names = named_types(registry.schema_for(topic))
    own = {"code"} if cls is FieldError else set()  # FieldError keeps its reason code beside the Avro fields
    assert [f.name for f in dataclasses.fields(cls) if f.name not in own] == [f["name"] for f in definition["fields"]]
    hints = typing.get_type_hints(cls)
    for field in definition["fields"]:
        if cls is Event and field["name"] in ("event_type", "details"):
            continue  # one class for five topics: checked by test_event_type_enums_cover_the_topics
        expected = _expected_hint(field["type"], namespace, names)
        assert _actual_hint(hints[field["name"]]) == expected, f"{avro_name}.{field['name']}"


@pytest.mark.parametrize("avro_name", sorted(ALL_ENUMS))
def test_str_enum_matches_avro_enum(avro_name):
    """Each Avro enum has a StrEnum with exactly its symbols, in order."""
    _, definition, _ = ALL_ENUMS[avro_name]
    enum_cls = getattr(enums, definition["name"])
    assert [m.value for m in enum_cls] == definition["symbols"]


def test_every_record_class_is_used_by_some_schema():
    """No dataclass is left over from a record that no longer exists."""
    avro_short_names = {d["name"] for _, d, _ in ALL_RECORDS.values()}
    assert set(DETAILS_CLASSES) <= avro_short_names
    assert {name for name in dir(enums) if isinstance(getattr(enums, name), type)
            and issubclass(getattr(enums, name), enums.StrEnum) and name != "StrEnum"} == \
        {d["name"] for _, d, _ in ALL_ENUMS.values()}


def test_event_type_enums_cover_the_topics():
    """The event type enum of each topic lists that topic's event types and UNKNOWN."""
    from schemas.events import EVENT_TYPE_ENUMS
    for topic in SOURCE_TOPICS:
        assert [m.value for m in EVENT_TYPE_ENUMS[topic]] == [*EVENT_TYPES[topic], "UNKNOWN"]


@pytest.mark.parametrize(("topic", "event_type"), sorted(SAMPLES))
def test_event_round_trips_through_the_typed_class(topic, event_type):
    """Decoded datum -> Event -> to_datum -> JSON form gives back the sample."""
    event = event_from_datum(topic, CODEC.decode(CODEC.encode(topic, from_json(topic, SAMPLES[(topic, event_type)]))))
    assert event.topic == topic and event.event_type == event_type
    assert type(event.details).__name__ == EVENT_TYPES[topic][event_type]
    assert event.occurred_at.tzinfo is UTC
    assert to_json(topic, event.to_datum()) == SAMPLES[(topic, event_type)]
    assert CODEC.encode(topic, event.to_datum())[5:] == CODEC.encode(topic, from_json(topic, SAMPLES[(topic, event_type)]))[5:]


@pytest.mark.parametrize("topic", sorted(RECORD_SAMPLES))
def test_alert_delivery_dead_letter_round_trip(topic):
    """The non-envelope records convert to their classes and back without loss."""
    record = RECORD_CLASSES[topic].from_datum(CODEC.decode(CODEC.encode(topic, from_json(topic, RECORD_SAMPLES[topic]))))
    assert to_json(topic, record.to_datum()) == RECORD_SAMPLES[topic]


def test_typed_values_are_enums_tuples_and_utc_datetimes():
    """Enums become StrEnums, arrays tuples, timestamps aware UTC datetimes, even from another offset."""
    datum = from_json("bail", {**SAMPLES[("bail", "BAIL_GRANTED")], "occurred_at": "2026-11-22T11:41:00+02:00"})
    event = event_from_datum("bail", datum)
    assert event.occurred_at == datetime(2026, 11, 22, 9, 41, tzinfo=UTC) and event.occurred_at.tzinfo is UTC
    assert event.person_ids == (PersonId(scheme=PersonIdScheme.PNC, value="2019/0012345A"),)
    assert event.person_ids[0].key() == "PNC:2019/0012345A"
    curfew = event.details.conditions[2]
    assert curfew.kind is ConditionKind.CURFEW and curfew.curfew == CurfewHours(start="19:00", end="07:00")
    assert curfew.location_ref == LocationRef(kind=LocationKind.UPRN, value="100070345678")
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.event_id = "x"  # type: ignore[misc]


def test_events_can_be_built_in_code_and_encoded():
    """An Event and an Alert built from the classes encode and decode to equal objects."""
    event = Event(
        event_id="e-1", event_type=CaseEventType.STAFF_UPDATED, source=Source(agency="drive", system="cms"),
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC), recorded_at=datetime(2026, 1, 1, tzinfo=UTC),
        schema_version=1,
        details=DETAILS_CLASSES["StaffMember"](staff_id="s-1", role=StaffRole.IDVA, active=True),
    )
    assert event_from_datum("case", CODEC.decode(CODEC.encode("case", event.to_datum()))) == event
    alert = Alert(alert_id="a-1", rule="R", severity=Severity.HIGH, subject_id="DRV-1",
                  raised_at=datetime(2026, 1, 1, tzinfo=UTC),
                  recipients=(AlertRecipient(staff_id="s-1", role=StaffRole.IDVA, text="t"),))
    assert Alert.from_datum(CODEC.decode(CODEC.encode("alert", alert.to_datum()))) == alert


def test_event_from_datum_needs_the_topic():
    """Event.from_datum refuses: the topic decides the event type enum and details class."""
    with pytest.raises(TypeError, match="event_from_datum"):
        Event.from_datum({})
