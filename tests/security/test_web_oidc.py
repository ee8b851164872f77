"""OpenID Connect sign-in against a real (loopback) provider: only registered, active staff get in; a forged state, a
token for another client or an unknown person is refused and audited; one-time codes are off while OIDC is on."""
from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from consumers.ledger.models import AuditEntry
from tests.fakes.oidc_provider import CLIENT_ID, CLIENT_SECRET, FakeProvider
from tests.fakes.web_harness import WebClient, WebHarness, running_web
from tests.fakes.web_world import CM1

pytestmark = pytest.mark.integration


@pytest.fixture
async def provider() -> AsyncIterator[FakeProvider]:
    idp = FakeProvider()
    idp.server = TestServer(idp.app(), host="127.0.0.1")
    await idp.server.start_server()
    try:
        yield idp
    finally:
        await idp.server.close()


def _oidc(idp: FakeProvider) -> dict[str, object]:
    return {"oidc_issuer": idp.issuer, "oidc_client_id": CLIENT_ID, "oidc_client_secret": SecretStr(CLIENT_SECRET)}


async def _through_the_provider(browser: WebClient) -> tuple[int, str, aiohttp.ClientResponse]:
    """Press the sign-in button and follow the redirects to the provider and back, as a browser does."""
    status, _, answer = await browser.post("/sign-in/oidc", {})
    assert status == 303
    async with browser.http.get(answer.headers["Location"], allow_redirects=False) as at_idp:
        callback = at_idp.headers["Location"]
    async with browser.http.get(callback, allow_redirects=False) as back:
        return back.status, await back.text(), back


def _failures(h: WebHarness) -> list[str]:
    with h.world.sessions() as db:
        return [json.loads(e.detail)["reason"] for e in db.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "WEB_SIGN_IN_FAILED").order_by(AuditEntry.id))]


async def test_registered_staff_sign_in_through_the_identity_provider(tmp_path: Path, provider: FakeProvider) -> None:
    """The ID token's e-mail (any case) names a registered, active case manager: signed in, audited as OIDC."""
    provider.claims["email"] = f"{CM1.upper()}@drive.example.org"
    async with running_web(tmp_path, **_oidc(provider)) as h:
        browser = h.client()
        _, page, _ = await browser.get("/sign-in")
        assert 'id="oidc"' in page and 'id="who"' not in page
        status, _, back = await _through_the_provider(browser)
        assert status == 303 and back.headers["Location"] == "/"
        status, page, answer = await browser.get("/")
        assert status == 200 and CM1 in page and h.world.code("breach") in page
        assert provider.issuer in answer.headers["Content-Security-Policy"]
        with h.world.sessions() as db:
            [signed_in] = db.scalars(sa.select(AuditEntry).where(AuditEntry.action == "WEB_SIGN_IN")).all()
        assert signed_in.staff_id == CM1 and json.loads(signed_in.detail) == {"via": "OIDC"}
        assert (await h.client().post("/sign-in", {"who": CM1}))[0] == 404  # no one-time codes beside OIDC


async def test_anyone_else_is_refused_and_nothing_is_created(tmp_path: Path, provider: FakeProvider) -> None:
    """A valid token for someone the registry does not know, or says is unverified, signs nobody in."""
    async with running_web(tmp_path, **_oidc(provider)) as h:
        provider.claims["email"] = "stranger@example.org"
        status, page, _ = await _through_the_provider(h.client())
        assert status == 403 and "not registered as active staff" in page
        provider.claims.update(email=f"{CM1}@drive.example.org", email_verified=False)
        assert (await _through_the_provider(h.client()))[0] == 403
        assert _failures(h) == ["NOT_REGISTERED", "NOT_REGISTERED"]
        assert "stranger" not in "".join(json.dumps(r) for r in _failures(h))


async def test_a_forged_state_or_a_token_for_another_client_is_refused(tmp_path: Path, provider: FakeProvider) -> None:
    """A callback whose state is not this browser's, or an ID token with another audience, is refused (audited)."""
    provider.claims["email"] = f"{CM1}@drive.example.org"
    async with running_web(tmp_path, **_oidc(provider)) as h:
        browser = h.client()
        status, _, answer = await browser.post("/sign-in/oidc", {})
        async with browser.http.get(answer.headers["Location"], allow_redirects=False) as at_idp:
            forged = at_idp.headers["Location"].split("&state=")[0] + "&state=forged"
        async with browser.http.get(forged, allow_redirects=False) as back:
            assert back.status == 403
        provider.audience = "another-client"
        assert (await _through_the_provider(h.client()))[0] == 403
        assert _failures(h) == ["BAD_STATE", "BAD_ID_TOKEN"]
        assert (await browser.get("/"))[0] == 303
