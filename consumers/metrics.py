"""Prometheus metrics of delivery: alerts recorded, deliveries, time to acknowledge; labels never carry personal data."""
from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from prometheus_client import Counter, Histogram
from sqlalchemy.orm import Session

from runtime.db import as_utc

ALERTS_RECORDED = Counter("drive_alerts_recorded_total", "Alerts newly recorded in the delivery ledger, by rule and "
                          "severity.", ["rule", "severity"])
DELIVERIES = Counter("drive_deliveries_total", "Delivery outcomes, by channel and status (sent, failed).",
                     ["channel", "status"])
TIME_TO_ACK = Histogram("drive_time_to_acknowledge_seconds", "From an alert's arrival in the ledger to each "
                        "recipient's acknowledgement (their own or on their behalf), by severity.", ["severity"],
                        buckets=(30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400))
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600)
END_TO_END = Histogram("drive_end_to_end_latency_seconds", "From the intake accepting the latest trigger event to the "
                       "delivery call returning, by channel (needs the intake journal in the same database).",
                       ["channel"], buckets=LATENCY_BUCKETS)
RAISED_TO_SENT = Histogram("drive_alert_delivery_latency_seconds", "From the streams raising the alert to the "
                           "delivery call returning, by channel.", ["channel"], buckets=LATENCY_BUCKETS)


def count_alert(rule: str, severity: str) -> None:
    """Count one alert newly recorded in the ledger."""
    ALERTS_RECORDED.labels(rule=rule, severity=severity).inc()


def count_delivery(channel: str, status: str) -> None:
    """Count one delivery outcome."""
    DELIVERIES.labels(channel=channel, status=status).inc()


def observe_ack(severity: str, received_at: datetime, acknowledged_at: datetime) -> None:
    """Observe the time one recipient's duty waited for its acknowledgement."""
    TIME_TO_ACK.labels(severity=severity).observe(max(0.0, (acknowledged_at - received_at).total_seconds()))


def observe_end_to_end(channel: str, accepted_at: datetime, sent_at: datetime) -> None:
    """Observe accepted-at-intake to delivered latency of one message."""
    END_TO_END.labels(channel=channel).observe(max(0.0, (sent_at - accepted_at).total_seconds()))


def observe_delivery(session: Session, channel: str, raised_at: datetime, trigger_event_ids: str,
                     sent_at: datetime) -> None:
    """Observe both latencies of one sent message; the accepted time is the intake journal's, when it is reachable."""
    try:
        RAISED_TO_SENT.labels(channel=channel).observe(max(0.0, (sent_at - raised_at).total_seconds()))
        accepted = accepted_at(session, json.loads(trigger_event_ids or "[]"))
        if accepted is not None:
            observe_end_to_end(channel, accepted, sent_at)
    except Exception:  # noqa: BLE001 - a metric must never disturb a delivery already recorded
        return


def observe_deliveries(session: Session, sent: list[tuple[str, datetime, str]], sent_at: datetime) -> None:
    """observe_delivery for a batch of (channel, raised_at, trigger ids JSON), with one journal query for all."""
    try:
        triggers = [json.loads(ids or "[]") for _, _, ids in sent]
        accepted = _accepted(session, {e for ids in triggers for e in ids})
        for (channel, raised_at, _), ids in zip(sent, triggers, strict=True):
            RAISED_TO_SENT.labels(channel=channel).observe(max(0.0, (sent_at - raised_at).total_seconds()))
            times = [accepted[e] for e in ids if e in accepted]
            if times:
                observe_end_to_end(channel, max(times), sent_at)
    except Exception:  # noqa: BLE001 - a metric must never disturb a delivery already recorded
        return


def accepted_at(session: Session, event_ids: list[str]) -> datetime | None:
    """When the intake accepted the latest of these events (None: not journaled here, e.g. a separate database)."""
    times = _accepted(session, set(event_ids)).values()
    return max(times) if times else None


def _accepted(session: Session, event_ids: set[str]) -> dict[str, datetime]:
    """event id -> when the intake journal received it (nothing when the journal is not in this database)."""
    if not event_ids:
        return {}
    query = sa.text("SELECT event_id, MAX(received_at) FROM intake_journal WHERE event_id IN :ids "
                    "GROUP BY event_id").bindparams(sa.bindparam("ids", expanding=True))
    try:
        with session.begin_nested():
            rows = session.execute(query, {"ids": sorted(event_ids)}).all()
    except sa.exc.SQLAlchemyError:
        return {}
    return {event_id: as_utc(value if isinstance(value, datetime) else datetime.fromisoformat(str(value)))
            for event_id, value in rows if value is not None}
