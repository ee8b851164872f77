"""`drive-alerts up` as an operator runs it: the whole pipeline in real processes, stopped and started again."""
from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from entrypoints.up import demo_data
from runtime.embedded_broker import free_port
from tests.reliability.up_process import PORTS

pytestmark = pytest.mark.integration
DRIVE = [sys.executable, "-c", "from entrypoints.cli import main; raise SystemExit(main())"]
PORT_SETTINGS = PORTS  # every component's own port


def _env(data_dir: Path, ports: dict[str, int], **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIVE_")}
    env.update({name: str(port) for name, port in ports.items()}, DRIVE_DATA_DIR=str(data_dir), **settings)
    return env


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()
    except OSError:
        return 0, ""


def _start_up(data_dir: Path, ports: dict[str, int], **settings: str) -> subprocess.Popen[bytes]:
    out = open(data_dir.parent / f"up-{time.monotonic_ns()}.out", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen([*DRIVE, "up"], env=_env(data_dir, ports, **settings), stdout=out,
                               stderr=subprocess.STDOUT)
    ready = [f"http://127.0.0.1:{ports[name]}/readyz" for name in PORT_SETTINGS]
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert process.poll() is None, Path(out.name).read_text()[-3000:]
        if all(_get(url)[0] == 200 for url in ready):
            return process
        time.sleep(0.5)
    process.kill()
    raise AssertionError("drive-alerts up never became ready:\n" + Path(out.name).read_text()[-3000:])


def _stop_up(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()


def _breach_after_restart(data_dir: Path, ports: dict[str, int], db: Path, sent_before: list[dict]) -> None:
    """`up` again on the folder: a breach of the bail's no-contact condition alerts the case manager and the IDVA
    of the victim it protects, and only that is new in the outbox (nothing sent before is sent again)."""
    process = _start_up(data_dir, ports)
    try:
        assert _post(ports["DRIVE_INTAKE_PORT"], _breach(datetime.now(UTC))) == 202
        _wait_for_rules(db, {"breach.no_contact"})
    finally:
        assert _stop_up(process) == 0
    sent = _outbox(data_dir)
    keys = [(line["alert_id"], line["staff_id"], line["channel"]) for line in sent]
    assert len(keys) == len(set(keys)), "a message was delivered twice"
    assert sent[:len(sent_before)] == sent_before
    assert _delivered_rules(db)["breach.no_contact"] == len(sent) - len(sent_before)
    assert {line["staff_id"] for line in sent[len(sent_before):]} == {"staff-cm-01", "staff-idva-07"}


def _wait_components_gone(ports: dict[str, int], timeout_s: float = 60.0) -> None:
    """Every component of a killed `up` stops by itself (none may outlive its supervisor and answer for the next)."""
    ready = [f"http://127.0.0.1:{ports[name]}/readyz" for name in PORT_SETTINGS]
    deadline = time.monotonic() + timeout_s
    answering = ready
    while time.monotonic() < deadline:
        answering = [url for url in ready if _get(url)[0] != 0]
        if not answering:
            return
        time.sleep(0.5)
    raise AssertionError(f"components outlived their killed supervisor: {answering}")


def _post(port: int, post: demo_data.Post) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/topics/{post.topic}/events", data=json.dumps(post.value).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {demo_data.DEV_KEYS[post.agency]}"})
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:
            return answer.status
    except urllib.error.HTTPError as refused:
        return refused.code


def _delivered_rules(db: Path) -> dict[str, int]:
    """rule -> messages sent, from the ledger."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT a.rule, COUNT(*) FROM deliveries d JOIN alerts a USING (alert_id) "
                            "WHERE d.state = 'sent' GROUP BY a.rule").fetchall()
    return dict(rows)


def _wait_for_rules(db: Path, rules: set[str], timeout_s: float = 90) -> dict[str, int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if db.exists():
            try:
                delivered = _delivered_rules(db)
            except sqlite3.OperationalError:  # tables not migrated yet
                delivered = {}
            if rules <= delivered.keys():
                return delivered
        time.sleep(0.5)
    raise AssertionError(f"not delivered within {timeout_s}s: {sorted(rules)}")


def _wait_for_chronology(db: Path, event_ids: set[str], timeout_s: float = 60) -> None:
    """The chronology feed (its own process under `up`) stored these agency events."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with sqlite3.connect(db) as conn:
            stored = {row[0] for row in conn.execute("SELECT event_id FROM chronology_events")}
        if event_ids <= stored:
            return
        time.sleep(0.5)
    raise AssertionError(f"not in the chronology within {timeout_s}s: {sorted(event_ids - stored)}")


def _outbox(data_dir: Path) -> list[dict[str, Any]]:
    path = data_dir / "outbox.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def _breach(now: datetime) -> demo_data.Post:
    """A victim reports contact, which breaches only the no-contact condition of the bail posted before the restart."""
    value = {"event_id": "up-test-breach-1", "event_type": "BREACH_REPORTED",
             "source": {"agency": "police.demo", "system": "niche-rms"},
             "person_ids": [{"scheme": "PNC", "value": demo_data.PNC["DRV-0101"]}],
             "occurred_at": demo_data.iso(now - timedelta(minutes=20)), "recorded_at": demo_data.iso(now),
             "schema_version": 1,
             "details": {"breach_ref": "BR-UP-1", "condition_kind": "NO_CONTACT", "bail_ref": "WM-BAIL-7781",
                         "reported_by": "VICTIM", "protected_person_ref": "VIC-0101", "force_area": "E23000014"}}
    return demo_data.Post("breach", value, "breach")


def test_up_restarted_keeps_state_and_resends_nothing(tmp_path: Path) -> None:
    """A breach posted after a restart is judged against bail posted before it, and nothing delivered is sent again."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    ports = {name: free_port() for name in PORT_SETTINGS}
    db = data_dir / "drive-alerts.db"
    now = datetime.now(UTC)
    story = {p.value["event_id"]: p for p in demo_data.agency_events(now)}

    process = _start_up(data_dir, ports)
    try:
        for post in [*demo_data.registry(now), story["demo-wm-bail-7781"], story["demo-wm-cus-0101"]]:
            assert _post(ports["DRIVE_INTAKE_PORT"], post) == 202
        _wait_for_rules(db, {"release.bail", "release.custody"})
        _wait_for_chronology(db, {"demo-wm-bail-7781", "demo-wm-cus-0101"})
        status, metrics = _get(f"http://127.0.0.1:{ports['DRIVE_CHRONOLOGY_METRICS_PORT']}/metrics")
        assert status == 200 and 'drive_consumer_lag{group="drive.chronology"' in metrics
        status, metrics = _get(f"http://127.0.0.1:{ports['DRIVE_INTAKE_PORT']}/metrics")
        assert status == 200 and 'drive_intake_records_total{agency="police.demo",status="accepted",topic="bail"}' \
            in metrics
        status, metrics = _get(f"http://127.0.0.1:{ports['DRIVE_DISPATCHER_METRICS_PORT']}/metrics")
        assert status == 200 and 'drive_alerts_recorded_total{rule="release.bail",severity="HIGH"} 1.0' in metrics
        assert re.search(r'drive_end_to_end_latency_seconds_count\{channel="(SMS|EMAIL)"\} [1-9]', metrics)
    finally:
        assert _stop_up(process) == 0
    sent_before = _outbox(data_dir)
    assert len(sent_before) == sum(_delivered_rules(db).values())

    _breach_after_restart(data_dir, ports, db, sent_before)


def test_second_up_on_the_same_folder_is_refused_and_the_first_runs_on(tmp_path: Path) -> None:
    """While one `up` runs, a second on the same data folder exits 2 naming the first one's pid, starts nothing, and
    the first stays ready; the banner said `ready` for each component; a clean stop releases the folder."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    ports = {name: free_port() for name in PORT_SETTINGS}
    first = _start_up(data_dir, ports)
    try:
        other_ports = {name: free_port() for name in PORT_SETTINGS}
        second = subprocess.run([*DRIVE, "up"], env=_env(data_dir, other_ports), capture_output=True, text=True,
                                timeout=60)
        assert second.returncode == 2, second.stderr
        assert second.stderr.splitlines()[0].startswith(f"drive-alerts up: another `drive-alerts up` (pid {first.pid}, ")
        assert "starting the broker" not in second.stdout
        assert all(_get(f"http://127.0.0.1:{ports[name]}/readyz")[0] == 200 for name in PORT_SETTINGS)
        assert not any(_get(f"http://127.0.0.1:{other_ports[name]}/readyz")[0] for name in PORT_SETTINGS)
    finally:
        assert _stop_up(first) == 0
    [out] = sorted(data_dir.parent.glob("up-*.out"))
    text = out.read_text()
    assert "every component ready" in text
    assert all(re.search(rf"^  {name:<10} pid \d+ .* ready$", text, re.M) for name in
               ("intake", "webhooks", "worker", "dispatcher", "chronology-feed", "filedrop", "web"))
    assert (data_dir / "up.lock").read_text() == ""


def _journal(db: Path) -> dict[str, tuple[bool, bool]]:
    """event_id -> (payload still held, covered), from the intake journal."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT event_id, value IS NOT NULL, covered_at IS NOT NULL FROM intake_journal").fetchall()
    return {event_id: (bool(held), bool(covered)) for event_id, held, covered in rows}


def test_a_crash_after_the_journal_forgot_keeps_conditions_and_forgets_strangers(tmp_path: Path) -> None:
    """With a one-second journal retention the bail record and a record about a stranger are erased from the
    journal once processed; `up` is then killed (no clean stop); after the restart a breach of the bail's
    no-contact condition still alerts (state came back from the broker copy, not from the journal), and nothing
    delivered before is delivered again."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    ports = {name: free_port() for name in PORT_SETTINGS}
    db = data_dir / "drive-alerts.db"
    now = datetime.now(UTC)
    story = {p.value["event_id"]: p for p in demo_data.agency_events(now)}
    bail = story["demo-wm-bail-7781"]
    stranger = demo_data.Post("bail", {**bail.value, "event_id": "up-test-stranger-1",
                                       "person_ids": [{"scheme": "PNC", "value": "1999/0999999Z"}]}, "bail")
    process = _start_up(data_dir, ports, DRIVE_JOURNAL_KEEP_S="1", DRIVE_EMBEDDED_CHECKPOINT_S="0.5")
    try:
        for post in [*demo_data.registry(now), bail, stranger]:
            assert _post(ports["DRIVE_INTAKE_PORT"], post) == 202
        _wait_for_rules(db, {"release.bail"})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(_journal(db).get(e, (True, False))[0]
                                                  for e in (bail.value["event_id"], stranger.value["event_id"])):
            time.sleep(0.5)
        journal = _journal(db)
        assert journal[bail.value["event_id"]] == (False, True), "the bail record's payload was not erased"
        assert journal[stranger.value["event_id"]] == (False, True), "the stranger's record was kept"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    _wait_components_gone(ports)
    sent_before = _outbox(data_dir)

    _breach_after_restart(data_dir, ports, db, sent_before)
