"""Unit tests of delivery policy: channel plan parsing, backoff with jitter and cap, provider fault classification."""
from __future__ import annotations

import smtplib
import socket
from datetime import timedelta

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from consumers.delivery.channels import email, sms
from consumers.delivery.dispatch import DEFAULT_PLAN, channels_for, parse_channel_plan
from consumers.delivery.retry import backoff_delay
from consumers.ledger.models import ACK_ALPHABET, ack_code_for
from runtime.settings import Settings


def test_default_plan_matches_the_issue() -> None:
    """CRITICAL and HIGH go by SMS and e-mail, MEDIUM and LOW by e-mail; the setting's default is that plan."""
    plan = parse_channel_plan(Settings().channels_by_severity)
    assert plan == parse_channel_plan(DEFAULT_PLAN)
    assert channels_for(plan, "CRITICAL") == ("SMS", "EMAIL") and channels_for(plan, "HIGH") == ("SMS", "EMAIL")
    assert channels_for(plan, "MEDIUM") == ("EMAIL",) and channels_for(plan, "UNKNOWN") == ("EMAIL",)


def test_plan_rejects_unknown_channels() -> None:
    """A typo in the plan is an error, not a silently dropped channel."""
    with pytest.raises(ValueError, match="SMS and/or EMAIL"):
        parse_channel_plan("CRITICAL=SMS+PAGER")


@pytest.mark.parametrize(("attempts", "jitter", "seconds"), [(1, 1.0, 10), (2, 1.0, 20), (1, 0.0, 5), (10, 1.0, 300),
                                                             (10, 0.0, 150)])
def test_backoff_doubles_is_capped_and_jittered(attempts: int, jitter: float, seconds: float) -> None:
    """min(cap, base * 2^attempts) scaled by a jitter between 0.5 and 1.0."""
    assert backoff_delay(attempts, 5.0, 300.0, lambda: jitter) == timedelta(seconds=seconds)


def _twilio_error(status: int, code: int | None) -> TwilioRestException:
    return TwilioRestException(status, "/Messages.json", "msg", code)


@pytest.mark.parametrize(("exc", "transient", "code"), [
    (_twilio_error(429, 20429), True, "TWILIO_20429"),
    (_twilio_error(503, 20500), True, "TWILIO_HTTP_503"),
    (_twilio_error(400, 21211), False, "TWILIO_21211"),
    (_twilio_error(400, 21614), False, "TWILIO_21614"),
    (_twilio_error(400, 21610), False, "TWILIO_21610"),
    (_twilio_error(400, 21408), False, "TWILIO_21408"),
    (_twilio_error(404, None), False, "TWILIO_404"),
    (requests.ReadTimeout(), True, "TIMEOUT"),
    (requests.ConnectionError(), True, "NETWORK"),
])
def test_twilio_faults_are_classified(exc: Exception, transient: bool, code: str) -> None:
    """429/5xx/network are transient; invalid, landline, opted-out and other 4xx are permanent."""
    fault = sms.classify(exc)
    assert (fault.transient, fault.code) == (transient, code)


@pytest.mark.parametrize(("exc", "transient", "code"), [
    (smtplib.SMTPDataError(451, b"later"), True, "SMTP_451"),
    (smtplib.SMTPDataError(550, b"no"), False, "SMTP_550"),
    (smtplib.SMTPRecipientsRefused({"x@y": (550, b"no")}), False, "SMTP_550"),
    (smtplib.SMTPServerDisconnected("gone"), True, "NETWORK"),
    (ConnectionRefusedError(), True, "NETWORK"),
    (socket.timeout(), True, "TIMEOUT"),
])
def test_smtp_faults_are_classified(exc: BaseException, transient: bool, code: str) -> None:
    """SMTP 4xx and connection problems are transient; 5xx permanent."""
    fault = email.classify(exc)
    assert (fault.transient, fault.code) == (transient, code)


def test_message_id_is_stable_per_delivery() -> None:
    """The same delivery always gets the same Message-ID; another delivery a different one."""
    first = email.message_id_for(7, "alt-1", "alerts@drive.example.org")
    assert first == email.message_id_for(7, "alt-1", "alerts@drive.example.org")
    assert first.startswith("<delivery-7.") and first.endswith("@drive.example.org>")
    assert first != email.message_id_for(8, "alt-1", "alerts@drive.example.org")


def test_ack_codes_are_deterministic_and_unambiguous() -> None:
    """The code depends only on the alert id and uses no 0, O, 1 or I."""
    codes = {ack_code_for(f"alert-{i}") for i in range(2000)}
    assert ack_code_for("alert-1") == ack_code_for("alert-1") and len(codes) > 1990
    assert all(set(c) <= set(ACK_ALPHABET) and not set(c) & set("0O1I") for c in codes)
