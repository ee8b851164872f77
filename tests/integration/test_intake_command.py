"""`drive-alerts intake` as an operator runs it: a real process on the embedded default, restarted without loss."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from runtime.embedded_broker import free_port
from schemas.codec import AvroCodec
from tests.kafka_helpers import read_topic
from tests.samples.events import sample

pytestmark = pytest.mark.integration
DRIVE = [sys.executable, "-c", "from entrypoints.cli import main; raise SystemExit(main())"]


def _start(data_dir: Path, intake_port: int, broker_port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIVE_")}
    env.update(DRIVE_DATA_DIR=str(data_dir), DRIVE_EMBEDDED_BROKER_PORT=str(broker_port), DRIVE_LOG_FORMAT="json")
    process = subprocess.Popen([*DRIVE, "intake", "--intake-port", str(intake_port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{intake_port}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return process
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.3)
    process.kill()
    raise AssertionError("intake never became ready")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()


def _post(port: int, record: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/topics/incident/events", data=json.dumps(record).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": "Bearer dev-police-demo-key"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_intake_process_accepts_and_a_restart_reseeds_the_fresh_broker(tmp_path: Path) -> None:
    """An accepted record survives a restart of the embedded default: the new, empty broker is re-seeded from the journal."""
    record = sample("incident", "CUSTODY_RELEASE", source={"agency": "police.demo", "system": "niche-rms"})
    record.pop("name_hash", None)
    intake_port, broker_port = free_port(), free_port()

    first = _start(tmp_path, intake_port, broker_port)
    try:
        assert _post(intake_port, record) == (202, {"status": "accepted", "event_id": record["event_id"]})
    finally:
        _stop(first)
    assert first.returncode == 0

    second = _start(tmp_path, intake_port, broker_port)
    try:
        status, body = _post(intake_port, record)
        assert (status, body["status"]) == (200, "duplicate")
        published = read_topic(f"127.0.0.1:{broker_port}", "drive.incident", 2, timeout=8)
    finally:
        _stop(second)
    assert [AvroCodec().decode(value)["event_id"] for _key, value, _headers in published] == [record["event_id"]]
