"""The HTTP intake's conventional answers on a real server (real broker, SQLite/PostgreSQL): RFC 9457 problems with a
type per code and field errors with RFC 6901 pointers, WWW-Authenticate on 401, the OpenAPI document and /problems."""
from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from connectors.http.openapi import openapi_document
from connectors.http.problems import FIELD_ERRORS, REFUSALS
from tests.integration.test_http_intake import (  # noqa: F401 - fixtures
    Stack,
    bearer,
    client,
    dead_letters,
    incident,
    post_raw,
    sealed_raw,
    signed,
    stack,
)

pytestmark = pytest.mark.integration
PROBLEM = "application/problem+json"


async def _problem(response: Any) -> dict[str, Any]:
    assert response.content_type == PROBLEM
    return await response.json()


def _base(stack: Stack) -> str:
    return f"http://{stack.settings.intake_host}:{stack.settings.intake_port}/problems#"


async def test_a_refused_record_is_a_problem_whose_types_open_on_the_problems_page(client: TestClient,
                                                                                   stack: Stack) -> None:
    """422: type, title and detail beside the old fields; each error's pointer, code and type; the page has both."""
    record = incident(details__offence_category="FIGHTING", shoe_size=42)
    response = await post_raw(client, "incident", record)
    body = await _problem(response)
    assert response.status == 422
    assert (body["type"], body["title"], body["detail"]) == (
        _base(stack) + "validation-failed", REFUSALS.rows["VALIDATION_FAILED"], body["reason"])
    assert (body["status"], body["code"], body["event_id"]) == ("rejected", "VALIDATION_FAILED", record["event_id"])
    assert [(e["path"], e["pointer"], e["code"], e["type"]) for e in body["errors"]] == [
        ("details.offence_category", "/details/offence_category", "enum", _base(stack) + "field-enum"),
        ("shoe_size", "/shoe_size", "unknown_field", _base(stack) + "field-unknown-field")]
    page = await client.get("/problems")
    text = await page.text()
    assert page.status == 200 and page.content_type == "text/html"
    assert all(f'id="{REFUSALS.anchor(code)}"' in text for code in REFUSALS.rows)
    assert all(f'id="{FIELD_ERRORS.anchor(code)}"' in text for code in FIELD_ERRORS.rows)


async def test_a_batch_points_into_itself_and_a_record_the_parser_refuses_costs_no_other(client: TestClient,
                                                                                        stack: Stack) -> None:
    """[good, invalid, too deep]: 207; pointers under /records/<i>; the deep record alone refused, its bytes kept."""
    good, bad = incident(), incident(details__injury="yes")
    deep = b'{"event_id": "deep-1", "details": ' + b"[" * 40 + b"]" * 40 + b"}"
    data = b'{"records": [' + json.dumps(good).encode() + b", " + json.dumps(bad).encode() + b",\n  " + deep + b"]}"
    response = await post_raw(client, "incident", data)
    body = await response.json()
    assert (response.status, response.content_type) == (207, "application/json")
    assert [r["status"] for r in body["results"]] == ["accepted", "rejected", "rejected"]
    [invalid], [too_deep] = body["results"][1]["errors"], body["results"][2]["errors"]
    assert (invalid["pointer"], invalid["code"]) == ("/records/1/details/injury", "type")
    assert body["results"][1]["type"] == _base(stack) + "validation-failed"
    assert (body["results"][2]["code"], too_deep["code"]) == ("TOO_DEEP", "too_deep")
    assert too_deep["pointer"] == "/records/2/details" + "/0" * 31  # the 33rd level: 32 is the limit
    letters = {d["source"]["location"].rpartition("#")[2]: d for d in dead_letters(stack)}
    assert sealed_raw(stack, letters["2"]) == deep  # the record's own bytes, not the whole body
    assert {v["event_id"] for _, v in stack.read("incident")} == {good["event_id"]}


async def test_a_batch_with_no_record_accepted_is_a_batch_refused_problem(client: TestClient, stack: Stack) -> None:
    """422 BATCH_REFUSED, with every result as before."""
    response = await post_raw(client, "incident", {"records": [{"event_id": "x"}, 7]})
    body = await _problem(response)
    assert (response.status, body["code"], body["status"], body["rejected"]) == (422, "BATCH_REFUSED", "rejected", 2)
    assert body["type"] == _base(stack) + "batch-refused" and len(body["results"]) == 2


async def test_every_401_challenges_for_both_ways_in(client: TestClient) -> None:
    """WWW-Authenticate: a Bearer and a Drive-HMAC-SHA256 challenge; the error is on the way the request tried."""
    response = await post_raw(client, "incident", incident(), {})
    assert response.status == 401 and (await _problem(response))["code"] == "UNAUTHENTICATED"
    assert response.headers.getall("WWW-Authenticate") == [
        'Bearer realm="drive-alerts intake"',
        'Drive-HMAC-SHA256 realm="drive-alerts intake", headers="X-Drive-Agency X-Drive-Timestamp X-Drive-Signature"']
    response = await post_raw(client, "incident", incident(), bearer("not-a-key"))
    bearer_challenge, hmac_challenge = response.headers.getall("WWW-Authenticate")
    assert bearer_challenge == 'Bearer realm="drive-alerts intake", error="invalid_token", ' \
                               'error_description="invalid API key"'
    assert "error=" not in hmac_challenge
    data = json.dumps(incident()).encode()
    response = await post_raw(client, "incident", data, signed(data, secret="wrong"))
    bearer_challenge, hmac_challenge = response.headers.getall("WWW-Authenticate")
    assert "error=" not in bearer_challenge
    assert hmac_challenge.endswith('error="invalid_signature", error_description="invalid signature"')


async def test_the_intake_serves_its_openapi_document_and_answers_routes_as_problems(client: TestClient) -> None:
    """GET /openapi.json is the document of docs/openapi.json; a wrong method is a problem too."""
    response = await client.get("/openapi.json")
    assert response.status == 200 and await response.json() == openapi_document()
    response = await client.get("/v1/topics/incident/events")
    assert (response.status, (await _problem(response))["code"]) == (405, "METHOD_NOT_ALLOWED")
