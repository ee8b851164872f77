"""`drive-alerts worker` as a child of the bench: started on the bench's broker, watched through its /metrics."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from runtime.embedded_broker import free_port
from runtime.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 120.0
_SAMPLE = re.compile(r'^(drive_stream_(?:records|forwarded)_total)\{(?:agent|kind)="([^"]+)"\} ([0-9.e+]+)$', re.M)


class WorkerChild:
    """A running worker process: its counters (records per topic, forwards) and its memory."""

    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process = process
        self.port = port

    def counters(self) -> tuple[dict[str, int], int]:
        """(records handled per topic short name, records forwarded to subject-events)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
        records: dict[str, int] = {}
        forwarded = 0
        for name, label, value in _SAMPLE.findall(text):
            if name == "drive_stream_records_total":
                records[label] = int(float(value))
            else:
                forwarded += int(float(value))
        return records, forwarded

    def rss_mb(self) -> float:
        """Resident memory of the worker process (MB)."""
        with open(f"/proc/{self.process.pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0


def worker_env(settings: Settings, datadir: Path, port: int) -> dict[str, str]:
    """The child's environment: the bench's broker, topic prefix and profile; its own folder and metrics port."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIVE_")}
    env.update({"DRIVE_KAFKA_BOOTSTRAP": str(settings.kafka_bootstrap), "DRIVE_TOPIC_PREFIX": settings.topic_prefix,
                "DRIVE_DATA_DIR": str(datadir), "DRIVE_WORKER_METRICS_PORT": str(port),
                "DRIVE_EMBEDDED_PROFILE": "true" if settings.embedded_workarounds else "false",
                "DRIVE_LOG_LEVEL": "WARNING", "DRIVE_LOG_FORMAT": "json"})
    return env


@contextmanager
def worker_child(settings: Settings, datadir: Path) -> Iterator[WorkerChild]:
    """A worker child, yielded once its /readyz answers; stopped (SIGTERM) afterwards."""
    datadir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with open(datadir / "worker.log", "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "entrypoints.cli", "worker"], cwd=ROOT,
                                   env=worker_env(settings, datadir, port), stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_ready(process, port)
        yield WorkerChild(process, port)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _wait_ready(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited with {process.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the worker was not ready within {READY_TIMEOUT_S:.0f} s")
