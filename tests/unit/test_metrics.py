"""Prometheus metrics: names, label sets free of personal data, and the /metrics, /healthz, /readyz server."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from prometheus_client import REGISTRY
from sqlalchemy.orm import Session

from connectors.intake import metrics as connector_metrics
from connectors.intake import tables as store
from consumers import metrics as consumer_metrics
from runtime.metrics_server import MetricsServer
from streams import metrics as stream_metrics

# The only label names any drive metric may carry: none can hold a name, an identifier or free text (a group is a
# consumer group of the deployment, a level an escalation level).
ALLOWED_LABELS = {"topic", "agency", "status", "reason", "rule", "severity", "channel", "agent", "kind", "group", "level"}


def _drive_metrics() -> list:
    return [m for m in REGISTRY.collect() if m.name.startswith("drive_")]


def _sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_every_drive_metric_uses_only_allowed_labels() -> None:
    """No metric of the connectors, streams or consumers has a label outside the non-personal set."""
    assert stream_metrics.ALERTS is not None
    seen = {label for m in _drive_metrics() for s in m.samples for label in s.labels if label != "le"}
    assert seen <= ALLOWED_LABELS


def test_expected_metric_families_are_registered() -> None:
    """Events in, dead letters, non-subjects, alerts, deliveries, time to ack and end-to-end latency all exist."""
    names = {m.name for m in _drive_metrics()}
    assert {"drive_intake_records", "drive_intake_dead_letters", "drive_events_not_subject", "drive_alerts_raised",
            "drive_alerts_recorded", "drive_deliveries", "drive_time_to_acknowledge_seconds",
            "drive_end_to_end_latency_seconds"} <= names


def test_intake_outcomes_are_counted_by_topic_agency_and_status() -> None:
    """count_record adds one to the (topic, agency, status) series; a missing agency is 'unknown'."""
    labels = {"topic": "bail", "agency": "police.test", "status": "accepted"}
    before = _sample("drive_intake_records_total", labels)
    connector_metrics.count_record("accepted", "bail", "police.test")
    assert _sample("drive_intake_records_total", labels) == before + 1
    unknown = {"topic": "unknown", "agency": "unknown", "status": "rejected"}
    before = _sample("drive_intake_records_total", unknown)
    connector_metrics.count_record("rejected", None, None)
    assert _sample("drive_intake_records_total", unknown) == before + 1


def test_dead_letters_are_counted_by_agency_and_reason() -> None:
    """count_dead_letter counts per agency and reason code."""
    labels = {"agency": "court.test", "reason": "CONTRACT_VIOLATION"}
    before = _sample("drive_intake_dead_letters_total", labels)
    connector_metrics.count_dead_letter("court.test", "CONTRACT_VIOLATION")
    assert _sample("drive_intake_dead_letters_total", labels) == before + 1


def test_alerts_and_deliveries_are_counted() -> None:
    """Alerts count by rule and severity; deliveries by channel and status."""
    before = _sample("drive_alerts_recorded_total", {"rule": "breach.curfew", "severity": "CRITICAL"})
    consumer_metrics.count_alert("breach.curfew", "CRITICAL")
    assert _sample("drive_alerts_recorded_total", {"rule": "breach.curfew", "severity": "CRITICAL"}) == before + 1
    before = _sample("drive_deliveries_total", {"channel": "SMS", "status": "failed"})
    consumer_metrics.count_delivery("SMS", "failed")
    assert _sample("drive_deliveries_total", {"channel": "SMS", "status": "failed"}) == before + 1


def test_time_to_acknowledge_lands_in_its_bucket() -> None:
    """A 90-second acknowledgement is counted in the 120 s bucket but not in the 60 s one."""
    labels = {"severity": "LOW"}
    le60 = _sample("drive_time_to_acknowledge_seconds_bucket", {**labels, "le": "60.0"})
    le120 = _sample("drive_time_to_acknowledge_seconds_bucket", {**labels, "le": "120.0"})
    received = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    consumer_metrics.observe_ack("LOW", received, received + timedelta(seconds=90))
    assert _sample("drive_time_to_acknowledge_seconds_bucket", {**labels, "le": "60.0"}) == le60
    assert _sample("drive_time_to_acknowledge_seconds_bucket", {**labels, "le": "120.0"}) == le120 + 1


def test_end_to_end_latency_never_goes_negative() -> None:
    """A delivery stamped before the alert (clock skew between processes) counts as zero seconds."""
    labels = {"channel": "EMAIL"}
    count = _sample("drive_end_to_end_latency_seconds_count", labels)
    total = _sample("drive_end_to_end_latency_seconds_sum", labels)
    raised = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    consumer_metrics.observe_end_to_end("EMAIL", raised, raised - timedelta(seconds=2))
    assert _sample("drive_end_to_end_latency_seconds_count", labels) == count + 1
    assert _sample("drive_end_to_end_latency_seconds_sum", labels) == total


def test_accepted_at_is_the_latest_trigger_in_the_intake_journal() -> None:
    """The end-to-end start is when the intake accepted the newest trigger event; unknown events give None."""
    engine = sa.create_engine("sqlite://")
    store.connector_metadata.create_all(engine)
    first, second = datetime(2026, 11, 22, 10, 0, tzinfo=UTC), datetime(2026, 11, 22, 10, 5, tzinfo=UTC)
    with engine.begin() as conn:
        for event_id, at in (("ev-1", first), ("ev-2", second)):
            conn.execute(store.intake_journal.insert().values(
                event_id=event_id, topic="bail", key="k", value=b"v", content_sha256="0" * 64, agency="police.test",
                connector="http", location="test", received_at=at))
    with Session(engine) as session:
        assert consumer_metrics.accepted_at(session, ["ev-1", "ev-2"]) == second
        assert consumer_metrics.accepted_at(session, ["ev-9"]) is None
        assert consumer_metrics.accepted_at(session, []) is None


def test_accepted_at_without_a_journal_is_none() -> None:
    """A ledger database without the intake journal (separate databases) gives no end-to-end start."""
    with Session(sa.create_engine("sqlite://")) as session:
        assert consumer_metrics.accepted_at(session, ["ev-1"]) is None


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read()


def test_metrics_server_answers_metrics_health_and_readiness() -> None:
    """The server serves Prometheus text, a liveness answer, and readiness that follows its check."""
    ready = {"value": False}
    server = MetricsServer("127.0.0.1", 0, lambda: ready["value"]).start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        status, body = _get(f"{base}/metrics")
        assert status == 200 and b"drive_intake_records_total" in body
        assert _get(f"{base}/healthz") == (200, json.dumps({"status": "ok"}).encode())
        assert _get(f"{base}/readyz")[0] == 503
        ready["value"] = True
        assert _get(f"{base}/readyz")[0] == 200
        assert _get(f"{base}/nowhere")[0] == 404
    finally:
        server.stop()
