"""The webhooks app on a real socket: Twilio signatures by the real validator, SMS and link acks, status callbacks."""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from consumers.escalation.runner import run_escalations
from consumers.ledger.models import RecipientAck, audit_entries, deliveries_of
from tests.fakes.delivery_samples import CM, IDVA, PHONES
from tests.fakes.fixtures import twilio_server  # noqa: F401 - fixture
from tests.integration.webhooks_harness import Harness, running_webhooks

pytestmark = pytest.mark.integration
SECRET_NAME, SECRET_ADDRESS = "Jemima Puddleduck", "12 Acacia Avenue"


def _audits(h: Harness, action: str) -> list[Any]:
    with h.sessions() as session:
        return audit_entries(session, action=action)


def _ack(h: Harness, alert_id: str, staff_id: str) -> RecipientAck:
    with h.sessions() as session:
        row = session.get(RecipientAck, (alert_id, staff_id))
        session.expunge(row)
        return row


def _nobody_acked(h: Harness, alert_id: str) -> bool:
    return all(_ack(h, alert_id, staff_id).acknowledged_at is None for staff_id in (CM, IDVA))


@pytest.fixture
async def hooks(settings_factory: Callable[..., Any], database_url: str, twilio_server: Any):  # noqa: F811
    """The running webhooks app over SQLite and PostgreSQL."""
    async with running_webhooks(settings_factory, database_url, twilio_server) as harness:
        yield harness


async def test_valid_signature_inbound_ack_from_recipient_acknowledges(hooks: Harness) -> None:
    """A correctly signed `ACK <code>` from the case manager's registered phone acknowledges and is published."""
    row = hooks.dispatch()
    response = await hooks.post_twilio("/twilio/inbound", {"From": PHONES[CM], "Body": f"ack {row.ack_code}",
                                                          "MessageSid": "SMin1"})
    assert response.status == 200
    acked = _ack(hooks, row.alert_id, CM)
    assert (acked.acknowledged_by, acked.ack_via) == (CM, "SMS")
    assert _ack(hooks, row.alert_id, IDVA).acknowledged_at is None  # the IDVA's duty is their own
    assert [(e.kind.value, e.staff_id) for e in hooks.published] == [("ACKNOWLEDGED", CM)]


@pytest.mark.parametrize("case", ["forged", "missing", "wrong_url", "internal_url"])
async def test_bad_signatures_are_refused_and_audited_without_body(hooks: Harness, case: str,
                                                                   captured_logs: Any) -> None:
    """Forged, missing or wrongly-addressed signatures get 403, WEBHOOK_REFUSED, and no body in logs or audit."""
    row = hooks.dispatch()
    params = {"From": PHONES[CM], "Body": f"ACK {row.ack_code} {SECRET_NAME} {SECRET_ADDRESS}"}
    signature = {"forged": "bm90LWEtc2lnbmF0dXJl", "missing": None,
                 "wrong_url": hooks.sign("/twilio/inbound", params, url_base="https://elsewhere.example.org"),
                 "internal_url": hooks.sign("/twilio/inbound", params,
                                            url_base=str(hooks.server.make_url("")).rstrip("/"))}[case]
    response = await hooks.post_twilio("/twilio/inbound", params, signature=signature)
    assert response.status == 403
    assert _nobody_acked(hooks, row.alert_id)
    refused = _audits(hooks, "WEBHOOK_REFUSED")
    reason = "MISSING_SIGNATURE" if case == "missing" else "BAD_SIGNATURE"
    assert [json.loads(e.detail) for e in refused] == [{"path": "/twilio/inbound", "reason": reason}]
    everything = captured_logs.text + " ".join(e.detail for e in _audits(hooks, "WEBHOOK_REFUSED"))
    for secret in (SECRET_NAME, SECRET_ADDRESS, PHONES[CM], "Acacia"):
        assert secret not in everything
    assert any(line.get("event") == "webhook_refused" for line in captured_logs.lines)


async def test_replayed_signature_is_refused(hooks: Harness) -> None:
    """The same valid signed request a second time is refused as a replay."""
    row = hooks.dispatch()
    params = {"From": PHONES[IDVA], "Body": f"ACK {row.ack_code}"}
    assert (await hooks.post_twilio("/twilio/inbound", params)).status == 200
    assert (await hooks.post_twilio("/twilio/inbound", params)).status == 403
    assert [json.loads(e.detail)["reason"] for e in _audits(hooks, "WEBHOOK_REFUSED")] == ["REPLAYED"]


async def test_ack_from_another_number_is_refused_and_escalation_continues(hooks: Harness) -> None:
    """A validly signed ACK from an unregistered number is refused, audited masked, and the alert still escalates."""
    row = hooks.dispatch()
    response = await hooks.post_twilio("/twilio/inbound", {"From": "+447700900456", "Body": f"ACK {row.ack_code}"})
    assert response.status == 200
    refused = [json.loads(e.detail) for e in _audits(hooks, "ACK_REFUSED")]
    assert refused == [{"reason": "NOT_A_RECIPIENT", "code": row.ack_code, "via": "SMS", "from": "***456"}]
    with hooks.sessions.begin() as session:
        run = run_escalations(session, hooks.clock() + timedelta(minutes=15), hooks.settings)
    assert sorted((d.staff_id, d.level) for d in run.escalated) == [(CM, 1), (IDVA, 1)]


async def test_ack_stops_the_escalation_of_that_recipient_only(hooks: Harness) -> None:
    """After the IDVA's SMS ack only the case manager, who has not acknowledged, is escalated."""
    row = hooks.dispatch()
    await hooks.post_twilio("/twilio/inbound", {"From": PHONES[IDVA], "Body": f"ACK {row.ack_code}"})
    with hooks.sessions.begin() as session:
        run = run_escalations(session, hooks.clock() + timedelta(hours=2), hooks.settings)
    assert [(d.staff_id, d.level) for d in run.escalated] == [(CM, 1)]


async def test_unknown_code_is_refused(hooks: Harness) -> None:
    """An ACK with a code no alert has changes nothing and is audited UNKNOWN_ALERT."""
    row = hooks.dispatch()
    await hooks.post_twilio("/twilio/inbound", {"From": PHONES[CM], "Body": "ACK ZZZZZZ"})
    assert _nobody_acked(hooks, row.alert_id)
    assert [json.loads(e.detail)["reason"] for e in _audits(hooks, "ACK_REFUSED")] == ["UNKNOWN_ALERT"]


async def test_status_delivered_and_failed_update_the_ledger(hooks: Harness) -> None:
    """Status callbacks for the real sender's Twilio SIDs mark delivered, or failed with failover on 30005."""
    row = hooks.dispatch()
    with hooks.sessions() as session:
        sms = {d.staff_id: d for d in deliveries_of(session, row.alert_id) if d.channel == "SMS"}
    assert all(d.provider_message_id and d.provider_message_id.startswith("SM") for d in sms.values())
    await hooks.post_twilio("/twilio/status", {"MessageSid": sms[CM].provider_message_id,
                                               "MessageStatus": "delivered"})
    await hooks.post_twilio("/twilio/status", {"MessageSid": sms[IDVA].provider_message_id,
                                               "MessageStatus": "undelivered", "ErrorCode": "30005"})
    with hooks.sessions() as session:
        states = {(d.staff_id, d.channel, d.purpose): (d.state, d.last_error)
                  for d in deliveries_of(session, row.alert_id)}
    assert states[(CM, "SMS", "ALERT")] == ("delivered", None)
    assert states[(IDVA, "SMS", "ALERT")] == ("failed", "TWILIO_30005")
    assert {e.kind.value for e in hooks.published} == {"DELIVERED", "FAILED"}
    assert [json.loads(e.detail)["code"] for e in _audits(hooks, "SEND_FAILED")] == ["TWILIO_30005"]


async def test_ack_link_confirm_page_then_acknowledge(hooks: Harness) -> None:
    """GET shows a confirmation form and acknowledges nothing; POST acknowledges as the link's staff member."""
    row = hooks.dispatch()
    path = hooks.ack_url_path(row.alert_id, IDVA)
    async with hooks.client.get(hooks.server.make_url(path)) as response:
        assert response.status == 200 and "<form" in await response.text()
    assert _nobody_acked(hooks, row.alert_id)
    async with hooks.client.post(hooks.server.make_url(path)) as response:
        assert response.status == 200 and "Acknowledged" in await response.text()
    acked = _ack(hooks, row.alert_id, IDVA)
    assert (acked.acknowledged_by, acked.ack_via) == (IDVA, "LINK")


async def test_expired_and_tampered_links_are_refused(hooks: Harness) -> None:
    """An expired link answers 410 "Link expired"; a tampered one 403; neither acknowledges."""
    row = hooks.dispatch()
    expired = hooks.ack_url_path(row.alert_id, CM, now=hooks.clock() - timedelta(hours=25))
    async with hooks.client.post(hooks.server.make_url(expired)) as response:
        assert response.status == 410 and "Link expired" in await response.text()
    good = hooks.ack_url_path(row.alert_id, CM)
    tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    async with hooks.client.post(hooks.server.make_url(tampered)) as response:
        assert response.status == 403
    assert _nobody_acked(hooks, row.alert_id)


async def test_health_endpoints(hooks: Harness) -> None:
    """/healthz and /readyz answer 200 when the database is reachable."""
    for path in ("/healthz", "/readyz"):
        async with hooks.client.get(hooks.server.make_url(path)) as response:
            assert response.status == 200



async def test_personal_data_in_a_valid_inbound_sms_is_never_logged_or_audited(hooks: Harness,
                                                                                captured_logs: Any) -> None:
    """A signed free-text reply carrying a name, address and number leaves none of them in logs or the audit log."""
    hooks.dispatch()
    body = f"Call {SECRET_NAME} at {SECRET_ADDRESS} on 07700 900321"
    response = await hooks.post_twilio("/twilio/inbound", {"From": PHONES[CM], "Body": body})
    assert response.status == 200
    with hooks.sessions() as session:
        audit_text = " ".join(e.detail for e in audit_entries(session))
    assert [json.loads(e.detail)["reason"] for e in _audits(hooks, "ACK_REFUSED")] == ["NOT_AN_ACK"]
    for secret in (SECRET_NAME, SECRET_ADDRESS, "900321", PHONES[CM]):
        assert secret not in captured_logs.text and secret not in audit_text
