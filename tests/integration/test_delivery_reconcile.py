"""Integration tests of crash reconciliation, asking Twilio before retrying after a timeout, and the personal-data
guard end to end (fake Twilio, aiosmtpd, SQLite and PostgreSQL)."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from consumers import ledger
from consumers.delivery.reconcile import reconcile
from tests.conftest import CapturedLogs
from tests.fakes import delivery_samples as samples
from tests.fakes.delivery_harness import DeliveryHarness, provider_settings
from tests.fakes.smtp_server import FakeSmtp
from tests.fakes.twilio_server import FakeTwilio

pytestmark = pytest.mark.integration
CM, DM = samples.CM, samples.DM


@pytest.fixture
def harness(tmp_path: Path, sqlite_url: str, twilio_server: FakeTwilio, smtp_server: FakeSmtp) -> Iterator[DeliveryHarness]:
    """A harness with both fake providers; the fake Twilio stamps messages with the harness's simulated clock."""
    made = DeliveryHarness(provider_settings(tmp_path, twilio_server, smtp_server), sqlite_url)
    twilio_server.clock = made.clock
    made.seed_staff(CM, samples.IDVA, DM)
    yield made
    made.close()


@pytest.fixture
def sms_harness(tmp_path: Path, database_url: str, twilio_server: FakeTwilio,
                smtp_server: FakeSmtp) -> Iterator[DeliveryHarness]:
    """CRITICAL alerts by SMS only, on SQLite and PostgreSQL; the fake Twilio on the harness's simulated clock."""
    made = DeliveryHarness(provider_settings(tmp_path, twilio_server, smtp_server, channels_by_severity="CRITICAL=SMS"),
                           database_url)
    twilio_server.clock = made.clock
    made.seed_staff(CM, samples.IDVA, DM)
    yield made
    made.close()


def _to_case_manager_only() -> Any:
    """A CRITICAL alert whose only recipient is the case manager (one SMS row)."""
    recipient = {k: v for k, v in samples.alert().recipients[0].to_datum().items() if v is not None}
    return samples.alert(severity="CRITICAL", recipients=[recipient | {"role": "CASE_MANAGER"}])


def _only_row(harness: DeliveryHarness, alert_id: str) -> ledger.Delivery:
    [row] = harness.deliveries(alert_id)
    return row


def test_timeout_after_twilio_took_the_sms_is_reconciled_not_resent(sms_harness: DeliveryHarness,
                                                                    twilio_server: FakeTwilio) -> None:
    """Twilio keeps the SMS but answers after the client timeout: the retry finds it, so exactly one SMS goes."""
    alert = _to_case_manager_only()
    sms_harness.dispatch(alert)
    twilio_server.fail_next("timeout_after_accept")
    sms_harness.sender.send_due()
    assert (_only_row(sms_harness, alert.alert_id).state, _only_row(sms_harness, alert.alert_id).last_error) == (
        "pending", "TIMEOUT")
    sms_harness.run_until_settled()
    [sms] = twilio_server.sent_to(samples.PHONES[CM])
    row = _only_row(sms_harness, alert.alert_id)
    assert (row.state, row.provider_message_id, row.attempts, row.last_error) == ("sent", sms["sid"], 2, None)
    assert len(twilio_server.posts()) == 1
    assert sms_harness.actions(alert.alert_id) == ["ALERT_RECEIVED", "RETRY_SCHEDULED", "RECONCILED"]


def test_timeout_before_twilio_took_the_sms_is_sent_once_after_asking(sms_harness: DeliveryHarness,
                                                                      twilio_server: FakeTwilio) -> None:
    """Twilio times out without keeping the SMS: the retry asks, finds nothing and sends it once."""
    alert = _to_case_manager_only()
    sms_harness.dispatch(alert)
    twilio_server.fail_next("timeout")
    sms_harness.run_until_settled()
    [sms] = twilio_server.sent_to(samples.PHONES[CM])
    row = _only_row(sms_harness, alert.alert_id)
    assert (row.state, row.provider_message_id, row.attempts) == ("sent", sms["sid"], 2)
    assert len(twilio_server.posts()) == 2
    assert [r.method for r in twilio_server.requests] == ["POST", "GET", "POST"]
    assert sms_harness.actions(alert.alert_id) == ["ALERT_RECEIVED", "RETRY_SCHEDULED", "DISCLOSED"]


def test_failed_lookup_after_a_timeout_sends_nothing_and_asks_again(sms_harness: DeliveryHarness,
                                                                    twilio_server: FakeTwilio) -> None:
    """Twilio's message list answering 500 leaves the row pending without a POST; the next retry still finds
    the SMS the timed-out attempt left, so none is sent twice."""
    alert = _to_case_manager_only()
    sms_harness.dispatch(alert)
    twilio_server.fail_next("timeout_after_accept")
    sms_harness.sender.send_due()
    twilio_server.fail_next_list("500")
    sms_harness.clock.at = _only_row(sms_harness, alert.alert_id).next_attempt_at
    assert sms_harness.sender.send_due() == 1
    row = _only_row(sms_harness, alert.alert_id)
    assert (row.state, row.attempts, row.last_error) == ("pending", 2, "LOOKUP_FAILED:TWILIO_HTTP_500")
    assert len(twilio_server.posts()) == 1
    sms_harness.run_until_settled()
    [sms] = twilio_server.sent_to(samples.PHONES[CM])
    assert (_only_row(sms_harness, alert.alert_id).state, len(twilio_server.posts())) == ("sent", 1)
    assert _only_row(sms_harness, alert.alert_id).provider_message_id == sms["sid"]
    assert sms_harness.actions(alert.alert_id) == ["ALERT_RECEIVED", "RETRY_SCHEDULED", "RETRY_SCHEDULED",
                                                   "RECONCILED"]


def _crash_after_send(harness: DeliveryHarness, channel: str, alert_id: str) -> int:
    """Claim the row and hand it to the provider, then 'crash' before recording the outcome."""
    [row] = [d for d in harness.deliveries(alert_id) if d.channel == channel and d.staff_id == CM]
    message = harness.sender.claim(row.id)
    assert message is not None
    harness.channels[channel].send(message)
    return row.id


def test_sms_sent_before_the_crash_is_reconciled_not_resent(harness: DeliveryHarness,
                                                            twilio_server: FakeTwilio) -> None:
    """A row left in `sending` after Twilio took the SMS becomes `sent` with Twilio's SID; no second SMS."""
    alert = samples.alert(severity="CRITICAL")
    harness.dispatch(alert)
    delivery_id = _crash_after_send(harness, "SMS", alert.alert_id)
    harness.clock.advance(seconds=30)
    assert reconcile(harness.sender)["reconciled"] == 1
    harness.run_until_settled()
    [sms] = twilio_server.sent_to(samples.PHONES[CM])
    [row] = [d for d in harness.deliveries(alert.alert_id) if d.id == delivery_id]
    assert (row.state, row.provider_message_id, row.attempts) == ("sent", sms["sid"], 1)
    assert "RECONCILED" in harness.actions(alert.alert_id)
    assert any(r.method == "GET" and r.query.get("To") == samples.PHONES[CM] for r in twilio_server.requests)


def test_sms_not_sent_before_the_crash_is_sent_once(harness: DeliveryHarness, twilio_server: FakeTwilio) -> None:
    """A row left in `sending` that Twilio never saw goes back to pending and is sent exactly once."""
    alert = samples.alert(severity="CRITICAL")
    harness.dispatch(alert)
    [row] = [d for d in harness.deliveries(alert.alert_id) if d.channel == "SMS" and d.staff_id == CM]
    assert harness.sender.claim(row.id) is not None
    assert reconcile(harness.sender)["requeued"] == 1
    harness.run_until_settled()
    assert len(twilio_server.sent_to(samples.PHONES[CM])) == 1
    assert "REQUEUED_AFTER_CRASH" in harness.actions(alert.alert_id)


def test_an_earlier_sms_for_the_same_alert_does_not_count(harness: DeliveryHarness, twilio_server: FakeTwilio) -> None:
    """Only a message created after the row went to `sending` reconciles it (an older one is another level's)."""
    alert = samples.alert(severity="CRITICAL")
    harness.dispatch(alert)
    harness.run_until_settled()
    [delivery_id] = [d.id for d in harness.deliveries(alert.alert_id) if d.channel == "SMS" and d.staff_id == CM]
    with harness.sessions() as session:
        row = session.get(ledger.Delivery, delivery_id)
        row.state, row.level = ledger.PENDING, 1  # a later level's re-send to the same number
        session.commit()
    harness.clock.advance(minutes=20)
    message = harness.sender.claim(delivery_id)
    assert message is not None
    assert reconcile(harness.sender)["requeued"] == 1


def test_another_message_with_the_same_code_to_the_same_number_does_not_count(harness: DeliveryHarness) -> None:
    """A duty manager is sent one message per recipient they are told about, all with the alert's code: only the
    message with this body reconciles this row."""
    alert = samples.alert(severity="CRITICAL")
    harness.dispatch(alert)
    harness.run_until_settled()
    with harness.sessions() as session:
        row = next(d for d in ledger.deliveries_of(session, alert.alert_id, CM) if d.channel == "SMS")
        sent = harness.sender.message_for(session, row)
    sms = harness.sender.channels["SMS"]
    since = row.sent_at - timedelta(seconds=1)
    assert sms.find_sent(sent, since) == row.provider_message_id
    other = replace(sent, delivery_id=sent.delivery_id + 1000, body=sent.body.replace("DRIVE", "DRIVE Escalation", 1))
    assert sms.find_sent(other, since) is None


def test_email_in_sending_is_resent_once_with_the_same_message_id(harness: DeliveryHarness,
                                                                  smtp_server: FakeSmtp) -> None:
    """SMTP cannot be asked: the e-mail is re-sent once with the same Message-ID and RESENT_AFTER_CRASH audited."""
    alert = samples.alert(severity="MEDIUM")
    harness.dispatch(alert)
    _crash_after_send(harness, "EMAIL", alert.alert_id)
    assert reconcile(harness.sender)["resent"] == 1
    harness.run_until_settled()
    first, second = smtp_server.messages_to(samples.EMAILS[CM])
    assert first["Message-ID"] == second["Message-ID"]
    assert harness.actions(alert.alert_id).count("RESENT_AFTER_CRASH") == 1
    assert {(d.staff_id, d.state) for d in harness.deliveries(alert.alert_id)} >= {(CM, "sent")}


def test_young_sending_rows_are_left_to_their_sender(harness: DeliveryHarness) -> None:
    """A row that went to `sending` moments ago may be in flight elsewhere: reconcile leaves it alone."""
    from datetime import timedelta

    alert = samples.alert(severity="CRITICAL")
    harness.dispatch(alert)
    _crash_after_send(harness, "SMS", alert.alert_id)
    assert reconcile(harness.sender, timedelta(seconds=30)) == {"reconciled": 0, "requeued": 0, "resent": 0,
                                                                 "unresolved": 0}


SEEDED = ("Zebedee", "Quartermaine", "Lilac Close", "07700 900321", "zebedee@example.net")


def test_seeded_personal_data_reaches_no_message_and_no_log(harness: DeliveryHarness, twilio_server: FakeTwilio,
                                                            smtp_server: FakeSmtp, captured_logs: CapturedLogs) -> None:
    """Names, an address and a phone number slipped into an alert text never reach SMS, e-mail or the logs."""
    text = ("DRIVE CRITICAL ALT5C2E9: no-contact breach. Zebedee Quartermaine seen at 12 Lilac Close, "
            "call 07700 900321 or zebedee@example.net. Act now.")
    alert = samples.alert(severity="CRITICAL", recipients=[
        {"staff_id": CM, "role": "CASE_MANAGER", "text": text},
        {"staff_id": samples.IDVA, "role": "IDVA", "victim_ref": "VIC-0001", "text": text}])
    harness.dispatch(alert)
    harness.run_until_settled()
    outgoing = [m["body"] for m in twilio_server.messages]
    outgoing += [r.message.as_string() for r in smtp_server.received]
    assert len(outgoing) == 4
    for seeded in SEEDED:
        assert not [o for o in outgoing if seeded in o]
        assert seeded not in captured_logs.text
    assert "for client VIC-0001: details in the case system" in outgoing[0] + outgoing[1]
    with harness.sessions() as session:
        replaced = ledger.audit_entries(session, alert_id=alert.alert_id, action="UNSAFE_TEXT_REPLACED")
        assert len(replaced) == 4 and not [e for e in replaced if "Zebedee" in e.detail]
    assert '"unsafe_text_replaced"' in captured_logs.text
