"""schemathesis against the real HTTP intake (real broker, SQLite journal), driven by the intake's own OpenAPI
document: positive and negative cases of every operation; never a 5xx, and every answer is one the document
describes (status code, content type, headers, body schema). Prints its counts (run with -s)."""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.errors import UnsupportedSchema

from connectors.http.openapi import openapi_document
from schemas.catalogue import SOURCE_TOPICS
from tests.security.hostile_stack import LiveIntake, live_intake

pytestmark = pytest.mark.integration
KEY = "openapi-fuzz-key"
# One agency that may send every topic, so that every operation reaches the contract rather than a 403.
AGENCIES = f"""
agencies:
  - id: police-wm
    topics: [{", ".join(SOURCE_TOPICS)}]
    api_keys: [{{id: k1, sha256: {hashlib.sha256(KEY.encode()).hexdigest()}}}]
"""
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
PROFILE = hsettings(max_examples=25, deadline=None, database=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))


@pytest.fixture
def live(settings_factory: Any, sqlite_url: str) -> Iterator[LiveIntake]:
    with live_intake(settings_factory(intake_max_body_bytes=200_000), sqlite_url, AGENCIES) as served:
        yield served


def _operations() -> list[Any]:
    schema = schemathesis.openapi.from_dict(openapi_document())
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.timeout(900)
def test_every_operation_answers_as_documented_and_never_5xx(live: LiveIntake) -> None:
    """Positive and negative cases of each operation: every check holds for every answer."""
    statuses: Counter[int] = Counter()
    unsupported: list[str] = []  # cases schemathesis cannot make: e.g. negating an anyOf of references
    for operation in _operations():
        for mode in GenerationMode:
            @PROFILE
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case: Any) -> None:
                response = case.call(base_url=live.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=30)
                statuses[response.status_code] += 1
                case.validate_response(response, checks=CHECKS)

            try:
                call()
            except (UnsupportedSchema, Unsatisfiable):  # nothing to negate (a GET without parameters), or not here
                unsupported.append(f"{mode.value} {operation.label}")
    counts = {"requests": sum(statuses.values()), "5xx": sum(n for s, n in statuses.items() if s >= 500),
              "by_status": dict(sorted(statuses.items())), "not_generated": unsupported}
    print(f"OPENAPI-FUZZ COUNTS {json.dumps(counts)}")
    assert counts["5xx"] == 0 and statuses[422] > 0 and statuses[400] > 0
    assert not [u for u in unsupported if u.startswith("positive")], unsupported
