"""Codes are codes, and validation is bounded and total: formats, code lists, lengths, characters, times, reasons."""
from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from schemas.errors import FieldError, Reason, ValidationFailed
from schemas.jsonform import Limits, from_json, validate
from tests.samples.events import RECORD_SAMPLES, SAMPLES, sample

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _problems(topic, record, **kwargs):
    return [(e.path, e.code) for e in validate(topic, record, **kwargs)]


@pytest.mark.parametrize("value", ["WM", "West Midlands", "1 High Street, Birmingham", "e23000014", "E2300001"])
def test_force_area_is_a_code_from_the_list(value):
    """A force area must be one of the listed codes; free text (an address, a name) is refused naming the form."""
    errors = validate("incident", sample("incident", "ARREST", details__force_area=value))
    assert [(e.path, e.code) for e in errors] == [
        ("details.force_area", Reason.TOO_LONG if len(value) > 9 else Reason.UNKNOWN_CODE)]
    assert "ONS code of a force area" in errors[0].message
    assert validate("incident", sample("incident", "ARREST", details__force_area="BTP")) == []


@pytest.mark.parametrize(("field", "value"), [
    ("incident_ref", "Jane Smith"), ("incident_ref", "JANESMITH"), ("incident_ref", "-WM-1"),
    ("incident_ref", "WM 1"), ("incident_ref", "x" * 65),
])
def test_refs_are_references_not_text(field, value):
    """A reference has no spaces, starts with a letter or digit, holds a digit and is at most 64 characters."""
    errors = validate("incident", sample("incident", "DOMESTIC_INCIDENT", **{f"details__{field}": value}))
    assert [e.path for e in errors] == [f"details.{field}"]
    assert errors[0].code in (Reason.PATTERN, Reason.TOO_LONG)


def test_victim_refs_and_registry_refs_refuse_names():
    """A name put where a victim reference goes is refused, in an incident and in the case registry."""
    incident = sample("incident", "DOMESTIC_INCIDENT", details__victim_refs=["VIC-0001", "Jane Smith"])
    assert _problems("incident", incident) == [("details.victim_refs[1]", Reason.PATTERN)]
    case = sample("case", "VICTIM_LINKED")
    case["details"]["victims"][0]["victim_ref"] = "Jane"
    assert _problems("case", case) == [("details.victims[0].victim_ref", Reason.PATTERN)]


@pytest.mark.parametrize(("kind", "good", "bad"), [
    ("UPRN", "100070345678", "10007034567X"), ("POSTCODE_SECTOR", "SW1A 1", "sw1a 1"),
    ("POSTCODE_SECTOR", "B15 2", "B15 2TT"), ("EM_ZONE", "ZONE-B15-2", "Home of Jane"),
    ("COURT", "B01LY00", "Birmingham"),
    ("PRISON", "BMI", "HMP Birmingham"), ("OTHER", "SITE-7", "7 Acacia Avenue"),
])
def test_location_ref_value_follows_its_kind(kind, good, bad):
    """A UPRN is digits, a postcode sector an outward code and a digit, a court or prison its code."""
    record = sample("incident", "DOMESTIC_INCIDENT", details__location_ref={"kind": kind, "value": good})
    assert validate("incident", record) == []
    record["details"]["location_ref"]["value"] = bad
    errors = validate("incident", record)
    assert [e.path for e in errors] == ["details.location_ref.value"]
    assert errors[0].code in (Reason.PATTERN, Reason.TOO_LONG) and errors[0].message.startswith("must be a")


@pytest.mark.parametrize(("scheme", "good", "bad"), [
    ("PNC", "2019/0012345A", "2019-0012345A"), ("PNC", "19/123A", "John Smith"),
    ("PROBATION_CRN", "X123456", "X12345"), ("PRISON_NUMBER", "A1234BC", "A1234"),
    ("FORCE_NOMINAL", "WM-884211", "Smith, John"), ("OTHER", "REF-1", "no digits"),
])
def test_person_ids_follow_their_scheme(scheme, good, bad):
    """Each identifier scheme has its form; schemes without one take a reference."""
    for value, expected in ((good, []), (bad, [("person_ids[0].value", Reason.PATTERN)])):
        record = sample("incident", "ARREST", person_ids=[{"scheme": scheme, "value": value}])
        assert _problems("incident", record) == expected


def test_a_bad_scheme_leaves_the_value_to_the_plain_text_checks():
    """With an unknown scheme the value is not judged against a guessed format: one error, at the scheme."""
    record = sample("incident", "ARREST", person_ids=[{"scheme": "NHS", "value": "485 777 3456"}])
    assert _problems("incident", record) == [("person_ids[0].scheme", Reason.ENUM)]


@pytest.mark.parametrize(("topic", "event_type", "path", "value"), [
    ("court", "HEARING_LISTED", "details.court_code", "Birmingham Magistrates"),
    ("court", "PRISON_RELEASE", "details.prison_code", "HMPBIRMINGHAM"),
    ("bail", "BAIL_GRANTED", "source.system", "Niche RMS (live)"),
    ("bail", "BAIL_GRANTED", "source.agency", "police wm"),
    ("case", "STAFF_UPDATED", "details.staff_id", "Jane Smith"),
    ("case", "STAFF_UPDATED", "details.phone_e164", "07700 900123"),
    ("case", "STAFF_UPDATED", "details.email", "jane at example"),
    ("case", "CASE_OPENED", "details.case_manager_id", "staff cm 01"),
    ("case", "CASE_OPENED", "details.subject_id", "Smith"),
    ("bail", "BAIL_GRANTED", "details.conditions[0].condition_id", "no contact"),
])
def test_codes_and_ids_are_checked_everywhere(topic, event_type, path, value):
    """Court and prison codes, system and agency ids, staff and subject ids, phones and e-mails have their forms."""
    record = sample(topic, event_type)
    *parents, leaf = path.replace("[0]", ".0").split(".")
    target = record
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[leaf] = value
    errors = validate(topic, record)
    assert [e.path for e in errors] == [path] and errors[0].code in (Reason.PATTERN, Reason.TOO_LONG)
    assert errors[0].message.startswith("must be ")


@pytest.mark.parametrize(("value", "code"), [
    ("ev\x00il", Reason.CHARACTERS), ("ev\u202eil", Reason.CHARACTERS), ("ev\u200bil", Reason.CHARACTERS),
    ("line\nbreak", Reason.CHARACTERS), ("x-\ud800", Reason.ENCODING), ("x" * 129, Reason.TOO_LONG),
])
def test_event_ids_are_printable_valid_unicode_and_bounded(value, code):
    """NUL, bidi and zero-width characters, line breaks and lone surrogates are refused in ids."""
    assert _problems("breach", sample("breach", "EM_TAG_TAMPER", event_id=value)) == [("event_id", code)]
    assert validate("breach", sample("breach", "EM_TAG_TAMPER", event_id="wm-rms/2026·11·22 #1")) == []


def test_no_string_is_unbounded():
    """A 900 KB reference and a 5,000-character PNC id are refused as too long, not stored."""
    record = sample("incident", "ARREST", details__incident_ref="A1" * 450_000,
                    person_ids=[{"scheme": "PNC", "value": "9" * 5000}])
    assert _problems("incident", record) == [("person_ids[0].value", Reason.TOO_LONG),
                                             ("details.incident_ref", Reason.TOO_LONG)]
    assert "1 to 64 letters, digits" in validate("incident", record)[1].message
    assert validate("alert", {**sample("alert"), "group_key": "g" * 257}) == [
        FieldError("group_key", "must be at most 256 characters")]


def test_arrays_are_bounded():
    """More items than the contract allows is one error at the array; the items are not read."""
    record = sample("incident", "DOMESTIC_INCIDENT", details__victim_refs=[f"VIC-{i}" for i in range(21)])
    assert validate("incident", record) == [FieldError("details.victim_refs", "must hold at most 20 items")]


@pytest.mark.parametrize("value", ["0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00"])
def test_timestamps_outside_the_representable_range_are_refused(value):
    """A time whose UTC value leaves year 1..9999 is out_of_range, not an OverflowError."""
    errors = validate("breach", sample("breach", "EM_TAG_TAMPER", occurred_at=value))
    assert [(e.path, e.code) for e in errors] == [("occurred_at", Reason.OUT_OF_RANGE)]


def test_event_times_must_fall_in_the_window_around_now():
    """With `now`, occurred_at and recorded_at may be at most a day ahead and 20 years back (configurable)."""
    record = sample("incident", "ARREST", occurred_at="2999-01-01T00:00:00Z", recorded_at="1990-01-01T00:00:00Z")
    errors = validate("incident", record, now=NOW)
    assert [(e.path, e.code, e.message) for e in errors] == [
        ("occurred_at", Reason.OUT_OF_WINDOW, "must not be more than 1 day in the future"),
        ("recorded_at", Reason.OUT_OF_WINDOW, "must not be more than 7300 days in the past")]
    assert validate("incident", record) == []  # no now: no window
    assert validate("incident", record, now=NOW, limits=Limits(max_ahead=None, max_age=None)) == []
    tight = Limits(max_ahead=timedelta(minutes=15), max_age=timedelta(hours=36))
    near = sample("incident", "ARREST", occurred_at="2026-11-22T12:16:00Z", recorded_at="2026-11-20T23:00:00Z")
    assert [e.message for e in validate("incident", near, now=NOW, limits=tight)] == [
        "must not be more than 15 minutes in the future", "must not be more than 36 hours in the past"]
    hearing = sample("court", "HEARING_LISTED", details__hearing_at="2999-01-01T00:00:00Z")
    assert validate("court", hearing, now=NOW) == []  # a future hearing is no event time
    with pytest.raises(ValueError):
        validate("incident", record, now=datetime(2026, 1, 1))


def test_integers_out_of_range_are_refused():
    """An integer beyond the Avro int range is out_of_range."""
    assert _problems("incident", sample("incident", "ARREST", schema_version=2**40)) == [
        ("schema_version", Reason.OUT_OF_RANGE)]


def test_every_existing_refusal_has_its_reason_code():
    """The established messages keep their text and gain a machine code."""
    record = sample("bail", "BAIL_GRANTED", extra=1, details__bail_kind=None, schema_version="2")
    del record["occurred_at"]
    record["details"]["conditions"][0]["kind"] = "NOPE"
    record["details"]["conditions"][2]["curfew"]["start"] = "7pm"
    record["details"]["conditions"][1] = {**record["details"]["conditions"][1], "condition_id": ""}
    del record["details"]["conditions"][1]["location_ref"]
    assert [(e.path, e.code) for e in validate("bail", record)] == [
        ("occurred_at", Reason.REQUIRED), ("schema_version", Reason.TYPE), ("details.bail_kind", Reason.NULL),
        ("details.conditions[0].kind", Reason.ENUM), ("details.conditions[1].condition_id", Reason.EMPTY),
        ("details.conditions[1].location_ref", Reason.REQUIRED), ("details.conditions[2].curfew.start", Reason.PATTERN),
        ("extra", Reason.UNKNOWN_FIELD)]
    assert _problems("incident", sample("incident", "ARREST", person_ids=[])) == [("person_ids", Reason.TOO_FEW)]
    assert _problems("incident", sample("incident", "ARREST", occurred_at="now")) == [("occurred_at", Reason.FORMAT)]
    assert [e.code for e in validate("incident", [])] == [Reason.TYPE]


def test_unknown_field_names_are_shown_bounded_and_printable():
    """An unknown key is named in the path, but never more than 64 characters nor with control characters."""
    record = sample("breach", "EM_TAG_TAMPER", **{"k" * 500: 1, "a\x00b": 2})
    assert [e.path for e in validate("breach", record)] == ["k" * 64 + "…", "a?b"]


def test_the_list_of_problems_is_bounded():
    """Thousands of unknown fields give max_errors problems and one saying how many more."""
    record = sample("breach", "EM_TAG_TAMPER", **{f"x{i}": i for i in range(5000)})
    errors = validate("breach", record)
    assert len(errors) == 101 and errors[-1] == FieldError("", "4900 more problem(s) not listed")
    assert errors[-1].code is Reason.TOO_MANY_ERRORS
    assert len(validate("breach", record, limits=Limits(max_errors=3))) == 4


ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
    | st.sampled_from(["", "E23000014", "2026-11-22T10:00:00Z", "0001-01-01T00:30:00+01:00", "NO_CONTACT", "PNC"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)
SAMPLE_KEYS = sorted(SAMPLES) + [(topic, None) for topic in sorted(RECORD_SAMPLES)]


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*prefix, i))


@given(st.sampled_from(SAMPLE_KEYS), st.data(), ANY_JSON)
@hsettings(max_examples=400, deadline=None)
def test_any_value_anywhere_gives_a_datum_or_validation_failed(key, data, replacement):
    """Replace any part of any sample by any JSON-like value: from_json returns or raises ValidationFailed only."""
    topic, event_type = key
    record = copy.deepcopy(SAMPLES[key] if event_type else RECORD_SAMPLES[topic])
    path = data.draw(st.sampled_from(list(_paths(record))))
    if path:
        parent = record
        for part in path[:-1]:
            parent = parent[part]
        parent[path[-1]] = replacement
    else:
        record = replacement
    try:
        from_json(topic, record, now=NOW)
    except ValidationFailed as exc:
        assert exc.errors and all(isinstance(e.code, str) and e.message for e in exc.errors)
