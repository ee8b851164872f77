"""Integration tests of delivery: the real twilio SDK against a Twilio-shaped server, aiosmtpd, real databases."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import delivery_samples as samples
from tests.fakes.delivery_harness import DeliveryHarness, provider_settings
from tests.fakes.smtp_server import FakeSmtp
from tests.fakes.twilio_server import FakeTwilio

pytestmark = pytest.mark.integration
CM, IDVA, DM = samples.CM, samples.IDVA, samples.DM


@pytest.fixture
def make_harness(tmp_path: Path, sqlite_url: str, twilio_server: FakeTwilio,
                 smtp_server: FakeSmtp) -> Iterator[Callable[..., DeliveryHarness]]:
    """Build a harness on SQLite with both fake providers; keyword arguments override settings."""
    made: list[DeliveryHarness] = []

    def make(database_url: str = sqlite_url, **overrides: Any) -> DeliveryHarness:
        harness = DeliveryHarness(provider_settings(tmp_path, twilio_server, smtp_server, **overrides), database_url)
        harness.seed_staff(CM, IDVA, DM)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.close()


def _cm_only(severity: str = "CRITICAL", text: str | None = None) -> Any:
    alert = samples.alert(severity=severity)
    recipient = alert.recipients[0].to_datum()
    if text is not None:
        recipient["text"] = text
    return samples.alert(severity=severity, recipients=[{k: v for k, v in recipient.items() if v is not None}
                                                         | {"role": "CASE_MANAGER"}])


def test_channel_plan_by_severity(database_url: str, make_harness: Callable[..., DeliveryHarness],
                                  twilio_server: FakeTwilio, smtp_server: FakeSmtp) -> None:
    """CRITICAL goes by SMS and e-mail to every recipient, MEDIUM by e-mail only (SQLite and PostgreSQL)."""
    harness = make_harness(database_url)
    critical, medium = samples.alert(severity="CRITICAL"), samples.alert(severity="MEDIUM")
    assert harness.dispatch(critical) and harness.dispatch(medium)
    harness.run_until_settled()
    assert harness.states(critical.alert_id) == {(s, c, 0): "sent" for s in (CM, IDVA) for c in ("SMS", "EMAIL")}
    assert harness.states(medium.alert_id) == {(CM, "EMAIL", 0): "sent", (IDVA, "EMAIL", 0): "sent"}
    assert len(twilio_server.sent_to(samples.PHONES[CM])) == 1 and len(twilio_server.sent_to(samples.PHONES[IDVA])) == 1
    assert len(smtp_server.messages_to(samples.EMAILS[CM])) == 2


def test_redispatching_an_alert_sends_nothing_more(make_harness: Callable[..., DeliveryHarness],
                                                   twilio_server: FakeTwilio, smtp_server: FakeSmtp) -> None:
    """The same alert dispatched again after sending is a no-op: one SMS and one e-mail per recipient."""
    harness = make_harness()
    alert = samples.alert()
    assert harness.dispatch(alert)
    harness.run_until_settled()
    assert not harness.dispatch(alert)
    harness.run_until_settled()
    assert len(harness.deliveries(alert.alert_id)) == 4
    assert len(twilio_server.messages) == 2 and len(smtp_server.received) == 2


def test_missing_phone_means_email_only_and_is_audited(make_harness: Callable[..., DeliveryHarness]) -> None:
    """A recipient without a phone gets the e-mail only; the missing channel is in the audit trail."""
    harness = make_harness()
    harness.seed_staff(CM, phone_e164=None)
    alert = _cm_only()
    harness.dispatch(alert)
    assert harness.states(alert.alert_id) == {(CM, "EMAIL", 0): "pending"}
    assert "CHANNEL_UNAVAILABLE" in harness.actions(alert.alert_id)


def test_missing_email_on_an_email_only_alert_substitutes_sms(make_harness: Callable[..., DeliveryHarness]) -> None:
    """A MEDIUM alert to someone without e-mail goes by SMS instead (audited)."""
    harness = make_harness()
    harness.seed_staff(CM, email=None)
    alert = _cm_only("MEDIUM")
    harness.dispatch(alert)
    assert harness.states(alert.alert_id) == {(CM, "SMS", 0): "pending"}
    assert {"CHANNEL_UNAVAILABLE", "CHANNEL_SUBSTITUTED"} <= set(harness.actions(alert.alert_id))


@pytest.mark.parametrize(("fault", "code"), [("429", "TWILIO_20429"), ("500", "TWILIO_HTTP_500"),
                                             ("503", "TWILIO_HTTP_503"), ("timeout", "TIMEOUT")])
def test_transient_sms_fault_is_retried_then_sent(fault: str, code: str, make_harness: Callable[..., DeliveryHarness],
                                                  twilio_server: FakeTwilio) -> None:
    """429, 5xx and timeouts put the row back to pending with backoff; the retry sends it once."""
    harness = make_harness(channels_by_severity="CRITICAL=SMS")
    alert = _cm_only()
    harness.dispatch(alert)
    twilio_server.fail_next(fault)
    start = harness.clock()
    harness.sender.send_due()
    [row] = harness.deliveries(alert.alert_id)
    assert (row.state, row.last_error, row.attempts) == ("pending", code, 1)
    assert row.next_attempt_at == start + timedelta(seconds=10)  # base 5 * 2^1 * jitter 1.0
    harness.run_until_settled()
    [row] = harness.deliveries(alert.alert_id)
    assert (row.state, row.attempts) == ("sent", 2)
    assert len(twilio_server.sent_to(samples.PHONES[CM])) == 1
    assert harness.actions(alert.alert_id) == ["ALERT_RECEIVED", "RETRY_SCHEDULED", "DISCLOSED"]


def test_one_fault_in_a_batch_leaves_the_rest_of_the_batch_sent(make_harness: Callable[..., DeliveryHarness],
                                                                 twilio_server: FakeTwilio) -> None:
    """Five SMS claimed in one round, the first POST answered 503: that row is retried, the other four are sent."""
    harness = make_harness(channels_by_severity="CRITICAL=SMS", sender_concurrency=1)
    alerts = [_cm_only() for _ in range(5)]
    for alert in alerts:
        harness.dispatch(alert)
    twilio_server.fail_next("503")
    assert harness.sender.send_due() == 5
    states = sorted((row.state, row.attempts) for a in alerts for row in harness.deliveries(a.alert_id))
    assert states == [("pending", 1)] + [("sent", 1)] * 4
    assert len(twilio_server.posts()) == 5
    harness.run_until_settled()
    assert all(row.state == "sent" for a in alerts for row in harness.deliveries(a.alert_id))
    assert len(twilio_server.sent_to(samples.PHONES[CM])) == 5


def test_max_attempts_fails_then_fails_over(make_harness: Callable[..., DeliveryHarness],
                                            twilio_server: FakeTwilio, smtp_server: FakeSmtp) -> None:
    """A transient fault on every attempt fails the row at delivery_max_attempts and fails over to e-mail."""
    harness = make_harness(channels_by_severity="CRITICAL=SMS")
    alert = _cm_only()
    harness.dispatch(alert)
    twilio_server.fail_next("503", times=3)
    harness.run_until_settled()
    rows = {d.channel: d for d in harness.deliveries(alert.alert_id)}
    assert (rows["SMS"].state, rows["SMS"].attempts, rows["SMS"].last_error) == ("failed", 3, "MAX_ATTEMPTS:TWILIO_HTTP_503")
    assert (rows["EMAIL"].state, rows["EMAIL"].purpose) == ("sent", "FAILOVER")
    assert len(twilio_server.posts()) == 3 and len(smtp_server.messages_to(samples.EMAILS[CM])) == 1


def test_opted_out_number_fails_over_to_email(make_harness: Callable[..., DeliveryHarness],
                                              twilio_server: FakeTwilio, smtp_server: FakeSmtp) -> None:
    """21610 (STOP) is permanent: no retry, the e-mail channel of the same person takes over."""
    harness = make_harness(channels_by_severity="CRITICAL=SMS")
    alert = _cm_only()
    harness.dispatch(alert)
    twilio_server.fail_next(21610)
    harness.run_until_settled()
    rows = {d.channel: d for d in harness.deliveries(alert.alert_id)}
    assert (rows["SMS"].state, rows["SMS"].attempts, rows["SMS"].last_error) == ("failed", 1, "TWILIO_21610")
    assert (rows["EMAIL"].state, rows["EMAIL"].purpose) == ("sent", "FAILOVER")
    assert ["SEND_FAILED", "FAILED_OVER"] == [a for a in harness.actions(alert.alert_id) if a in ("SEND_FAILED", "FAILED_OVER")]
    assert len(smtp_server.messages_to(samples.EMAILS[CM])) == 1


def test_both_channels_permanent_reach_the_duty_manager(make_harness: Callable[..., DeliveryHarness],
                                                        twilio_server: FakeTwilio, smtp_server: FakeSmtp) -> None:
    """Invalid number and a 550 mailbox: the duty manager on call is told the case manager was not reached."""
    harness = make_harness()
    alert = _cm_only()
    harness.dispatch(alert)
    twilio_server.fail_next(21211)
    smtp_server.refuse_next(550)
    harness.run_until_settled()
    states = harness.states(alert.alert_id)
    assert states == {(CM, "SMS", 0): "failed", (CM, "EMAIL", 0): "failed", (DM, "SMS", 0): "sent",
                      (DM, "EMAIL", 0): "sent"}
    [sms] = twilio_server.sent_to(samples.PHONES[DM])
    assert "could not reach case manager staff-cm-01. Review now." in sms["body"]
    [mail] = smtp_server.messages_to(samples.EMAILS[DM])
    assert "could not reach case manager staff-cm-01" in mail.get_body(("plain",)).get_content()


def test_smtp_451_is_retried_and_550_fails_over_to_sms(make_harness: Callable[..., DeliveryHarness],
                                                       twilio_server: FakeTwilio, smtp_server: FakeSmtp) -> None:
    """A 451 is retried on the same channel; a 550 on the retry fails over to SMS."""
    harness = make_harness()
    alert = _cm_only("MEDIUM")
    harness.dispatch(alert)
    smtp_server.refuse_next(451)
    harness.sender.send_due()
    [row] = harness.deliveries(alert.alert_id)
    assert (row.state, row.last_error) == ("pending", "SMTP_451")
    smtp_server.refuse_next(550)
    harness.run_until_settled()
    rows = {d.channel: d for d in harness.deliveries(alert.alert_id)}
    assert (rows["EMAIL"].state, rows["EMAIL"].last_error, rows["EMAIL"].attempts) == ("failed", "SMTP_550", 2)
    assert (rows["SMS"].state, rows["SMS"].purpose) == ("sent", "FAILOVER")
    assert len(twilio_server.sent_to(samples.PHONES[CM])) == 1


def test_smtp_outage_is_transient(make_harness: Callable[..., DeliveryHarness], smtp_server: FakeSmtp) -> None:
    """With the SMTP server down the e-mail waits; once it is back the retry delivers it."""
    harness = make_harness()
    alert = _cm_only("MEDIUM")
    harness.dispatch(alert)
    smtp_server.stop()
    harness.sender.send_due()
    [row] = harness.deliveries(alert.alert_id)
    assert (row.state, row.last_error) == ("pending", "NETWORK")
    smtp_server.start()
    harness.run_until_settled()
    assert harness.states(alert.alert_id) == {(CM, "EMAIL", 0): "sent"}
    assert len(smtp_server.messages_to(samples.EMAILS[CM])) == 1


def test_email_is_multipart_with_subject_message_id_and_ack_link(tmp_path: Path, sqlite_url: str,
                                                                 smtp_server: FakeSmtp) -> None:
    """The e-mail has the DRIVE subject, plain and HTML parts, the ack link from the hook, and login is used."""
    smtp_server.stop()
    smtp_server.credentials = ("drive", "s3cret")
    smtp_server.start()
    settings = provider_settings(tmp_path, None, smtp_server, smtp_username="drive", smtp_password="s3cret")
    links: list[tuple[str, str]] = []
    harness = DeliveryHarness(settings, sqlite_url,
                              ack_link=lambda a, s: links.append((a, s)) or f"https://drive.example/ack/{s}")
    harness.seed_staff(CM)
    alert = _cm_only("MEDIUM")
    harness.dispatch(alert)
    harness.run_until_settled()
    [received] = smtp_server.received
    [row] = harness.deliveries(alert.alert_id)
    assert received.login == "drive" and links == [(alert.alert_id, CM)]
    assert received.message["Subject"] == f"[DRIVE MEDIUM] breach no contact {row.body.split()[3]}"
    assert received.message["Message-ID"] == row.provider_message_id
    assert received.message.get_content_type() == "multipart/alternative"
    assert "https://drive.example/ack/staff-cm-01" in received.message.get_body(("plain",)).get_content()
    assert 'href="https://drive.example/ack/staff-cm-01"' in received.message.get_body(("html",)).get_content()
    harness.close()


def test_outbox_mode_prints_and_writes(tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Without Twilio and SMTP settings every message goes to outbox.jsonl and stdout, and counts as sent."""
    harness = DeliveryHarness(provider_settings(tmp_path, None, None), sqlite_url)
    harness.seed_staff(CM, IDVA)
    alert = samples.alert()
    harness.dispatch(alert)
    harness.run_until_settled()
    assert set(harness.states(alert.alert_id).values()) == {"sent"}
    lines = [json.loads(line) for line in (tmp_path / "outbox.jsonl").read_text().splitlines()]
    assert sorted((line["staff_id"], line["channel"]) for line in lines) == [
        (CM, "EMAIL"), (CM, "SMS"), (IDVA, "EMAIL"), (IDVA, "SMS")]
    printed = capsys.readouterr().out
    assert printed.count("[outbox] SMS to ") == 2 and printed.count("[outbox] EMAIL to ") == 2
    assert samples.PHONES[CM] not in printed
    harness.close()
