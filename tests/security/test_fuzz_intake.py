"""Fuzzing the real HTTP intake (real broker, SQLite journal) with random and adversarial bodies and batches.

Asserts the issue's bar and prints its counts (run with -s, or see the captured stdout with -rP):
requests tried, 5xx answers (0), good records lost (0).
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.integration.intake_wiring import read_records
from tests.integration.test_http_intake import POLICE_KEY, incident
from tests.security.hostile_stack import LiveIntake, live_intake
from tests.security.test_hostile_http import POISONS, body_of, deep, poisoned

pytestmark = pytest.mark.integration
HEADERS = {"Authorization": f"Bearer {POLICE_KEY}", "Content-Type": "application/json"}
PROFILE = hsettings(max_examples=300, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])
nasty_text = st.text(alphabet=st.characters(codec=None, categories=None), max_size=40) | st.sampled_from([
    "\ud800", "x\udfff", "\x00", "\u202e", "\u200b", "\ufeff", "0001-01-01T00:30:00+01:00",
    "9999-12-31T23:30:00-01:00", "2999-01-01T00:00:00Z", "person\\u005fname", "R" * 2000])
scalars = st.none() | st.booleans() | st.integers() | st.integers(min_value=10**19, max_value=10**30) | \
    st.floats(allow_nan=False) | nasty_text
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) |
                           st.dictionaries(nasty_text, inner, max_size=4), max_leaves=16)


@st.composite
def hostile_record(draw: Any) -> dict[str, Any]:
    """A valid incident with one field (top-level or in details) replaced by something hostile, or a known poison."""
    if draw(st.booleans()):
        return poisoned(draw(st.sampled_from(sorted(POISONS))))
    record = incident(event_id=f"fuzz-{uuid.uuid4().hex}")
    target = record if draw(st.booleans()) else record["details"]
    field = draw(st.sampled_from(sorted(target)))
    target[field] = draw(json_values | st.builds(deep, st.integers(20, 400)))
    return record


@st.composite
def requests(draw: Any) -> tuple[bytes, list[str]]:
    """(body, event ids of the good records in it): raw bytes, one hostile record, or a batch mixing both."""
    kind = draw(st.sampled_from(("bytes", "json", "record", "batch")))
    if kind == "bytes":
        return draw(st.binary(max_size=300)), []
    if kind == "json":
        value = draw(json_values)
        if isinstance(value, dict):
            value.pop("records", None)
        return json.dumps(value).encode(), []
    if kind == "record":
        return body_of(draw(hostile_record())), []
    records, good = [], []
    for _ in range(draw(st.integers(1, 5))):
        if draw(st.booleans()):
            fine = incident(event_id=f"fuzz-good-{uuid.uuid4().hex}")
            records.append(fine)
            good.append(fine["event_id"])
        else:
            records.append(draw(hostile_record() | json_values))
    return body_of({"records": records}), good


@pytest.fixture
def live(settings_factory: Any, sqlite_url: str) -> Iterator[LiveIntake]:
    with live_intake(settings_factory(intake_max_body_bytes=200_000), sqlite_url) as served:
        yield served


@pytest.mark.timeout(600)
def test_fuzzed_bodies_never_get_a_5xx_and_never_cost_a_good_record(live: LiveIntake) -> None:
    """Random and adversarial bodies: every answer 2xx/4xx with a reason; every good record of a batch published."""
    answers: list[int] = []
    good_sent: list[str] = []
    refused_whole: list[str] = []  # good records in a body refused as a whole (413, 400): the sender is told

    @PROFILE
    @given(request=requests())
    def post_one(request: tuple[bytes, list[str]]) -> None:
        body, good = request
        status, answer = live.post("incident", body, HEADERS)
        answers.append(status)
        assert status < 500, answer
        if status >= 400:
            assert answer.get("reason") or answer.get("errors") or answer.get("results"), answer
        if good and "results" not in answer:
            assert status in (400, 413), answer
            refused_whole.extend(good)
            return
        results = {r["event_id"]: r["status"] for r in answer.get("results", ())}
        assert all(results.get(event_id) == "accepted" for event_id in good), answer
        good_sent.extend(good)

    post_one()
    live.intake.flush()
    published = {d["event_id"] for _, d in read_records(live.settings, "incident", 100_000, timeout=10)}
    lost = [event_id for event_id in good_sent if event_id not in published]
    counts = {"requests": len(answers), "5xx": sum(s >= 500 for s in answers), "good_records": len(good_sent),
              "good_records_lost": len(lost), "4xx": sum(400 <= s < 500 for s in answers),
              "good_records_in_bodies_refused_whole": len(refused_whole)}
    print(f"HOSTILE-INPUT COUNTS {json.dumps(counts)}")
    assert counts["5xx"] == 0 and lost == []
    assert counts["requests"] >= 200 and counts["good_records"] > 0
