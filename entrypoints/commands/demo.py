"""`drive-alerts demo`: `up` in a fresh folder, a multi-agency story through the intake and file drop, the alerts sent."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from entrypoints.up import demo_data as d
from entrypoints.up.demo_report import metric_value, render, wait_for
from entrypoints.up.supervisor import PipelineError, Supervisor
from runtime.embedded_broker import free_port
from runtime.logging import configure_logging
from runtime.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `demo`."""
    parser.add_argument("--keep", action="store_true", help="keep the previous demo data instead of starting clean")
    parser.add_argument("--timeout", type=float, default=90.0,
                        help="longest wait (s) for every expected alert to be delivered")
    parser.add_argument("--stay", action="store_true",
                        help="keep the pipeline and the staff web app running after the story, until Ctrl-C")


def _post(base: str, topic: str, value: dict[str, Any], key: str | None) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(f"{base}/v1/topics/{topic}/events", data=json.dumps(value).encode(),
                                     headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def _demo_settings(settings: Settings, keep: bool) -> Settings:
    """A fresh data folder and free loopback ports, so the demo never disturbs a running `up`."""

    demo_dir = Path(settings.data_dir).resolve() / "demo"
    if demo_dir.exists() and not keep:
        shutil.rmtree(demo_dir)
    demo_dir.mkdir(parents=True, exist_ok=True)
    webhooks = free_port()
    return settings.model_copy(update={
        "data_dir": demo_dir, "database_url": None, "kafka_bootstrap": None, "filedrop_dir": None,
        "intake_port": free_port(), "webhooks_port": webhooks, "public_base_url": f"http://127.0.0.1:{webhooks}",
        "worker_metrics_port": free_port(), "dispatcher_metrics_port": free_port(),
        "chronology_metrics_port": free_port(), "filedrop_metrics_port": free_port(), "web_port": free_port(),
        "web_base_url": None,
        "web_programme_leads": settings.web_programme_leads or d.PROGRAMME_LEADS, "filedrop_poll_s": 0.5})


def _send_story(base: str, now: datetime) -> None:

    print("\n== Drive case management registers staff and cases (HTTP intake, drive.casemgmt) ==")
    for post in d.registry(now):
        status, answer = _post(base, post.topic, post.value, d.DEV_KEYS[post.agency])
        print(f"  {status} {answer.get('status', ''):<9} {post.label}")
    print("\n== police and court post their events (HTTP intake, times relative to now) ==")
    for post in d.agency_events(now):
        status, answer = _post(base, post.topic, post.value, d.DEV_KEYS[post.agency])
        print(f"  {status} {answer.get('status', ''):<9} {post.label}")
    bad = d.bad_record(now)
    status, answer = _post(base, bad.topic, bad.value, d.DEV_KEYS[bad.agency])
    print(f"  {status} {answer.get('status', ''):<9} {bad.label} -> dead-lettered with the reason:")
    for error in answer.get("errors", []):
        print(f"      {error['path']}: {error['message']}")


def _drop_extract(settings: Settings, now: datetime, timeout_s: float = 30.0) -> None:

    print("\n== the EM provider drops a JSON-lines extract in the file drop ==")
    agency_dir = (settings.filedrop_dir or settings.data_dir / "filedrop") / d.EM_FOLDER
    incoming = agency_dir / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    (incoming / d.EM_EXTRACT).write_text("".join(json.dumps(r) + "\n" for r in d.em_extract_rows(now)))
    (incoming / f"{d.EM_EXTRACT}.done").touch()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for outcome in ("done", "failed"):
            report = agency_dir / outcome / f"{d.EM_EXTRACT}.report.json"
            if report.exists():
                rows = json.loads(report.read_text()).get("rows", [])
                counts = Counter(row.get("status") for row in rows)
                print(f"  {d.EM_EXTRACT} -> {outcome}/ ({counts['accepted']} accepted, {counts['rejected']} refused;"
                      f" per-row report {report.name})")
                return
        time.sleep(0.3)
    print(f"  {d.EM_EXTRACT}: not picked up within {timeout_s:.0f}s (see logs/filedrop.log)")


def _report(supervisor: Any, timeout_s: float) -> int:
    import sqlalchemy as sa


    settings = supervisor.settings
    outbox = settings.data_dir / "outbox.jsonl"
    engine = sa.create_engine(settings.resolved_database_url)
    try:
        print(f"\n== waiting for the worker to correlate and the dispatcher to deliver (at most {timeout_s:.0f}s) ==")
        alerts, left = wait_for(engine, outbox, d.EXPECTED_ALERTS, timeout_s)
        with engine.connect() as conn:
            refused = conn.execute(sa.text("SELECT COUNT(*) FROM intake_journal WHERE topic = 'dead-letter'")).scalar()
            accepted = conn.execute(sa.text("SELECT COUNT(*) FROM intake_journal WHERE topic != 'dead-letter'")).scalar()
    finally:
        engine.dispose()
    print("\n== the alerts, and exactly what each person was sent ==")
    for alert in alerts:
        print()
        print("\n".join(render(alert)))
    worker = supervisor.children["worker"].component.metrics_url
    dropped = metric_value(worker, "drive_events_not_subject_total")
    messages = Counter(m["channel"] for a in alerts for m in a.messages)
    states = Counter(m["state"] for a in alerts for m in a.messages)
    severities = Counter(a.severity for a in alerts)
    print("\n== summary ==")
    print(f"  events accepted {accepted}, refused and dead-lettered {refused}, "
          f"dropped as not a Drive subject {int(dropped) if dropped is not None else '?'}")
    print(f"  alerts {len(alerts)} (" + ", ".join(f"{s} {n}" for s, n in sorted(severities.items(),
                                                                              key=lambda kv: kv[0])) + ")")
    print(f"  messages SMS {messages['SMS']}, e-mail {messages['EMAIL']}; " +
          ", ".join(f"{k} {v}" for k, v in sorted(states.items())))
    print(f"  outbox {outbox}\n  logs   {supervisor.logs_dir}\n  metrics {worker} (and one per process)")
    if left:
        print(f"  NOT DELIVERED within {timeout_s:.0f}s: " + ", ".join(f"{s} {r}" for s, r in left))
        return 1
    print("  every expected alert was delivered. Names never left the door: identifiers and a keyed hash only.")
    return 0


def _stay(supervisor: Supervisor) -> None:
    """The web app's address and how to sign in with the demo staff, then run until Ctrl-C."""
    s = supervisor.settings
    print(f"\n== the staff web app: {s.resolved_web_base_url}/ ==")
    print("  sign in as a demo staff member, e.g. staff-cm-01 (case manager), staff-idva-07 (IDVA) or staff-duty-01"
          f" (duty manager); the one-time code arrives in the outbox {s.data_dir / 'outbox.jsonl'}")
    print("  Ctrl-C stops everything.", flush=True)
    try:
        supervisor.run_until_stopped()
    except KeyboardInterrupt:
        pass


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Start the pipeline in a fresh demo folder, send the story, wait for the deliveries, print them, stop."""

    if "DRIVE_LOG_LEVEL" not in os.environ:  # the demo's own lines are the story; the components log to files

        configure_logging(settings.model_copy(update={"log_level": "ERROR"}), force=True)
    settings = _demo_settings(settings, args.keep)
    print("drive-alerts demo: the whole pipeline on this machine (Tansu broker, SQLite, intake, worker, dispatcher,"
          " webhooks, file drop); SMS and e-mail go to the outbox")
    supervisor = Supervisor(settings)
    try:
        supervisor.start()
        not_ready = {name: state for name, state in supervisor.wait_ready(90.0).items() if not state.ready}
        if not_ready:
            for name, state in not_ready.items():
                print(f"drive-alerts demo: {name} {state.label}")
            return 1
        intake = supervisor.children["intake"].component.base_url
        print(f"  ready: intake {intake}, data {settings.data_dir}")
        now = datetime.now(UTC)
        _send_story(str(intake), now)
        _drop_extract(supervisor.settings, now)
        code = _report(supervisor, args.timeout)
        if args.stay:
            _stay(supervisor)
        else:
            print(f"\n  to see these alerts in the staff web app: drive-alerts demo --stay (or drive-alerts up "
                  f"--data-dir {settings.data_dir})")
        return code
    except PipelineError as exc:
        print(f"drive-alerts demo: {exc}")
        return exc.exit_code
    finally:
        supervisor.stop()
