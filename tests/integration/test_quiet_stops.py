"""A clean stop logs nothing at error level, and a malformed HTTP request is one info line without its bytes
(real `drive-alerts worker` and `intake` processes on the test broker, stopped with SIGTERM)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from runtime.embedded_broker import free_port
from runtime.settings import Settings

pytestmark = pytest.mark.integration
DRIVE = [sys.executable, "-c", "from entrypoints.cli import main; raise SystemExit(main())"]
BAD_HEADER = b"X-Bad\x01Header: zq-secret-header-bytes-7"


def _start(settings: Settings, tmp_path: Path, command: str, port_setting: str, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("DRIVE_")}
    env.update({"DRIVE_KAFKA_BOOTSTRAP": str(settings.kafka_bootstrap), "DRIVE_TOPIC_PREFIX": settings.topic_prefix,
                "DRIVE_EMBEDDED_PROFILE": "true", "DRIVE_DATA_DIR": str(tmp_path / command), "DRIVE_LOG_FORMAT": "json",
                port_setting: str(port)})
    log = open(tmp_path / f"{command}.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([*DRIVE, command], env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait_ready(process: subprocess.Popen[bytes], port: int, log: Path, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    process.kill()
    raise AssertionError("never ready:\n" + log.read_text()[-3000:])


def _stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()


def _events(log: Path) -> list[dict[str, Any]]:
    events = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            events.append({"level": "raw", "event": line})
    return events


def _malformed_request(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + BAD_HEADER + b"\r\n\r\n")
        return conn.recv(200)


def test_clean_stops_and_a_malformed_request_log_no_error(settings: Settings, tmp_path: Path) -> None:
    """Worker and intake start, the intake refuses a request with a bad header byte, both stop on SIGTERM: exit 0,
    no error-level or traceback line, and the refusal is one info line that does not echo the header."""
    worker_port, intake_port = free_port(), free_port()
    worker = _start(settings, tmp_path, "worker", "DRIVE_WORKER_METRICS_PORT", worker_port)
    intake = _start(settings, tmp_path, "intake", "DRIVE_INTAKE_PORT", intake_port)
    try:
        _wait_ready(worker, worker_port, tmp_path / "worker.log")
        _wait_ready(intake, intake_port, tmp_path / "intake.log")
        assert _malformed_request(intake_port).startswith(b"HTTP/1.")  # answered (400), not dropped
        time.sleep(0.5)
    finally:
        codes = {"worker": _stop(worker), "intake": _stop(intake)}
    assert codes == {"worker": 0, "intake": 0}
    for name in codes:
        log = tmp_path / f"{name}.log"
        events = _events(log)
        loud = [e for e in events if e.get("level") in ("error", "critical", "raw") or "exception" in e]
        assert loud == [], f"{name} logged at error level on a clean stop: {loud[:3]}"
        assert "Traceback" not in log.read_text(errors="replace")
    assert any("Stopping" in str(e.get("event", "")) for e in _events(tmp_path / "worker.log"))  # logged its stop
    intake_log = (tmp_path / "intake.log").read_text(errors="replace")
    refused = [e for e in _events(tmp_path / "intake.log") if e.get("logger") == "aiohttp.server"]
    assert [(e["level"], e["event"]) for e in refused] == [("info", "http request refused: BadHttpMessage (status 400)")]
    assert "zq-secret-header-bytes-7" not in intake_log and "X-Bad" not in intake_log
