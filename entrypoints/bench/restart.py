"""Restart cost: `drive-alerts up` with a history of N accepted records, stopped, started again -> first new SMS.

A first run takes the registry and N - registry agency records through the HTTP intake and waits until the worker
has handled them all (and a checkpoint of the broker copy has passed); then it stops. The measured run starts the
whole pipeline again and posts one alerting event as soon as the intake answers; the figure is from the start of
the process to the SMS call the dispatcher makes for that event.
"""
from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from entrypoints.bench.data import agency_record, case_record, staff_records
from entrypoints.bench.sms_sink import ACCOUNT_SID, AUTH_TOKEN, SmsSink
from entrypoints.up import demo_data
from entrypoints.up.components import components
from runtime.embedded_broker import free_port
from runtime.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SUBJECTS = 100
BATCH = 500
TIMEOUT_S = 300.0
_POLICE = {"agency": "police.demo", "system": "niche-rms"}
_DRIVE = {"agency": "drive.casemgmt", "system": "case-management"}


@dataclass(frozen=True)
class RestartResult:
    """Seconds from starting `up` again (with `history` records accepted before) to the first new SMS call."""

    history: int
    seconds: float


def measure_restart(workdir: Path, history: int, progress: Callable[[str], None]) -> RestartResult:
    """Loads the history into a first `up`, stops it, and times the second start (see the module docstring)."""
    data_dir = workdir / f"restart-{history}"
    data_dir.mkdir(parents=True)
    with SmsSink() as sink:
        env, ports = _env(data_dir, sink)
        _load_history(env, ports, history, progress)
        start = time.perf_counter()
        process = _start(env, data_dir)
        try:
            while _post(ports["intake_port"], "bail", [_alerting()], "police.demo") != 202:
                _alive(process, data_dir)
                time.sleep(0.05)
            while not sink.count():
                _alive(process, data_dir)
                if time.perf_counter() - start > TIMEOUT_S:
                    raise RuntimeError("no SMS after the restart")
                time.sleep(0.02)
            seconds = min(sink.received.values()) - start
        finally:
            _stop(process)
    progress(f"  restart with {history:,} records of history: first new SMS after {seconds:.1f} s")
    return RestartResult(history, seconds)


def _env(data_dir: Path, sink: SmsSink) -> tuple[dict[str, str], dict[str, int]]:
    ports = {c.port_setting: free_port() for c in components(Settings())}
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIVE_")}
    env.update({f"DRIVE_{name.upper()}": str(port) for name, port in ports.items()})
    env.update({"DRIVE_DATA_DIR": str(data_dir), "DRIVE_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                "DRIVE_TWILIO_AUTH_TOKEN": AUTH_TOKEN, "DRIVE_TWILIO_FROM_NUMBER": "+447700900000",
                "DRIVE_TWILIO_BASE_URL": sink.base_url, "DRIVE_CHANNELS_BY_SEVERITY":
                "CRITICAL=SMS,HIGH=SMS,MEDIUM=SMS,LOW=SMS", "DRIVE_LOG_LEVEL": "WARNING"})
    return env, ports


def _load_history(env: dict[str, str], ports: dict[str, int], history: int, progress: Callable[[str], None]) -> None:
    now, rng = datetime.now(UTC), random.Random(5)
    registry = [{**r, "source": _DRIVE} for r in (*staff_records(SUBJECTS, now),
                                                  *(case_record(i, now) for i in range(SUBJECTS)))]
    # Arrests in the home force raise no alert: the history costs the pipeline, not the dispatcher.
    arrests = [{**agency_record(rng.randrange(SUBJECTS), "ARREST", now, rng), "source": _POLICE}
               for _ in range(max(0, history - len(registry)))]
    process = _start(env, Path(env["DRIVE_DATA_DIR"]))
    try:
        _wait_ready(process, ports, Path(env["DRIVE_DATA_DIR"]))
        for chunk in _chunks(registry):
            _must(_post(ports["intake_port"], "case", chunk, "drive.casemgmt"))
        for chunk in _chunks(arrests):
            _must(_post(ports["intake_port"], "incident", chunk, "police.demo"))
        deadline = time.monotonic() + TIMEOUT_S
        while _handled(ports["worker_metrics_port"], "incident") < len(arrests):
            _alive(process, Path(env["DRIVE_DATA_DIR"]))
            if time.monotonic() > deadline:
                raise RuntimeError("the history was not handled in time")
            time.sleep(0.5)
        time.sleep(3.0)  # past a checkpoint of the broker copy
    finally:
        _stop(process)
    progress(f"  history of {len(registry) + len(arrests):,} accepted records loaded and handled; restarting")


def _wait_ready(process: subprocess.Popen[bytes], ports: dict[str, int], data_dir: Path) -> None:
    """Until every component's /readyz answers 200."""
    deadline = time.monotonic() + TIMEOUT_S
    pending = dict(ports)
    while pending:
        _alive(process, data_dir)
        if time.monotonic() > deadline:
            raise RuntimeError(f"drive-alerts up was not ready: {sorted(pending)} (logs in {data_dir})")
        pending = {name: port for name, port in pending.items() if not _answers(port)}
        time.sleep(0.2)


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def _alerting() -> dict[str, Any]:
    record = agency_record(0, "BAIL_GRANTED", datetime.now(UTC), random.Random())
    return {**record, "source": _POLICE}


def _chunks(records: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [records[n:n + BATCH] for n in range(0, len(records), BATCH)]


def _post(port: int, topic: str, records: list[dict[str, Any]], agency: str) -> int:
    body = json.dumps({"records": records} if len(records) > 1 else records[0]).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/topics/{topic}/events", data=body, method="POST",
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {demo_data.DEV_KEYS[agency]}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)
    except OSError:
        return 0


def _must(status: int) -> None:
    if status not in (200, 202):
        raise RuntimeError(f"the intake answered {status} while loading the history")


def _handled(port: int, topic: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
    except OSError:
        return 0
    found = re.search(rf'^drive_stream_records_total\{{agent="{topic}"\}} ([0-9.e+]+)$', text, re.M)
    return int(float(found.group(1))) if found else 0


def _start(env: dict[str, str], data_dir: Path) -> subprocess.Popen[bytes]:
    out = open(data_dir / f"up-{time.monotonic_ns()}.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "-m", "entrypoints.cli", "up"], cwd=ROOT, env=env, stdout=out,
                            stderr=subprocess.STDOUT)


def _alive(process: subprocess.Popen[bytes], data_dir: Path) -> None:
    if process.poll() is not None:
        raise RuntimeError(f"drive-alerts up exited with {process.returncode} (logs in {data_dir})")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(120)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
