"""Hostile input: arbitrary JSON, bytes, CSV and field values never crash a connector; each gets a 4xx or a dead letter."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from connectors.filedrop.rows import FileProblem, read_rows
from connectors.mappings import RowRejected, map_row
from connectors.mappings.config import default_mappings_dir, load_mappings
from schemas.errors import ValidationFailed
from schemas.jsonform import from_json, validate
from tests.integration.intake_wiring import read_records
from tests.integration.test_http_intake import POLICE_KEY, incident
from tests.security.hostile_stack import LiveIntake, live_intake

TOPICS = ("incident", "bail", "court", "breach", "case")
PROFILE = hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                          HealthCheck.too_slow])
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                                      max_size=4), max_leaves=12)


def mutated_incident(draw: Any) -> dict[str, Any]:
    """A valid incident with one top-level or details field replaced by an arbitrary JSON value (or removed)."""
    record = incident(event_id=f"hostile-{draw(st.uuids()).hex}")
    target = record if draw(st.booleans()) else record["details"]
    field = draw(st.sampled_from(sorted(target)))
    if draw(st.booleans()):
        del target[field]
    else:
        target[field] = draw(json_values)
    return record


@st.composite
def single_bodies(draw: Any) -> bytes:
    """A body holding one record (never a {"records": [...]} batch): JSON of any shape, a mutated record or bytes."""
    kind = draw(st.sampled_from(("json", "mutated", "bytes")))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    value = mutated_incident(draw) if kind == "mutated" else draw(json_values)
    if isinstance(value, dict):
        value.pop("records", None)
    return json.dumps(value).encode()


@given(topic=st.sampled_from(TOPICS), value=json_values)
def test_jsonform_never_crashes_on_arbitrary_json(topic: str, value: Any) -> None:
    """validate() returns field errors and from_json() raises only ValidationFailed, whatever the JSON."""
    errors = validate(topic, value)
    assert all(isinstance(e.path, str) and e.message for e in errors)
    try:
        from_json(topic, value)
    except ValidationFailed as failed:
        assert failed.errors
    else:
        assert errors == []


@given(name=st.sampled_from(("x.csv", "x.jsonl", "x.json", "x.txt")), data=st.binary(max_size=400))
def test_filedrop_rows_never_crash_on_arbitrary_bytes(name: str, data: bytes) -> None:
    """Any file gives rows (each with values or a problem) or one FileProblem; never another exception."""
    try:
        rows = list(read_rows(name, data))
    except FileProblem as problem:
        assert str(problem)
        return
    assert all((row.values is None) == bool(row.problem) for row in rows)


MAPPINGS = load_mappings(default_mappings_dir())


@given(index=st.integers(0, len(MAPPINGS) - 1), data=st.data())
def test_mappings_never_crash_on_arbitrary_cell_values(index: int, data: Any) -> None:
    """A row of arbitrary text cells under a shipped mapping's columns maps or is rejected with field errors."""
    mapping = MAPPINGS[index]
    columns = sorted(mapping.columns)
    row = data.draw(st.fixed_dictionaries({c: st.text(max_size=30) | st.sampled_from(["", " ", "2026-11-22"])
                                           for c in columns}))
    try:
        mapped = map_row(mapping, row)
    except RowRejected as rejected:
        assert rejected.errors and all(e.message for e in rejected.errors)
        return
    validate(mapping.topic, mapped.record)  # must not raise either


@pytest.fixture
def live(settings_factory: Any, sqlite_url: str) -> Iterator[LiveIntake]:
    """The real intake over HTTP (real broker, SQLite journal)."""
    with live_intake(settings_factory(intake_max_body_bytes=4096), sqlite_url) as served:
        yield served


@pytest.mark.integration
def test_http_intake_answers_every_hostile_body_with_2xx_or_4xx_and_dead_letters_each_refusal(live: LiveIntake) -> None:
    """Arbitrary single-record bodies: never a 5xx; every 4xx has a reason and exactly one dead letter."""
    answers: list[tuple[int, Any]] = []

    @PROFILE
    @given(topic=st.sampled_from(TOPICS), body=single_bodies())
    def post_one(topic: str, body: bytes) -> None:
        answers.append(live.post(topic, body, {"Authorization": f"Bearer {POLICE_KEY}",
                                               "Content-Type": "application/json"}))

    post_one()
    assert all(200 <= status < 500 for status, _ in answers)
    refused = [(status, body) for status, body in answers if status >= 400]
    assert refused and all(body.get("reason") or body.get("errors") for _, body in refused)
    live.intake.flush()
    letters = read_records(live.settings, "dead-letter", len(refused) + 5, timeout=20)
    assert len(letters) == len(refused)
    assert all(letter["reason"] for _, letter in letters)


@pytest.mark.integration
def test_oversized_bodies_are_413(live: LiveIntake) -> None:
    """A body one byte over DRIVE_INTAKE_MAX_BODY_BYTES is refused with 413 whatever its content."""
    body = b"{" + b" " * 4095 + b"}"  # 4,097 bytes: one over
    status, answer = live.post("incident", body, {"Authorization": f"Bearer {POLICE_KEY}",
                                                  "Content-Type": "application/json"})
    assert status == 413 and "limit" in answer["reason"]
