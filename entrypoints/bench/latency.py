"""End-to-end latency: event accepted at the intake -> SMS delivery call made, at fixed offered rates.

The worker and the dispatcher run as `drive-alerts worker` / `drive-alerts dispatcher` child processes (as in
production); the intake runs in this process, so "accepted" is the moment Intake.submit answered `accepted`.
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from connectors.intake.submit import Origin
from entrypoints.bench.data import EVENT_MIX, agency_record
from entrypoints.bench.sms_sink import ACCOUNT_SID, AUTH_TOKEN, SmsSink
from runtime.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 120.0
SETTLE_S = 8.0  # no newly delivered event for this long after the last one offered: delivery is done
# Longest wait for one rate's SMS after its offering ends; beyond the system's capacity the backlog would take
# longer, and the events still waiting count as not measured (the table and JSON say how many were).
SETTLE_TIMEOUT_S = 90.0
# Events that raise an SMS at once (breaches of unknown conditions wait out the late grace, ARREST raises nothing).
ALERTING = [(t, e, w) for t, e, w in EVENT_MIX if e in {"DOMESTIC_INCIDENT", "CUSTODY_RELEASE", "BAIL_GRANTED",
                                                        "HEARING_LISTED", "COURT_OUTCOME", "EM_ZONE_ENTRY"}]


@dataclass(frozen=True)
class RateLatency:
    """Latencies (ms) of the events offered at one rate that led to an SMS (None when none did)."""

    offered_per_s: int
    achieved_per_s: float
    events: int
    measured: int
    no_sms_by_design: int  # accepted events the rules answer with no SMS (e.g. a grouped EM zone entry)
    p50: float | None
    p95: float | None
    p99: float | None


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (nearest rank) of values; None for none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def child_env(settings: Settings, workdir: Path, sink: SmsSink) -> dict[str, str]:
    """Environment of the worker and dispatcher children: same broker, prefix and database; SMS to the sink."""
    return {**os.environ, "DRIVE_KAFKA_BOOTSTRAP": str(settings.kafka_bootstrap),
            "DRIVE_TOPIC_PREFIX": settings.topic_prefix, "DRIVE_DATA_DIR": str(workdir),
            "DRIVE_DATABASE_URL": settings.resolved_database_url,
            "DRIVE_EMBEDDED_PROFILE": "true" if settings.embedded_workarounds else "false",
            "DRIVE_WORKER_METRICS_PORT": "0", "DRIVE_DISPATCHER_METRICS_PORT": "0",
            "DRIVE_TWILIO_ACCOUNT_SID": ACCOUNT_SID, "DRIVE_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "DRIVE_TWILIO_FROM_NUMBER": "+447700900000", "DRIVE_TWILIO_BASE_URL": sink.base_url,
            "DRIVE_CHANNELS_BY_SEVERITY": "CRITICAL=SMS,HIGH=SMS,MEDIUM=SMS,LOW=SMS",
            "DRIVE_LOG_FORMAT": "json", "DRIVE_LOG_LEVEL": "INFO"}


@contextmanager
def child(command: str, env: dict[str, str], ready_word: str) -> Iterator[subprocess.Popen[str]]:
    """`drive-alerts COMMAND` as a child, yielded once its log says `ready_word`; SIGTERM afterwards."""
    proc = subprocess.Popen([sys.executable, "-m", "entrypoints.cli", command], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        for line in proc.stdout:  # type: ignore[union-attr]
            if ready_word in line:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{command} not ready in {READY_TIMEOUT_S:.0f} s")
        else:
            raise RuntimeError(f"{command} exited with {proc.wait()}")
        drain = __import__("threading").Thread(target=lambda: [None for _ in proc.stdout], daemon=True)  # type: ignore
        drain.start()
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def offer(intake: object, rate: int, seconds: float, subjects: int, seed: int,
          raises_sms: Callable[[str, dict], bool]) -> tuple[dict[str, float], int, float]:
    """Submits alerting events at `rate`/s for `seconds`: (event id -> perf_counter() when accepted, for the events
    the rules answer with an SMS; how many accepted events get none by design; the achieved rate)."""

    rng, now = random.Random(seed), datetime.now(UTC)
    origin = Origin("bench", None, "bench")
    weights = [w for *_, w in ALERTING]
    accepted: dict[str, float] = {}
    silent = 0
    total = max(1, int(rate * seconds))
    start = time.perf_counter()
    for n in range(total):
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        topic, event_type, _ = rng.choices(ALERTING, weights=weights)[0]
        record = agency_record(rng.randrange(subjects), event_type, now, rng)
        if intake.submit(topic, record, origin).status == "accepted":  # type: ignore[attr-defined]
            at = time.perf_counter()
            if raises_sms(topic, record):
                accepted[record["event_id"]] = at
            else:
                silent += 1
    return accepted, silent, total / (time.perf_counter() - start)


def wait_settled(engine: object, sink: SmsSink, accepted: dict[str, float], settle_s: float = SETTLE_S) -> dict[str, float]:
    """Waits until every accepted event has its SMS, or none more arrived for SETTLE_S; the first SMS per event."""
    deadline, last, last_change = time.monotonic() + SETTLE_TIMEOUT_S, -1, time.monotonic()
    while True:
        first = first_sms_by_event(engine, sink)
        done = sum(1 for e in accepted if e in first)
        if done != last:
            last, last_change = done, time.monotonic()
        if done >= len(accepted) or time.monotonic() - last_change > settle_s or time.monotonic() > deadline:
            return first
        time.sleep(1.0)


def first_sms_by_event(engine: object, sink: SmsSink) -> dict[str, float]:
    """Trigger event id -> perf_counter() of the first SMS call made for an alert it triggered (from the ledger)."""
    with engine.connect() as connection:  # type: ignore[attr-defined]
        rows = connection.execute(text(
            "SELECT d.provider_message_id, a.trigger_event_ids FROM deliveries d JOIN alerts a "
            "ON a.alert_id = d.alert_id WHERE d.provider_message_id IS NOT NULL")).all()
    first: dict[str, float] = {}
    for sid, triggers in rows:
        at = sink.received.get(sid)
        if at is None:
            continue
        for event_id in json.loads(triggers):
            first[event_id] = min(at, first.get(event_id, at))
    return first


def measure_rate(intake: object, engine: object, sink: SmsSink, rate: int, seconds: float, subjects: int,
                 progress: Callable[[str], None], settle_s: float, raises_sms: Callable[[str, dict], bool],
                 seed: int | None = None) -> RateLatency:
    """Offers one rate, waits for delivery to settle, and reads the latencies."""
    accepted, silent, achieved = offer(intake, rate, seconds, subjects, rate if seed is None else seed, raises_sms)
    first = wait_settled(engine, sink, accepted, settle_s)
    values = [(first[e] - t) * 1000 for e, t in accepted.items() if e in first]
    result = RateLatency(rate, achieved, len(accepted) + silent, len(values), silent, percentile(values, 50),
                         percentile(values, 95), percentile(values, 99))
    progress(f"  {rate:>5}/s offered ({achieved:,.0f}/s achieved): {result.measured} of {len(accepted)} events "
             f"expected to send an SMS did ({silent} raise none by design); p50 {_ms(result.p50)}  "
             f"p95 {_ms(result.p95)}  p99 {_ms(result.p99)}")
    return result


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"
