"""The exported JSON Schema of each topic: valid 2020-12, current on disk, and agreeing with the validator."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from schemas.catalogue import TOPICS
from schemas.jsonform import validate
from schemas.jsonschema import json_schema
from tests.samples.events import RECORD_SAMPLES, SAMPLES, sample

DOCS = Path(__file__).resolve().parents[2] / "docs" / "json-schema"
VALIDATORS = {topic: jsonschema.Draft202012Validator(json_schema(topic)) for topic in TOPICS}
NOT_COMPARED = ("_at", "until", "date_of_birth", "event_type", "name_hash")  # times: ISO forms differ; name_hash: door


def _door_form(record):
    """A sample as an integrator sends it: person_name instead of name_hash."""
    record = copy.deepcopy(record)
    if record.pop("name_hash", None) is not None:
        record["person_name"] = "Jane Example"
    return record


def _datum_form(record):
    """The same record as the validator sees it after the door: name_hash instead of person_name."""
    record = copy.deepcopy(record)
    if record.pop("person_name", None) is not None:
        record["name_hash"] = "0" * 64
    return record


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_each_topic_has_a_valid_json_schema_exported_to_docs(topic):
    """The schema is valid 2020-12 and docs/json-schema/<topic>.json holds exactly it."""
    jsonschema.Draft202012Validator.check_schema(json_schema(topic))
    assert json.loads((DOCS / f"{topic}.json").read_text(encoding="utf-8")) == json_schema(topic)


@pytest.mark.parametrize("key", sorted(SAMPLES) + sorted((t, None) for t in RECORD_SAMPLES))
def test_every_sample_is_valid_against_its_json_schema(key):
    """Every valid sample (in the door form for source topics) passes the JSON Schema."""
    topic, event_type = key
    record = _door_form(SAMPLES[key]) if event_type else RECORD_SAMPLES[topic]
    assert [e.message for e in VALIDATORS[topic].iter_errors(record)] == []


@pytest.mark.parametrize(("topic", "event_type", "changes"), [
    ("incident", "ARREST", {"details__force_area": "West Midlands"}),
    ("incident", "ARREST", {"person_ids": []}),
    ("incident", "ARREST", {"details__address": "1 High St"}),
    ("incident", "DOMESTIC_INCIDENT", {"details__victim_refs": ["Jane Smith"]}),
    ("incident", "DOMESTIC_INCIDENT", {"details__location_ref": {"kind": "UPRN", "value": "B15 2"}}),
    ("incident", "ARREST", {"person_ids": [{"scheme": "PNC", "value": "not a pnc"}]}),
    ("breach", "EM_TAG_TAMPER", {"event_id": "x\u200by"}),
    ("breach", "EM_TAG_TAMPER", {"schema_version": 2}),
    ("bail", "BAIL_GRANTED", {"details__bail_kind": "UNKNOWN"}),
    ("court", "HEARING_LISTED", {"details__court_code": None}),
    ("case", "STAFF_UPDATED", {"details__phone_e164": "07700900123"}),
])
def test_what_the_validator_refuses_the_json_schema_refuses(topic, event_type, changes):
    """Codes, references, formats by kind and scheme, counts, enums and characters are in the JSON Schema too."""
    record = sample(topic, event_type, **changes)
    assert validate(topic, _datum_form(record)) != []
    assert not VALIDATORS[topic].is_valid(_door_form(record))


def test_the_door_form_takes_person_name_never_name_hash():
    """Integrators may send person_name (hashed at the door); name_hash is made there, never sent."""
    assert VALIDATORS["incident"].is_valid(sample("incident", "ARREST", person_name="Jane Example"))
    assert not VALIDATORS["incident"].is_valid(sample("incident", "ARREST", name_hash="0" * 64))


def test_conditions_need_what_their_kind_needs_in_the_json_schema_too():
    """A curfew without hours and a no-contact condition without a person are refused by both."""
    record = sample("bail", "BAIL_GRANTED")
    del record["details"]["conditions"][2]["curfew"]
    assert validate("bail", record) != [] and not VALIDATORS["bail"].is_valid(_door_form(record))
    staff = sample("case", "STAFF_UPDATED", person_ids=[])
    assert validate("case", staff) == [] and VALIDATORS["case"].is_valid(staff)


def _string_leaves(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _string_leaves(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _string_leaves(item, (*path, i))
    elif isinstance(value, str) and not any(str(path[-1]).endswith(t) for t in NOT_COMPARED):
        yield path


BMP = st.characters(max_codepoint=0xFFFF, blacklist_categories=["Cn"])
STRINGS = (st.text(BMP, max_size=12) | st.from_regex(r"[A-Z]{1,3}[0-9]{0,3}[-/ ]?[0-9A-Z]{0,8}", fullmatch=True)
           | st.sampled_from(["E23000014", "BTP", "100070345678", "B15 2", "X123456", "A1234BC", "2019/0012345A",
                              "NO_CONTACT", "staff-cm-01", "", "B01LY00", "404"]))


@given(st.sampled_from(sorted(SAMPLES)), st.data(), STRINGS)
@hsettings(max_examples=300, deadline=None)
def test_the_validator_and_the_json_schema_agree_on_any_string(key, data, replacement):
    """Replace any string of a sample (but times) by another: both accept it or both refuse it."""
    topic, _ = key
    record = copy.deepcopy(SAMPLES[key])
    path = data.draw(st.sampled_from(list(_string_leaves(record))))
    target = record
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = replacement
    assert (validate(topic, record) == []) == VALIDATORS[topic].is_valid(_door_form(record)), path
