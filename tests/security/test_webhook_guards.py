"""Webhooks under attack: replays refused across a restart, refusals that say why, refused ack links audited,
and nothing a sender writes after "ACK" kept (real app on a socket, real Twilio validator, SQLite and PostgreSQL)."""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from consumers.ledger.models import audit_entries
from tests.fakes.delivery_samples import CM, PHONES
from tests.fakes.fixtures import twilio_server  # noqa: F401 - fixture
from tests.integration.webhooks_harness import Harness, running_webhooks

pytestmark = pytest.mark.integration
SURNAME = "Fitzwarren"


def _audits(h: Harness, action: str) -> list[dict[str, Any]]:
    with h.sessions() as session:
        return [{"alert_id": e.alert_id, "staff_id": e.staff_id, **json.loads(e.detail)}
                for e in audit_entries(session, action=action)]


async def test_a_replayed_twilio_request_is_refused_after_the_webhooks_restart(
        settings_factory: Callable[..., Any], database_url: str, twilio_server: Any) -> None:  # noqa: F811
    """The replay guard lives in the database: the same signed request after a restart is a 403 REPLAYED."""
    params = {"From": PHONES[CM], "Body": "ACK ZZZZZZ"}
    async with running_webhooks(settings_factory, database_url, twilio_server) as first:
        assert (await first.post_twilio("/twilio/inbound", params)).status == 200
        signature = first.sign("/twilio/inbound", params)
    async with running_webhooks(settings_factory, database_url, twilio_server) as restarted:
        async with restarted.client.post(restarted.server.make_url("/twilio/inbound"), data=params,
                                         headers={"X-Twilio-Signature": signature}) as response:
            assert response.status == 403
            assert (await response.json())["reason"] == "REPLAYED"
        assert [a["reason"] for a in _audits(restarted, "WEBHOOK_REFUSED")] == ["REPLAYED"]


@pytest.fixture
async def hooks(settings_factory: Callable[..., Any], database_url: str, twilio_server: Any):  # noqa: F811
    async with running_webhooks(settings_factory, database_url, twilio_server) as harness:
        yield harness


@pytest.mark.parametrize(("signature", "reason"), [(None, "MISSING_SIGNATURE"), ("forged", "BAD_SIGNATURE")])
async def test_webhook_refusals_say_why(hooks: Harness, signature: str | None, reason: str) -> None:
    """A refused Twilio callback answers 403 with the reason code and what it means, not a bare 'forbidden'."""
    async with hooks.client.post(hooks.server.make_url("/twilio/status"), data={"MessageSid": "SM1"},
                                 headers={"X-Twilio-Signature": signature} if signature else {}) as response:
        body = await response.json()
    assert response.status == 403 and body["reason"] == reason and body["message"]
    # RFC 9457: a type per reason, documented on the webhooks' own /problems page at that anchor
    assert response.content_type == "application/problem+json" and body["title"] == body["message"]
    base, _, anchor = body["type"].partition("/problems#")
    assert (base, anchor) == (hooks.settings.public_base_url, "webhook-" + reason.lower().replace("_", "-"))
    async with hooks.client.get(hooks.server.make_url("/problems")) as page:
        assert page.status == 200 and f'id="{anchor}"' in await page.text()


async def test_refused_ack_links_are_audited_and_answered_as_documented(hooks: Harness) -> None:
    """Expired: 410 (audited with the genuine alert and staff id); tampered or garbage: 403 (audited, nothing kept)."""
    row = hooks.dispatch()
    expired = hooks.ack_url_path(row.alert_id, CM, now=hooks.clock() - timedelta(hours=25))
    good = hooks.ack_url_path(row.alert_id, CM)
    tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    for path, status in [(expired, 410), (tampered, 403), (f"/ack/{SURNAME}", 403), ("/ack/x.y.z", 403)]:
        async with hooks.client.get(hooks.server.make_url(path)) as response:
            assert response.status == status
    refused = _audits(hooks, "ACK_LINK_REFUSED")
    assert [(a["reason"], a["alert_id"], a["staff_id"]) for a in refused] == [
        ("EXPIRED", row.alert_id, CM), ("BAD_SIGNATURE", None, None), ("BAD_TOKEN", None, None),
        ("BAD_TOKEN", None, None)]
    assert SURNAME not in json.dumps(refused)


async def test_the_word_after_ack_is_not_kept_when_it_is_no_code(hooks: Harness) -> None:
    """`ACK Fitzwarren` (a surname, not a code): refused UNKNOWN_ALERT, the audit keeps its length, not the word."""
    hooks.dispatch()
    assert (await hooks.post_twilio("/twilio/inbound", {"From": PHONES[CM], "Body": f"ACK {SURNAME}"})).status == 200
    [refused] = _audits(hooks, "ACK_REFUSED")
    assert refused["reason"] == "UNKNOWN_ALERT" and refused["code_length"] == str(len(SURNAME))
    assert SURNAME.upper() not in json.dumps(refused) and SURNAME not in json.dumps(refused)
