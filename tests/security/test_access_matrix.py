"""Intake access matrix: every refused credential or scope is answered 401/403/429 and audited without its payload."""
from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from connectors.http.app import make_app
from connectors.intake.refusals import refusals
from tests.integration.test_http_intake import (  # noqa: F401
    AGENCIES_YAML,
    COURT_KEY,
    OLD_KEY,
    SECRET,
    Stack,
    bearer,
    client,
    incident,
    post,
    registry_for,
    signed,
    stack,
)

pytestmark = pytest.mark.integration
PAYLOAD_MARK = "Ottoline Fitzwarren-Blythe"  # a distinctive value that must never reach the audit


def hostile_incident() -> dict[str, Any]:
    """An incident whose free text carries a distinctive name (it is refused before validation anyway)."""
    return {**incident(), "notes": PAYLOAD_MARK}



CASES = {
    "none": ({}, 401),
    "wrong": ({"Authorization": "Bearer wrong-key-" + "x" * 20}, 401),
    "revoked": ({"Authorization": f"Bearer {OLD_KEY}"}, 401),
    "bad_signature": ({"X-Drive-Agency": "police-wm", "X-Drive-Timestamp": str(int(time.time())),
                       "X-Drive-Signature": "v1=" + "0" * 64}, 401),
    "stale_signature": (None, 401),
    "wrong_scope": (bearer(COURT_KEY), 403),
    "key_of_other_agency": ({**bearer(COURT_KEY), "X-Drive-Agency": "police-wm"}, 403),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_refused_credentials_are_audited_without_payload(client: TestClient, stack: Stack, case: str) -> None:
    """Each refused request gives its status and exactly one intake_refusals row holding no payload or credential."""
    headers, expected = CASES[case]
    body = json.dumps(hostile_incident()).encode()
    if headers is None:
        headers = signed(body, ts=int(time.time()) - 3600)
    status, _ = await post(client, "incident", body, headers)
    assert status == expected
    rows = refusals(stack.intake.journal.engine)
    assert [(r["http_status"], r["topic"], r["body_bytes"]) for r in rows] == [(expected, "incident", len(body))]
    flat = json.dumps(rows, default=str)
    for secret in (PAYLOAD_MARK, OLD_KEY, COURT_KEY, SECRET, "wrong-key-"):
        assert secret not in flat
    if case == "wrong_scope":
        assert rows[0]["agency"] == "hmcts"


async def test_replayed_signature_is_refused_and_audited(client: TestClient, stack: Stack) -> None:
    """A valid HMAC request sent twice: accepted once, then 401 and audited as a replay, without the body."""
    body = json.dumps(incident()).encode()
    headers = signed(body)
    assert (await post(client, "incident", body, headers))[0] == 202
    assert (await post(client, "incident", body, headers))[0] == 401
    rows = refusals(stack.intake.journal.engine)
    assert [(r["http_status"], r["agency"], r["reason"]) for r in rows] == [
        (401, "police-wm", "signature already used (replay)")]


async def test_accepted_request_is_not_audited_as_refused(client: TestClient, stack: Stack) -> None:
    """A good request leaves intake_refusals empty (the audit records refusals only)."""
    assert (await post(client, "incident", incident()))[0] == 202
    assert refusals(stack.intake.journal.engine) == []


@pytest.fixture
async def limited_client(stack: Stack) -> AsyncIterator[TestClient]:
    """An intake whose police agency may send 3 requests a minute."""
    yaml = AGENCIES_YAML.replace("  - id: police-wm\n", "  - id: police-wm\n    rate_limit_per_minute: 3\n")
    agencies = registry_for(stack.settings, stack.intake, yaml)
    app = make_app(stack.settings, stack.intake, agencies, republish_every_s=3600)
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client


async def test_per_agency_rate_limit_gives_429_and_spares_other_agencies(limited_client: TestClient,
                                                                          stack: Stack) -> None:
    """Past rate_limit_per_minute an agency gets 429 with Retry-After (audited); another agency is unaffected."""
    statuses = [(await post(limited_client, "incident", incident()))[0] for _ in range(5)]
    assert statuses[:3] == [202, 202, 202] and statuses[3:] == [429, 429]
    court = {**incident(), "source": {"agency": "hmcts", "system": "x"}}
    assert (await post(limited_client, "court", court, bearer(COURT_KEY)))[0] != 429
    rows = refusals(stack.intake.journal.engine)
    assert [(r["http_status"], r["agency"]) for r in rows] == [(429, "police-wm"), (429, "police-wm")]
