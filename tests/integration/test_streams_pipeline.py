"""The streams on the real broker: identity resolution, rules and alerts, and state surviving a worker restart."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from entrypoints.bootstrap import provision
from tests.integration.streams_harness import (
    PNC,
    SUBJECT,
    ZONE_EXCLUSION,
    Feed,
    alerts_on_topic,
    idle,
    running_worker,
    wait_until,
)
from tests.kafka_helpers import read_topic

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def feed(settings):
    """A producer of contract samples onto this test's topics."""
    provision(settings)
    f = Feed(settings)
    yield f
    f.close()


async def test_a_release_of_a_subject_alerts_the_right_people_and_a_stranger_nobody(settings, feed, tmp_path):
    """Case then bail granted: one release.bail alert for the case manager and IDVA; a stranger's bail: nothing."""
    feed.send("case", "CASE_OPENED")
    async with running_worker(settings, tmp_path / "w1") as app:
        feed.send("bail", "BAIL_GRANTED")
        feed.send("bail", "BAIL_GRANTED", person_ids=[{"scheme": "PNC", "value": "1999/9999999Z"}])
        await wait_until(lambda: idle(app, {"case": 1, "bail": 2}))
    alerts = await asyncio.to_thread(alerts_on_topic, settings, 2, 5.0)
    assert [(a["rule"], a["subject_id"]) for a in alerts] == [("release.bail", SUBJECT)]
    assert {(r["staff_id"], r["role"]) for r in alerts[0]["recipients"]} == {
        ("staff-cm-01", "CASE_MANAGER"), ("staff-idva-07", "IDVA")}


async def test_a_case_registered_just_before_its_first_event_is_not_missed(settings, feed, tmp_path):
    """A case published while the worker runs, its subject's release right after: the release still alerts."""
    async with running_worker(settings, tmp_path / "w1") as app:
        feed.send("case", "CASE_OPENED", details__subject_id="DRV-000777",
                  person_ids=[{"scheme": "DRIVE_SUBJECT", "value": "DRV-000777"}],
                  details__identifiers=[{"scheme": "PNC", "value": "2021/0000777Q"}])
        feed.send("bail", "BAIL_GRANTED", person_ids=[{"scheme": "PNC", "value": "2021/0000777Q"}])
        await wait_until(lambda: idle(app, {"case": 1, "bail": 1}))
    alerts = await asyncio.to_thread(alerts_on_topic, settings, 2, 5.0)
    assert [(a["rule"], a["subject_id"]) for a in alerts] == [("release.bail", "DRV-000777")]


async def test_conditions_survive_a_worker_restart(settings, feed, tmp_path):
    """Worker 1 learns the bail conditions and stops; worker 2 recovers them and alerts on an excluded-zone entry."""
    feed.send("case", "CASE_OPENED")
    async with running_worker(settings, tmp_path / "w1") as app:
        feed.send("bail", "BAIL_GRANTED", details__conditions=[ZONE_EXCLUSION])
        await wait_until(lambda: idle(app, {"case": 1, "bail": 1}))
    async with running_worker(settings, tmp_path / "w2"):
        feed.send("breach", "EM_ZONE_ENTRY", person_ids=[PNC])
        rules = [a["rule"] for a in await asyncio.to_thread(alerts_on_topic, settings, 2, 30.0)]
    assert sorted(rules) == ["breach.exclusion_zone", "release.bail"]


async def test_conditions_survive_a_killed_worker(settings, feed, tmp_path):
    """A CLI worker SIGKILLed after saving the bail conditions: a new worker still alerts on the zone entry."""
    feed.send("case", "CASE_OPENED")
    env = {**os.environ, "DRIVE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap, "DRIVE_TOPIC_PREFIX": settings.topic_prefix,
           "DRIVE_DATA_DIR": str(tmp_path / "cli"), "DRIVE_EMBEDDED_PROFILE": "true", "DRIVE_LOG_FORMAT": "json",
           "DRIVE_WORKER_METRICS_PORT": "0"}  # a default port may be busy on a shared machine (refused at start)
    child = subprocess.Popen([sys.executable, "-m", "entrypoints.cli", "worker"], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        feed.send("bail", "BAIL_GRANTED", details__conditions=[ZONE_EXCLUSION])
        assert [a["rule"] for a in await asyncio.to_thread(alerts_on_topic, settings, 1, 90.0)] == ["release.bail"]
        changelog = settings.topic("streams-subject-state-changelog")
        # the state holding the bail's zone condition is on the changelog before the kill (case and bail may
        # have been one batch, hence one write)
        assert await asyncio.to_thread(changelog_holds, settings.kafka_bootstrap, changelog, b"ZONE-B15-2", 30.0)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    async with running_worker(settings, tmp_path / "w2"):
        feed.send("breach", "EM_ZONE_ENTRY", person_ids=[PNC])
        # a killed worker's uncommitted records are redelivered, so wait for the alert itself, not for idleness
        rules = [a["rule"] for a in await asyncio.to_thread(alerts_on_topic, settings, 2, 30.0)]
    assert sorted(rules) == ["breach.exclusion_zone", "release.bail"]


def changelog_holds(bootstrap: str, changelog: str, marker: bytes, timeout: float) -> bool:
    """True once a record of the changelog contains `marker` (read again until the timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(marker in (value or b"") for _, value, _ in read_topic(bootstrap, changelog, 10, 2.0)):
            return True
    return False


def test_the_cli_worker_stops_cleanly_on_sigterm(settings, tmp_path):
    """`drive-alerts worker` provisions its topics, becomes ready, and exits 0 on SIGTERM."""
    env = {**os.environ, "DRIVE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap, "DRIVE_TOPIC_PREFIX": settings.topic_prefix,
           "DRIVE_DATA_DIR": str(tmp_path), "DRIVE_EMBEDDED_PROFILE": "true", "DRIVE_LOG_FORMAT": "json",
           "DRIVE_WORKER_METRICS_PORT": "0"}  # a default port may be busy on a shared machine (refused at start)
    child = subprocess.Popen([sys.executable, "-m", "entrypoints.cli", "worker"], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in child.stdout:
            if "streams_worker_ready" in line:
                break
        child.send_signal(signal.SIGTERM)
        assert child.wait(30) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    assert (tmp_path / "worker-0").is_dir()
