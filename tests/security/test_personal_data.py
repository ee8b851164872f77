"""Personal data seeded at the door (HTTP intake, file drop) never reaches logs, SMS, e-mail or metrics labels.

The whole pipeline runs as real `drive-alerts` processes (intake, file drop, worker, dispatcher, chronology feed) on
the test broker and a SQLite database; SMS and e-mail go to the fake Twilio and SMTP servers.
"""
from __future__ import annotations

import json
import socket
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.fixtures import smtp_server, twilio_server  # noqa: F401 - fixtures
from tests.reliability.chaos import child_env
from tests.reliability.processes import Child, Children
from tests.reliability.scenario import build

pytestmark = pytest.mark.integration
NAME, ADDRESS, PHONE = "Ottoline Fitzwarren-Blythe", "14 Quillington Crescent", "+447700900777"
SEEDED = (NAME, "Fitzwarren", ADDRESS, "Quillington", PHONE, "07700900777")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _post(url: str, key: str, body: Any) -> int:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
        "Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _wait_http(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} never answered")


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return response.read().decode()


def _drop_file(root: Path, defendant: str) -> None:
    """A HMCTS listings extract naming the subject, with the defendant's name and address columns."""
    incoming = root / "hmcts" / "incoming"
    incoming.mkdir(parents=True)
    row = {"id": "pd-file-1", "type": "LISTED", "defendant_id": defendant, "defendant_name": NAME,
           "defendant_address": f"{ADDRESS}, Birmingham", "dob": "1980-02-03", "event_time": "2026-11-22T09:00:00",
           "entered": "2026-11-22T09:05:00", "case_number": "CP-PD-1", "court": "B2161",
           "hearing_start": "2026-12-02T10:00:00", "hearing": "FA"}
    (incoming / "court_20261122.jsonl").write_text(json.dumps(row) + "\n")


@pytest.mark.timeout(240)
def test_seeded_names_addresses_and_phones_never_leave_the_door(settings: Any, tmp_path: Path, twilio_server: Any,  # noqa: F811
                                                                smtp_server: Any) -> None:  # noqa: F811
    """Distinctive personal data sent by HTTP and file drop is absent from process logs, SMS, e-mail and /metrics."""
    scenario = build(seed=3, events=0, subjects=1)
    subject = scenario.subjects[0]
    ports = {name: _free_port() for name in ("intake", "worker", "dispatcher", "chronology")}
    env = child_env(settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'pd.db'}"}), twilio_server,
                    smtp_server.port)
    env.update({"DRIVE_INTAKE_PORT": str(ports["intake"]), "DRIVE_WORKER_METRICS_PORT": str(ports["worker"]),
                "DRIVE_DISPATCHER_METRICS_PORT": str(ports["dispatcher"]),
                "DRIVE_CHRONOLOGY_METRICS_PORT": str(ports["chronology"]), "DRIVE_LOG_LEVEL": "DEBUG",
                "DRIVE_FILEDROP_DIR": str(tmp_path / "drop"), "DRIVE_FILEDROP_SETTLE_S": "0"})
    children = Children()
    try:
        intake = children.add(Child("intake", "intake", env, tmp_path))
        intake.start()
        base = f"http://127.0.0.1:{ports['intake']}"
        _wait_http(f"{base}/readyz")
        for record in scenario.registry:
            assert _post(f"{base}/v1/topics/case/events", "dev-casemgmt-key", record.value) == 202
        worker = children.add(Child("worker", "worker", env, tmp_path))
        dispatcher = children.add(Child("dispatcher", "dispatcher", env, tmp_path))
        dispatcher.start()
        children.add(Child("chronology-feed", "chronology-feed", env, tmp_path)).start()
        worker.start()
        assert worker.wait_logged("streams_worker_ready", 120)
        named = scenario.court_event(subject, "WARRANT_ISSUED")
        named["source"] = {"agency": "court.demo", "system": "common-platform"}
        named["person_name"] = NAME
        assert _post(f"{base}/v1/topics/court/events", "dev-court-demo-key", named) == 202
        refused = {**scenario.court_event(subject), "source": named["source"], "home_address": ADDRESS,
                   "contact_phone": PHONE, "person_name": NAME}
        assert _post(f"{base}/v1/topics/court/events", "dev-court-demo-key", refused) == 422
        _drop_file(tmp_path / "drop", scenario.defendants[subject])
        filedrop = children.add(Child("filedrop", "filedrop --once", env, tmp_path))
        filedrop.start()
        assert filedrop.proc is not None and filedrop.proc.wait(120) == 0
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (twilio_server.messages and len(smtp_server.received) >= 4):
            time.sleep(0.5)
        sms = [m["body"] for m in twilio_server.messages]
        mails = [m.message.as_string() for m in smtp_server.received]
        assert sms and len(mails) >= 4, "the warrant (SMS + e-mail) and the listing (e-mail) must be delivered"
        metrics = "".join(_scrape(ports[name]) for name in ports)
    finally:
        children.stop_all()
    logs = "".join(child.logs() for child in children.items)
    assert "intake.record" in logs and "dispatcher_started" in logs  # the logs are really captured
    for place, text in {"logs": logs, "sms": "\n".join(sms), "email": "\n".join(mails), "metrics": metrics}.items():
        for value in SEEDED:
            assert value not in text, f"{value!r} found in {place}"
