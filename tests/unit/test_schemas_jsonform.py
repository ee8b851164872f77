"""The integrator JSON form: every sample round-trips exactly, and every contract breach is named by path."""
from __future__ import annotations

import copy
from datetime import UTC, date, datetime

import pytest

from schemas.codec import AvroCodec
from schemas.jsonform import FieldError, ValidationFailed, from_json, to_json, validate
from tests.samples.events import RECORD_SAMPLES, SAMPLES, sample

CODEC = AvroCodec()


def _errors(topic, obj):
    with pytest.raises(ValidationFailed) as caught:
        from_json(topic, obj)
    return caught.value.errors


@pytest.mark.parametrize(("topic", "event_type"), sorted(SAMPLES))
def test_every_event_type_round_trips_through_the_codec(topic, event_type):
    """from_json -> encode -> decode -> to_json gives back the sample exactly."""
    record = SAMPLES[(topic, event_type)]
    assert to_json(topic, CODEC.decode(CODEC.encode(topic, from_json(topic, record)))) == record


@pytest.mark.parametrize("topic", sorted(RECORD_SAMPLES))
def test_alert_delivery_and_dead_letter_round_trip(topic):
    """Non-envelope topics round-trip through the JSON form and the codec too."""
    record = RECORD_SAMPLES[topic]
    assert to_json(topic, CODEC.decode(CODEC.encode(topic, from_json(topic, record)))) == record


def test_sample_helper_gives_fresh_ids_and_nested_overrides():
    """sample() deep-copies, gives a new event_id each call and applies a__b overrides."""
    first, second = sample("bail", "BAIL_GRANTED"), sample("bail", "BAIL_GRANTED", details__bail_ref="B-9")
    assert first["event_id"] != second["event_id"]
    assert second["details"]["bail_ref"] == "B-9" and SAMPLES[("bail", "BAIL_GRANTED")]["details"]["bail_ref"] != "B-9"
    assert sample("alert")["alert_id"] != sample("alert")["alert_id"]


def test_conversion_gives_aware_datetimes_dates_and_plain_details():
    """Timestamps become aware datetimes, dates dates, bytes bytes, and details stays a plain dict."""
    datum = from_json("incident", sample("incident", "DOMESTIC_INCIDENT", occurred_at="2026-11-22T11:41:00+02:00"))
    assert datum["occurred_at"] == datetime(2026, 11, 22, 9, 41, tzinfo=UTC)
    assert datum["occurred_at"].tzinfo is not None
    assert datum["date_of_birth"] == date(1988, 3, 14)
    assert datum["details"]["risk_level"] == "HIGH" and isinstance(datum["details"], dict)
    assert from_json("dead-letter", sample("dead-letter"))["raw"] == b'{"event_id": ""}'


def test_to_json_normalises_offsets_to_utc_and_leaves_out_nulls():
    """A +02:00 timestamp comes back as UTC with Z; absent optional fields stay absent."""
    record = sample("incident", "ARREST", occurred_at="2026-11-22T11:41:00.5+02:00")
    out = to_json("incident", from_json("incident", record))
    assert out["occurred_at"] == "2026-11-22T09:41:00.500Z"
    assert "name_hash" not in out and "date_of_birth" in out


def test_optional_fields_default_when_absent():
    """Absent optional fields become null and absent arrays []."""
    record = sample("incident", "DOMESTIC_INCIDENT")
    del record["details"]["victim_refs"], record["details"]["location_ref"], record["date_of_birth"]
    datum = from_json("incident", record)
    assert datum["details"]["victim_refs"] == [] and datum["details"]["location_ref"] is None
    assert datum["date_of_birth"] is None and datum["name_hash"] is not None


def test_top_level_non_object_is_refused_at_the_root():
    """A JSON array or string instead of an object is one error at path ''."""
    assert _errors("incident", [1, 2]) == [FieldError("", "must be a JSON object")]
    assert _errors("bail", "x") == [FieldError("", "must be a JSON object")]


def test_missing_required_fields_are_each_named():
    """Every missing required field is reported, nested ones by full path."""
    record = sample("bail", "BAIL_GRANTED")
    del record["occurred_at"], record["source"]["system"], record["details"]["conditions"][0]["condition_id"]
    assert _errors("bail", record) == [
        FieldError("source.system", "required field missing"),
        FieldError("occurred_at", "required field missing"),
        FieldError("details.conditions[0].condition_id", "required field missing"),
    ]


def test_unknown_fields_are_refused_including_person_name():
    """person_name and any other field not in the contract are refused wherever they appear."""
    record = sample("incident", "ARREST", person_name="Someone", details__address="1 High St")
    record["person_ids"][0]["note"] = "x"
    assert _errors("incident", record) == [
        FieldError("person_ids[0].note", "unknown field"),
        FieldError("details.address", "unknown field"),
        FieldError("person_name", "unknown field"),
    ]


def test_wrong_types_are_named_with_the_expected_type():
    """Each field of the wrong JSON type is named with what it must be."""
    record = sample("incident", "DOMESTIC_INCIDENT", schema_version="2", details__injury="yes",
                    details__victim_refs="VIC-1", source=[], details__location_ref=5)
    record["person_ids"][1]["value"] = 12
    assert _errors("incident", record) == [
        FieldError("source", "must be an object"),
        FieldError("person_ids[1].value", "must be a string"),
        FieldError("schema_version", "must be an integer"),
        FieldError("details.victim_refs", "must be an array"),
        FieldError("details.location_ref", "must be an object"),
        FieldError("details.injury", "must be true or false"),
    ]


def test_nulls_and_empty_strings_are_refused_for_required_fields():
    """null in a required field and an empty identifier are errors; null in an optional field is fine."""
    record = sample("court", "HEARING_LISTED", details__court_code=None, details__court_case_ref="")
    assert _errors("court", record) == [
        FieldError("details.court_case_ref", "must not be empty"),
        FieldError("details.court_code", "must not be null"),
    ]
    assert validate("court", sample("court", "WARRANT_ISSUED", details__court_case_ref=None)) == []


def test_bad_enum_symbols_list_the_allowed_ones():
    """A symbol outside the enum names every allowed symbol; the reader-only UNKNOWN is not accepted."""
    record = sample("bail", "BAIL_GRANTED", details__bail_kind="UNKNOWN")
    record["details"]["conditions"][0]["kind"] = "NO_CONTCT"
    assert _errors("bail", record) == [
        FieldError("details.bail_kind", "must be one of PRE_CHARGE, COURT"),
        FieldError("details.conditions[0].kind",
                   "must be one of NO_CONTACT, EXCLUSION_ZONE, CURFEW, RESIDENCE, NO_APPROACH_SCHOOL, OTHER"),
    ]


def test_event_type_must_belong_to_the_topic():
    """An event type of another topic is refused with the topic's own list, and details is not guessed at."""
    record = sample("bail", "BAIL_EXPIRED", event_type="ARREST")
    assert _errors("bail", record) == [FieldError(
        "event_type", "must be one of BAIL_GRANTED, BAIL_VARIED, BAIL_REVOKED, BAIL_EXPIRED, "
                      "RELEASED_UNDER_INVESTIGATION, REMANDED")]


def test_details_shape_follows_the_event_type():
    """Details valid for one event type are checked against the record of the declared event type."""
    record = sample("court", "ORDER_DISCHARGED", event_type="HEARING_LISTED")
    assert _errors("court", record) == [
        FieldError("details.court_case_ref", "required field missing"),
        FieldError("details.court_code", "required field missing"),
        FieldError("details.hearing_at", "required field missing"),
        FieldError("details.hearing_type", "required field missing"),
        FieldError("details.order_ref", "unknown field"),
        FieldError("details.order_type", "unknown field"),
    ]
    assert _errors("court", {**sample("court", "ORDER_EXPIRED"), "details": []}) == [
        FieldError("details", "must be an object")]


@pytest.mark.parametrize(("value", "message"), [
    ("2026-11-22T10:00:00", "must include a time zone (Z or +HH:MM), e.g. 2026-11-22T10:00:00Z"),
    ("2026-11-22", "must be an ISO-8601 timestamp with a time zone, e.g. 2026-11-22T10:00:00Z"),
    ("22/11/2026 10:00", "must be an ISO-8601 timestamp with a time zone, e.g. 2026-11-22T10:00:00Z"),
    (1763805600000, "must be an ISO-8601 timestamp with a time zone, e.g. 2026-11-22T10:00:00Z"),
])
def test_timestamps_need_iso_8601_with_a_zone(value, message):
    """Naive, date-only, non-ISO and numeric timestamps are refused with the expected message."""
    assert _errors("breach", sample("breach", "EM_TAG_TAMPER", recorded_at=value)) == [FieldError("recorded_at", message)]


@pytest.mark.parametrize("value", ["14/03/1988", "1988-02-30", "1988-3-14", 19880314])
def test_dates_need_yyyy_mm_dd(value):
    """Dates must be real calendar dates written YYYY-MM-DD."""
    assert _errors("breach", sample("breach", "EM_TAG_TAMPER", date_of_birth=value)) == [
        FieldError("date_of_birth", "must be a date YYYY-MM-DD")]


@pytest.mark.parametrize("event_id", ["", "x" * 129])
def test_event_id_is_1_to_128_characters(event_id):
    """An empty or overlong event_id is refused; 128 characters is accepted."""
    assert _errors("breach", sample("breach", "EM_TAG_TAMPER", event_id=event_id)) == [
        FieldError("event_id", "must be 1 to 128 characters")]
    assert validate("breach", sample("breach", "EM_TAG_TAMPER", event_id="x" * 128)) == []


def test_person_ids_must_not_be_empty_except_for_staff_updates():
    """An event with no person identifier is refused, except STAFF_UPDATED."""
    assert _errors("incident", sample("incident", "ARREST", person_ids=[])) == [
        FieldError("person_ids", "must hold at least one identifier")]
    assert validate("case", sample("case", "STAFF_UPDATED", person_ids=[])) == []


@pytest.mark.parametrize(("version", "ok"), [(0, False), (1, True), (2, True), (3, False)])
def test_schema_version_must_be_a_known_version(version, ok):
    """schema_version must be between 1 and the latest version of the topic."""
    errors = validate("incident", sample("incident", "ARREST", schema_version=version))
    expected = [] if ok else [FieldError("schema_version", "must be between 1 and 2 (the latest version of this topic)")]
    assert errors == expected


def test_conditions_need_what_their_kind_needs():
    """A curfew needs hours and an address, a no-contact a protected person; bad hours are named."""
    record = sample("bail", "BAIL_GRANTED")
    record["details"]["conditions"] = [
        {"condition_id": "C1", "kind": "NO_CONTACT", "starts_at": "2026-11-20T14:00:00Z"},
        {"condition_id": "C3", "kind": "CURFEW", "curfew": {"start": "7pm", "end": "24:00"},
         "starts_at": "2026-11-20T14:00:00Z"},
    ]
    assert _errors("bail", record) == [
        FieldError("details.conditions[0].protected_person_ref", "required when kind is NO_CONTACT"),
        FieldError("details.conditions[1].curfew.start", "must be a time of day HH:MM (24-hour)"),
        FieldError("details.conditions[1].curfew.end", "must be a time of day HH:MM (24-hour)"),
        FieldError("details.conditions[1].location_ref", "required when kind is CURFEW"),
    ]


def test_all_errors_are_collected_and_summarised():
    """Many problems give many errors at once, and the exception message counts them."""
    record = sample("incident", "ARREST", event_id="", event_type="X", occurred_at="now", extra=1)
    with pytest.raises(ValidationFailed) as caught:
        from_json("incident", record)
    assert [e.path for e in caught.value.errors] == ["event_id", "event_type", "occurred_at", "extra"]
    assert str(caught.value).startswith("4 invalid field(s): event_id: must be 1 to 128 characters")


def test_bytes_must_be_base64_and_field_error_path_may_be_empty():
    """Dead-letter raw must be base64; an error path of '' (whole record) is allowed."""
    record = sample("dead-letter", raw="not base64!", errors=[{"path": "", "message": "must be a JSON object"}])
    assert _errors("dead-letter", record) == [FieldError("raw", "must be base64 text")]


def test_input_is_not_modified():
    """from_json leaves the caller's object as it was."""
    record = sample("court", "ORDER_ISSUED")
    before = copy.deepcopy(record)
    from_json("court", record)
    assert record == before
