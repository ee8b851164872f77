"""`drive-alerts audit` and `chronology` on a ledger filled by the real dispatcher, sender, webhooks and feed."""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from consumers.chronology.feed import ingest_record
from consumers.escalation.runner import run_escalations
from consumers.ledger.models import ChronologyEvent, LedgerAlert, deliveries_of
from entrypoints.cli import main
from runtime.codec import codec_for
from schemas.jsonform import from_json
from tests.fakes.delivery_samples import CM, DM, IDVA, PHONES
from tests.fakes.fixtures import twilio_server  # noqa: F401 - fixture
from tests.integration.webhooks_harness import Harness, running_webhooks
from tests.samples.events import sample

pytestmark = pytest.mark.integration
SUBJECT = "DRV-000123"


async def _fill(h: Harness) -> tuple[str, str]:
    """One alert delivered and acked by SMS, one escalated; agency events ingested. (acked id, escalated id)."""
    codec = codec_for(h.settings)
    with h.sessions.begin() as session:
        for topic, event_type in (("bail", "BAIL_GRANTED"), ("breach", "BREACH_REPORTED")):
            record = sample(topic, event_type, occurred_at="2026-11-22T09:30:00Z")
            value = codec.encode(topic, from_json(topic, record))
            headers = [("kind", b"event"), ("topic", topic.encode())]
            assert ingest_record(session, codec, SUBJECT.encode(), value, headers)
            assert not ingest_record(session, codec, SUBJECT.encode(), value, headers)  # idempotent by event_id
    acked = h.dispatch()
    with h.sessions() as session:
        sms = next(d for d in deliveries_of(session, acked.alert_id, CM) if d.channel == "SMS")
    await h.post_twilio("/twilio/status", {"MessageSid": sms.provider_message_id, "MessageStatus": "delivered"})
    h.clock.at += timedelta(minutes=3)
    await h.post_twilio("/twilio/inbound", {"From": PHONES[IDVA], "Body": f"ACK {acked.ack_code}"})
    escalated = h.dispatch()
    with h.sessions.begin() as session:
        run_escalations(session, h.clock() + timedelta(minutes=15), h.settings)
    h.clock.at += timedelta(minutes=16)
    h.sender.send_due()
    return acked.alert_id, escalated.alert_id


@pytest.fixture
async def filled(settings_factory: Callable[..., Any], database_url: str, twilio_server: Any):  # noqa: F811
    """A ledger on SQLite and PostgreSQL filled through the real code paths."""
    async with running_webhooks(settings_factory, database_url, twilio_server) as harness:
        ids = await _fill(harness)
        yield harness, database_url, ids


def _cli(capsys: Any, url: str, *argv: str) -> str:
    capsys.readouterr()
    assert main(["--database-url", url, "--log-format", "json", *argv]) == 0
    return capsys.readouterr().out


async def test_audit_json_answers_who_was_told_what_when(filled: Any, capsys: Any, restore_logging: None) -> None:
    """--json gives one row per message in time order with body, outcome and acknowledgement."""
    h, url, (acked_id, escalated_id) = filled
    rows = [json.loads(line) for line in _cli(capsys, url, "audit", "--subject", SUBJECT, "--json").splitlines()]
    assert [r["at"] for r in rows] == sorted(r["at"] for r in rows)
    cm_sms = next(r for r in rows if r["alert_id"] == acked_id and r["staff_id"] == CM and r["channel"] == "SMS")
    assert cm_sms["outcome"] == "delivered" and cm_sms["role"] == "CASE_MANAGER"
    assert cm_sms["acknowledged_by"] is None and cm_sms["body"].startswith("DRIVE CRITICAL")  # only the IDVA acked
    idva = [r for r in rows if r["alert_id"] == acked_id and r["staff_id"] == IDVA]
    assert {(r["acknowledged_by"], r["ack_via"]) for r in idva} == {(IDVA, "SMS")}
    dm_rows = [r for r in rows if r["alert_id"] == escalated_id and r["staff_id"] == DM]
    assert {(r["level"], r["role"], r["outcome"], r["regarding"]) for r in dm_rows} == {
        (1, "DUTY_MANAGER", "sent", CM), (1, "DUTY_MANAGER", "sent", IDVA)}
    assert all(r["acknowledged_at"] is None for r in rows if r["alert_id"] == escalated_id)


async def test_audit_by_alert_code_and_recipient_and_table(filled: Any, capsys: Any, restore_logging: None) -> None:
    """--alert takes the ack code; --recipient filters by staff id; the default is a readable table."""
    h, url, (acked_id, _) = filled
    with h.sessions() as session:
        code = session.get(LedgerAlert, acked_id).ack_code
    by_code = [json.loads(x) for x in _cli(capsys, url, "audit", "--alert", code.lower(), "--json").splitlines()]
    assert {r["alert_id"] for r in by_code} == {acked_id}
    # 2 recipients x 2 channels, and the duty manager told (SMS + e-mail) that the case manager never acknowledged
    assert sorted((r["staff_id"], r["regarding"]) for r in by_code if r["purpose"] == "ESCALATION") == [(DM, CM)] * 2
    assert len(by_code) == 6
    acks = [json.loads(x) for x in _cli(capsys, url, "audit", "--alert", code, "--acks", "--json").splitlines()]
    assert [(a["staff_id"], a["ack_via"], a["escalation_level"]) for a in acks] == [(CM, None, 1), (IDVA, "SMS", 0)]
    assert acks[1]["seconds_to_acknowledge"] == 180.0
    table = _cli(capsys, url, "audit", "--subject", SUBJECT, "--acks")
    assert table.splitlines()[0].startswith("received (UTC)") and " no " in table and "via SMS" in table
    to_dm = [json.loads(x) for x in _cli(capsys, url, "audit", "--recipient", DM, "--json").splitlines()]
    assert to_dm and {r["staff_id"] for r in to_dm} == {DM}
    table = _cli(capsys, url, "audit", "--alert", acked_id)
    assert table.splitlines()[0].startswith("time (UTC)") and code in table and "delivered" in table
    log_lines = _cli(capsys, url, "audit", "--alert", acked_id, "--events", "--json").splitlines()
    actions = [json.loads(x)["action"] for x in log_lines]
    assert actions[0] == "ALERT_RECEIVED" and "DISCLOSED" in actions and "ACKNOWLEDGED" in actions


async def test_chronology_markdown_and_html(filled: Any, capsys: Any, restore_logging: None, tmp_path: Path) -> None:
    """The review chronology groups each alert's path (told, acknowledged, escalated, with the time between), lists
    the agency records that raised no alert and flags the release among them; the HTML is the printable page."""
    h, url, (acked_id, escalated_id) = filled
    with h.sessions() as session:
        acked, escalated = (session.get(LedgerAlert, i).ack_code for i in (acked_id, escalated_id))
    markdown = _cli(capsys, url, "chronology", SUBJECT)
    groups = {g.split(":")[0]: g for g in markdown.split("\n### ")[1:]}
    assert set(groups) == {f"CRITICAL {acked}", f"CRITICAL {escalated}"}
    first, second = groups[f"CRITICAL {acked}"], groups[f"CRITICAL {escalated}"]
    acked_rows = [line.split(" | ")[2] for line in first.splitlines() if line[2:3].isdigit() and " UTC | " in line]
    assert acked_rows[:2] == ["RAISED", "LEDGER"] and acked_rows.count("TOLD") == 2
    assert "ACKNOWLEDGED" in acked_rows and "staff-idva-07 (idva) acknowledged via SMS" in first
    assert "[ESCALATED]" in second.splitlines()[0] and "| ESCALATED |" in second
    assert "GMT" in markdown and " UTC " in markdown
    assert "**RELEASE_WITHOUT_ALERT**" in markdown and "BAIL_GRANTED: bail_ref=WM-BAIL-3321" in markdown
    out = tmp_path / "chronology.html"
    _cli(capsys, url, "chronology", SUBJECT, "--format", "html", "--out", str(out))
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and 'data-kind="ESCALATED"' in page and "@media print" in page
    assert page.count('<article class="alert-group') == 2 and "<svg" in page
    with h.sessions() as session:
        assert session.query(ChronologyEvent).count() == 2
