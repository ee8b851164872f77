"""End-to-end: alert and staff records on the real broker -> dispatcher -> fake Twilio + aiosmtpd -> delivery topic."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from consumers import ledger
from entrypoints import bootstrap
from runtime.db import make_engine
from runtime.kafka import make_producer
from runtime.settings import Settings
from runtime.topics import ensure_topics
from schemas.catalogue import TOPICS
from schemas.codec import AvroCodec
from schemas.jsonform import from_json
from tests.fakes import delivery_samples as samples
from tests.fakes.smtp_server import FakeSmtp
from tests.fakes.twilio_server import FakeTwilio
from tests.kafka_helpers import read_topic

pytestmark = pytest.mark.integration
REGISTRY_PHONE = "+447700900555"  # only in the STAFF_UPDATED record


def _wait_for(condition: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _publish(settings: Settings, topic: str, key: str, record: dict[str, Any]) -> None:
    codec = AvroCodec(prefix=settings.topic_prefix)
    producer = make_producer(settings)
    try:
        producer.send(settings.topic(topic), key=key.encode(), value=codec.encode(topic, from_json(topic, record)))
        producer.flush(timeout=30)
    finally:
        producer.close()


def _staff_count(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(ledger.Staff.__table__)).scalar_one())
    except sa.exc.OperationalError:  # tables not there yet
        return 0
    finally:
        engine.dispose()


def _run_dispatcher(settings: Settings, stop: threading.Event) -> None:
    """The dispatcher process as `drive-alerts dispatcher` builds and runs it, until `stop` is set."""
    with bootstrap.dispatcher(settings) as process:
        process.service.serve(stop, process.companions)


@pytest.fixture
def dispatcher_settings(settings_factory: Callable[..., Settings], twilio_server: FakeTwilio,
                        smtp_server: FakeSmtp) -> Settings:
    """Settings of a dispatcher on the test broker, fake Twilio and aiosmtpd."""
    settings = settings_factory(
        twilio_account_sid=twilio_server.account_sid, twilio_auth_token=twilio_server.auth_token,
        twilio_messaging_service_sid="MG" + "1" * 32, twilio_base_url=twilio_server.base_url,
        smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_security="none", sender_interval_s=0.2,
        escalation_interval_s=3600.0, twilio_timeout_s=2.0, smtp_timeout_s=2.0, dispatcher_metrics_port=0)
    ensure_topics(settings, [TOPICS[name] for name in ("case", "alert", "delivery")])
    return settings


def test_alert_on_the_broker_is_delivered_once_and_reported(dispatcher_settings: Settings, twilio_server: FakeTwilio,
                                                            smtp_server: FakeSmtp) -> None:
    """A twice-published alert gives one SMS (to the registry's number) and one e-mail per recipient, and SENT events."""
    settings = dispatcher_settings
    for staff_id in (samples.CM, samples.IDVA):
        phone = REGISTRY_PHONE if staff_id == samples.CM else samples.PHONES[staff_id]
        _publish(settings, "case", f"staff:{staff_id}", samples.staff_event(staff_id, phone_e164=phone))
    stop = threading.Event()
    worker = threading.Thread(target=_run_dispatcher, args=(settings, stop), daemon=True)
    worker.start()
    try:
        _wait_for(lambda: _staff_count(settings.resolved_database_url) == 2, what="the staff registry")
        alert = samples.sample_alert_record(severity="CRITICAL")
        _publish(settings, "alert", alert["subject_id"], alert)
        _publish(settings, "alert", alert["subject_id"], alert)  # redelivery
        _wait_for(lambda: len(twilio_server.messages) >= 2 and len(smtp_server.received) >= 2, what="messages")
        records = _wait_for(lambda: (found := read_topic(settings.kafka_bootstrap, settings.topic("delivery"), 4,
                                                         timeout=5)) and len(found) == 4 and found,
                            what="four delivery events")
        events = [AvroCodec(prefix=settings.topic_prefix).decode(value, "delivery") for _, value, _ in records]
    finally:
        stop.set()
        worker.join(timeout=60)
    assert not worker.is_alive()
    assert sorted(m["to"] for m in twilio_server.messages) == sorted([REGISTRY_PHONE, samples.PHONES[samples.IDVA]])
    assert all(p.form.get("MessagingServiceSid") == settings.twilio_messaging_service_sid for p in twilio_server.posts())
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == sorted(samples.EMAILS[s] for s in (samples.CM, samples.IDVA))
    assert {(e["kind"], e["alert_id"]) for e in events} == {("SENT", alert["alert_id"])}
    assert sorted((e["staff_id"], e["channel"]) for e in events) == sorted(
        (s, c) for s in (samples.CM, samples.IDVA) for c in ("SMS", "EMAIL"))
    time.sleep(1.0)  # a late second dispatch would show up here
    assert len(twilio_server.messages) == 2 and len(smtp_server.received) == 2


def test_dispatcher_command_stops_cleanly_on_sigterm(dispatcher_settings: Settings, tmp_path: Path) -> None:
    """`drive-alerts dispatcher` runs until SIGTERM and then exits 0."""
    settings = dispatcher_settings
    env = {**os.environ, "DRIVE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap, "DRIVE_TOPIC_PREFIX": settings.topic_prefix,
           "DRIVE_DATA_DIR": str(tmp_path), "DRIVE_EMBEDDED_PROFILE": "true", "DRIVE_LOG_FORMAT": "json",
           "DRIVE_DISPATCHER_METRICS_PORT": "0"}  # a default port may be busy on a shared machine (refused at start)
    process = subprocess.Popen([sys.executable, "-m", "entrypoints.cli", "dispatcher"], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
        reader.start()
        _wait_for(lambda: any("dispatcher_started" in line for line in lines), what="dispatcher_started")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        reader.join(timeout=10)
        assert any("dispatcher_stopped" in line for line in lines)
    finally:
        if process.poll() is None:
            process.kill()
