"""`drive-alerts demo`: the embedded default end to end with sample agency data, printed readably, then exit."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

from runtime.settings import Settings

# Development-only keys of the built-in agencies (connectors/agencies.dev.yaml); never valid in production.
DEV_KEYS = {"police.demo": "dev-police-demo-key", "court.demo": "dev-court-demo-key",
            "em.demo": "dev-em-demo-key", "drive.casemgmt": "dev-casemgmt-key"}
SCENARIO = "demo-multi-agency.jsonl"
EM_EXTRACT = "em_20261122_2300.jsonl"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `demo`."""
    parser.add_argument("--keep", action="store_true", help="keep the previous demo data instead of starting clean")


def scenario_lines() -> list[dict[str, Any]]:
    """The demo's multi-agency scenario (the replay format: topic/value lines and clock lines)."""
    text = resources.files("streams").joinpath("scenarios", SCENARIO).read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@contextmanager
def _serving(app: Any, host: str) -> Iterator[str]:
    """Run an aiohttp application on a free loopback port in a thread; yield its base URL."""
    from aiohttp import web

    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, host, 0)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)


def _post(base: str, topic: str, body: bytes, key: str | None) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(f"{base}/v1/topics/{topic}/events", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def _send_scenario(base: str) -> None:
    print("\n== agencies post their events to the HTTP intake ==")
    last: tuple[str, bytes, str | None] | None = None
    for line in scenario_lines():
        if "topic" not in line:
            continue
        value = line["value"]
        key = DEV_KEYS.get(value["source"]["agency"])
        body = json.dumps(value).encode()
        status, answer = _post(base, line["topic"], body, key)
        print(f"  {status} {answer['status']:<9} {line['topic']:<8} {value['event_type']:<18} {value['event_id']}")
        last = (line["topic"], body, key)
    assert last is not None
    print("\n== what integrators see when something is wrong ==")
    topic, body, key = last
    for label, (t, b, k) in {
        "the same record again": (topic, body, key),
        "no credentials": (topic, body, None),
        "a record that breaks the contract": ("bail", json.dumps({"event_id": "wm-bail-bad-1", "event_type": "BAIL_GRANTED",
                                                               "source": {"agency": "police.demo", "system": "niche-rms"},
                                                               "occurred_at": "2026-11-22 14:00"}).encode(),
                                              DEV_KEYS["police.demo"]),
        "an agency outside its scope": ("court", body, DEV_KEYS["em.demo"]),
    }.items():
        status, answer = _post(base, t, b, k)
        errors = [e for e in answer.get("errors", []) if e["path"]]
        print(f"  {label}: {status} {answer.get('status')}" + (f" - {answer['reason']}" if answer.get("reason") and not errors else ""))
        for error in errors:
            print(f"      {error['path']}: {error['message']}")


def _drop_extract(settings: Settings, intake: Any) -> None:
    from connectors.filedrop import FileDrop, feed_mappings

    print("\n== the EM provider drops a JSON-lines extract in the file drop ==")
    root = settings.data_dir / "filedrop"
    incoming = root / "em-provider" / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    rows = [{"alert_id": "EMP-77001", "alert_type": "TAMPER", "subject_id": "EMS-3310", "pnc": "2019/0012345A",
             "at": "2026-11-22T23:02:00Z", "logged": "2026-11-22T23:02:05Z", "tag": "TAG-3310"},
            {"alert_id": "EMP-77002", "alert_type": "ZONE_SIDEWAYS", "subject_id": "EMS-3310",
             "at": "2026-11-22T23:04:00Z", "logged": "2026-11-22T23:04:05Z", "tag": "TAG-3310"}]
    (incoming / EM_EXTRACT).write_text("".join(json.dumps(r) + "\n" for r in rows))
    (incoming / f"{EM_EXTRACT}.done").touch()
    drop = FileDrop(root, intake, feed_mappings(settings), settings.filedrop_poll_s, settle_s=0)
    for report in drop.run_once():
        counts = Counter(row["status"] for row in report.rows)
        print(f"  {report.file} -> {report.status}/ ({counts['accepted']} accepted, {counts['rejected']} refused;"
              f" per-row report {report.file}.report.json)")
        for row in report.rows:
            for error in row.get("errors", []):
                print(f"    row {row['row']}: {error['path']}: {error['message']}")


def _show_topics(settings: Settings) -> None:
    from kafka import TopicPartition

    from runtime.kafka import make_consumer
    from schemas.catalogue import CATALOGUE
    from schemas.codec import AvroCodec

    print("\n== what is on the topics now ==")
    codec = AvroCodec(prefix=settings.topic_prefix)
    consumer = make_consumer(settings)
    try:
        for short in ("case", "incident", "bail", "court", "breach", "dead-letter"):
            topic = settings.topic(short)
            partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
            consumer.assign(partitions)
            consumer.seek_to_beginning(*partitions)
            records = _drain(consumer)
            kinds = Counter(_describe(short, codec.decode(r.value)) for r in records)
            print(f"  {topic:<20} {len(records):>3} record(s)  " + ", ".join(f"{k} x{n}" for k, n in sorted(kinds.items())))
        print(f"  ({len(CATALOGUE)} topics in the catalogue; alert and delivery fill up once the correlation engine runs)")
    finally:
        consumer.close()


def _drain(consumer: Any) -> list[Any]:
    records: list[Any] = []
    while batch := consumer.poll(timeout_ms=1500):
        for part in batch.values():
            records.extend(part)
    return records


def _describe(short: str, datum: dict[str, Any]) -> str:
    if short == "dead-letter":
        return f"refused ({datum['reason']})"
    return str(datum["event_type"])


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Start the embedded pipeline in a fresh demo folder, send the scenario, show the outcome, stop."""
    from connectors.agencies import AgencyRegistry
    from connectors.http_intake import make_app
    from connectors.session import intake_session

    if "DRIVE_LOG_LEVEL" not in os.environ:  # the demo's own lines are the story; logs only when asked
        from runtime.logging import configure_logging

        configure_logging(settings.model_copy(update={"log_level": "ERROR"}), force=True)
    demo_dir = settings.data_dir / "demo"
    if demo_dir.exists() and not args.keep:
        shutil.rmtree(demo_dir)
    demo_dir.mkdir(parents=True, exist_ok=True)
    settings = settings.model_copy(update={"data_dir": demo_dir, "database_url": None})
    print("drive-alerts demo: embedded broker, SQLite journal, HTTP intake and file drop on this machine")
    with intake_session(settings) as (intake, settings):
        print(f"  broker   {settings.kafka_bootstrap} (Tansu, in memory)\n  database {settings.resolved_database_url}")
        with _serving(make_app(settings, intake, AgencyRegistry.from_settings(settings)), "127.0.0.1") as base:
            print(f"  intake   {base}/v1/topics/{{topic}}/events")
            _send_scenario(base)
            _drop_extract(settings, intake)
        intake.flush()
        _show_topics(settings)
    print("\nNames never left the door: every record holds identifiers and a keyed name hash only.")
    return 0
