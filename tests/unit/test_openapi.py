"""The intake's OpenAPI document and problem types: valid OpenAPI 3.1, current in docs/, and built from the contract."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
from openapi_spec_validator import validate

from connectors.http.openapi import openapi_document, openapi_text
from connectors.http.problems import FIELD_ERRORS, FIELD_TITLES, REFUSALS
from connectors.intake.codes import PARSER_CODES, TITLES, RefusalCode
from entrypoints.commands.openapi import problems_markdown
from runtime.problems import json_pointer
from schemas.catalogue import EVENT_TYPES, SOURCE_TOPICS
from schemas.errors import Reason
from schemas.jsonschema import json_schema
from tests.samples.events import SAMPLES

DOCS = Path(__file__).resolve().parents[2] / "docs"
DOCUMENT = openapi_document()


def test_docs_hold_the_current_openapi_document_and_problem_types() -> None:
    """docs/openapi.json and docs/problems.md are what the code generates (drive-alerts openapi [--problems])."""
    assert (DOCS / "openapi.json").read_text(encoding="utf-8") == openapi_text(), \
        "regenerate: drive-alerts openapi > docs/openapi.json"
    assert (DOCS / "problems.md").read_text(encoding="utf-8") == problems_markdown(), \
        "regenerate: drive-alerts openapi --problems > docs/problems.md"


def test_the_document_is_valid_openapi_3_1() -> None:
    """openapi-spec-validator accepts the document (its JSON Schemas included)."""
    validate(DOCUMENT)
    assert DOCUMENT["openapi"] == "3.1.0"


@pytest.mark.parametrize("topic", SOURCE_TOPICS)
def test_each_topic_embeds_the_contracts_json_schema(topic: str) -> None:
    """The topic's component is the contract's JSON Schema with its definitions hoisted beside it, unchanged."""
    schema = json_schema(topic)
    components = DOCUMENT["components"]["schemas"]
    for name, definition in schema.pop("$defs").items():
        assert json.dumps(components[name]).replace("#/components/schemas/", "#/$defs/") == json.dumps(definition)
    schema.pop("$schema"), schema.pop("$id")
    assert json.dumps(components[topic]).replace("#/components/schemas/", "#/$defs/") == json.dumps(schema)
    for record in EVENT_TYPES[topic].values():  # every event type's details has its own component
        assert f"drive.{topic}.{record}" in components


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_every_sample_event_is_a_valid_request_body(key: tuple[str, str]) -> None:
    """Every valid sample (as an integrator sends it) fits its path's request body, alone and in a batch."""
    topic, _ = key
    record = copy.deepcopy(SAMPLES[key])
    if record.pop("name_hash", None) is not None:
        record["person_name"] = "Jane Example"
    body = DOCUMENT["paths"][f"/v1/topics/{topic}/events"]["post"]["requestBody"]["content"]["application/json"]
    validator = jsonschema.Draft202012Validator({**body["schema"], "components": DOCUMENT["components"]})
    assert [e.message for e in validator.iter_errors(record)] == []
    assert [e.message for e in validator.iter_errors({"records": [record, record]})] == []
    assert list(validator.iter_errors({"records": [record], "extra": 1}))


def test_every_code_has_a_problem_type() -> None:
    """Each refusal code, each parser reason's code and each contract reason has its row (and anchor)."""
    assert set(TITLES) == set(RefusalCode)
    assert set(PARSER_CODES.values()) <= set(RefusalCode)
    assert set(FIELD_TITLES) == set(Reason)
    page = problems_markdown()
    for section, codes in ((REFUSALS, REFUSALS.rows), (FIELD_ERRORS, FIELD_ERRORS.rows)):
        for code in codes:
            assert f'<a id="{section.anchor(code)}"></a>`{code}`' in page
    anchors = [REFUSALS.anchor(c) for c in REFUSALS.rows] + [FIELD_ERRORS.anchor(c) for c in FIELD_ERRORS.rows]
    assert len(anchors) == len(set(anchors))


@pytest.mark.parametrize(("path", "pointer"), [
    ("details.conditions[0].kind", "/details/conditions/0/kind"),
    ("", ""),
    ("person_ids[12]", "/person_ids/12"),
    ("a/b.c~d", "/a~1b/c~0d"),
])
def test_field_paths_become_json_pointers(path: str, pointer: str) -> None:
    """RFC 6901: segments joined by /, with ~ and / escaped."""
    assert json_pointer(path) == pointer
    assert json_pointer(path, "/records/3") == "/records/3" + pointer


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_each_event_type_has_its_own_schema(key: tuple[str, str]) -> None:
    """`<topic>.<EVENT_TYPE>` takes that type's records and no other type's details (the topic's rules resolved)."""
    topic, event_type = key
    record = copy.deepcopy(SAMPLES[key])
    record.pop("name_hash", None)
    schema = {"$ref": f"#/components/schemas/{topic}.{event_type}", "components": DOCUMENT["components"]}
    assert [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(record)] == []
    properties = DOCUMENT["components"]["schemas"][f"{topic}.{event_type}"]["properties"]
    assert properties["event_type"] == {"const": event_type}
    assert properties["details"]["$ref"] == f"#/components/schemas/drive.{topic}.{EVENT_TYPES[topic][event_type]}"
