"""Logging: JSON lines through structlog and stdlib alike, with personal data and secrets redacted."""
from __future__ import annotations

import io
import logging

import pytest
import structlog

from runtime.logging import REDACTED, configure_logging, get_logger, is_sensitive_key, redact, scrub_text
from runtime.settings import Settings

NAME, PHONE, ADDRESS, EMAIL = "Zebedee Quartermaine", "+447700900123", "12 Lilac Close", "zebedee@example.org"
SEEDED = (NAME, PHONE, ADDRESS, EMAIL, "Quartermaine", "Lilac")


def _assert_clean(text: str) -> None:
    for value in SEEDED:
        assert value not in text, value


def test_structlog_event_keeps_ids_and_drops_personal_data(captured_logs):
    """A structlog event with names, phone and address logs the ids but none of the personal values."""
    get_logger("drive.test").info(
        "case_opened", subject_id="DRV-0042", alert_id="AL-7", event_id="EV-99", staff_id="ST-3",
        name=NAME, person_name=NAME, phone_e164=PHONE, address=ADDRESS, Email=EMAIL,
        victim={"first_name": "Zebedee", "Surname": "Quartermaine", "victim_ref": "V-1"},
        contacts=[{"phone": PHONE}, {"postcode": "LS1 4AB"}])
    (line,) = captured_logs.lines
    _assert_clean(captured_logs.text)
    assert "LS1 4AB" not in captured_logs.text
    assert (line["subject_id"], line["alert_id"], line["event_id"], line["staff_id"]) == ("DRV-0042", "AL-7", "EV-99", "ST-3")
    assert line["victim"] == {"first_name": REDACTED, "Surname": REDACTED, "victim_ref": "V-1"}
    assert line["name"] == REDACTED and line["Email"] == REDACTED
    assert line["level"] == "info" and line["event"] == "case_opened" and line["logger"] == "drive.test"
    assert line["timestamp"].endswith("Z") and "T" in line["timestamp"]


def test_phone_and_email_inside_free_text_are_scrubbed(captured_logs):
    """Phone numbers and e-mail addresses inside any string value or message are replaced."""
    log = get_logger("drive.test")
    log.warning(f"could not reach {PHONE}", detail=f"mail {EMAIL} bounced; sms to {PHONE} failed", alert_id="AL-8")
    _assert_clean(captured_logs.text)
    assert "AL-8" in captured_logs.text
    assert captured_logs.text.count(REDACTED) >= 3


def test_stdlib_loggers_go_through_the_same_pipeline(captured_logs):
    """Records from stdlib loggers (faust, aiokafka, aiohttp) come out as redacted JSON lines too."""
    logging.getLogger("aiohttp.access").info("POST from %s body=%s", EMAIL, f"name={NAME}")
    (line,) = captured_logs.lines
    assert line["logger"] == "aiohttp.access" and line["level"] == "info"
    assert EMAIL not in captured_logs.text
    assert "timestamp" in line


def test_exception_text_is_scrubbed(captured_logs):
    """A logged exception's traceback text is scrubbed like any other value."""
    try:
        raise ValueError(f"invalid number {PHONE}")
    except ValueError:
        get_logger("drive.test").exception("send_failed", alert_id="AL-9")
    (line,) = captured_logs.lines
    assert "ValueError: invalid number" in line["exception"]
    _assert_clean(captured_logs.text)


def test_secret_keys_and_assignments_are_redacted(captured_logs):
    """Secret-looking keys at any depth and key=value secrets inside text never reach the output."""
    get_logger("drive.test").info("request", headers={"Authorization": "Bearer abcdef123456", "X-Twilio-Signature": "sig=="},
                                  kafka_sasl_password="pw-1", api_key="k-2", detail="token=tok-3 password: pw-4")
    text = captured_logs.text
    for secret in ("abcdef123456", "sig==", "pw-1", "k-2", "tok-3", "pw-4"):
        assert secret not in text


def test_level_filtering_drops_lower_levels(restore_logging):
    """At WARNING, info events are dropped and warnings kept."""
    stream = io.StringIO()
    configure_logging(Settings(log_level="WARNING", log_format="json"), stream=stream, force=True)
    log = get_logger("drive.test")
    log.info("quiet_event")
    log.warning("loud_event")
    assert "loud_event" in stream.getvalue() and "quiet_event" not in stream.getvalue()


def test_configure_is_once_per_process_unless_forced(restore_logging):
    """A second configure_logging call changes nothing; force=True re-routes the output."""
    first, second, third = io.StringIO(), io.StringIO(), io.StringIO()
    configure_logging(Settings(log_format="json"), stream=first, force=True)
    configure_logging(Settings(log_format="json"), stream=second)
    get_logger("t").info("to_first")
    configure_logging(Settings(log_format="json"), stream=third, force=True)
    get_logger("t").info("to_third")
    assert "to_first" in first.getvalue() and second.getvalue() == ""
    assert "to_third" in third.getvalue() and "to_third" not in first.getvalue()
    assert len(logging.getLogger().handlers) == 1


def test_console_format_is_not_json_but_still_redacted(restore_logging):
    """log_format=console renders human lines, still without personal data."""
    stream = io.StringIO()
    configure_logging(Settings(log_format="console"), stream=stream, force=True)
    get_logger("t").info("case_opened", subject_id="DRV-1", name=NAME)
    text = stream.getvalue()
    assert "case_opened" in text and "DRV-1" in text and not text.lstrip().startswith("{")
    _assert_clean(text)


@pytest.mark.parametrize("key", ["name", "NAME", "Phone_E164", "full-name", "free_text", "Narrative",
                                 "db_password", "twilio_auth_token", "x-api-key", "raw", "payload", "body"])
def test_sensitive_keys(key):
    """Personal and secret keys are recognised whatever their case or separator."""
    assert is_sensitive_key(key)


@pytest.mark.parametrize("key", ["subject_id", "alert_id", "event_id", "staff_id", "victim_refs", "rule",
                                 "severity", "topic", "partition", "person_id_scheme"])
def test_identifier_keys_are_kept(key):
    """Identifiers and operational fields are not redacted by key."""
    assert not is_sensitive_key(key)


def test_redact_handles_nesting_and_bytes():
    """Nested lists, tuples and dicts are walked; raw bytes are never shown."""
    value = {"outer": [{"inner": ({"surname": "Quartermaine"},)}], "record": b"\x00Zebedee"}
    assert redact(value) == {"outer": [{"inner": ({"surname": REDACTED},)}], "record": REDACTED}


def test_scrub_text_leaves_ids_and_times_alone():
    """Ids, ISO timestamps and short numbers survive scrubbing; phones and e-mails do not."""
    text = "alert AL-2024-000123 at 2026-01-02T03:04:05Z count 42 to 07700900123 and +14155550100 a@b.co"
    assert scrub_text(text) == f"alert AL-2024-000123 at 2026-01-02T03:04:05Z count 42 to {REDACTED} and {REDACTED} {REDACTED}"


def test_structlog_is_configured_for_stdlib(restore_logging):
    """After configure_logging structlog loggers are stdlib-backed, so levels and handlers are shared."""
    configure_logging(Settings(log_format="json"), stream=io.StringIO(), force=True)
    assert structlog.is_configured()
    assert structlog.get_config()["logger_factory"].__class__.__name__ == "LoggerFactory"
