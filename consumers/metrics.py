"""Prometheus metrics of delivery: alerts recorded, deliveries, acknowledgements, escalations, and the ledger's gauges.

The gauges (unacknowledged duties, pending and failed deliveries) come from two grouped queries that LedgerGauges
runs every DRIVE_METRICS_REFRESH_S on the dispatcher, never per scrape. Every dispatcher replica exports the same
ledger-wide figures: aggregate them with max, not sum. Labels never carry personal data.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.orm import Session, sessionmaker

from consumers.ledger.models import FAILED, PENDING, SENDING, Delivery, LedgerAlert, RecipientAck
from runtime.db import as_utc
from runtime.logging import get_logger

log = get_logger(__name__)

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
ESCALATIONS = Counter("drive_escalations_total", "Recipients' unacknowledged duties escalated to the duty managers, "
                      "by escalation level (counted once committed).", ["level"])
UNACKNOWLEDGED = Gauge("drive_unacknowledged_alerts", "Recipients who have not acknowledged an alert sent to them "
                       "(one per alert and recipient), by the alert's severity.", ["severity"])
OLDEST_UNACKNOWLEDGED = Gauge("drive_oldest_unacknowledged_seconds", "Age of the oldest unacknowledged recipient duty, "
                              "by severity (0: none).", ["severity"])
DELIVERIES_PENDING = Gauge("drive_deliveries_pending", "Messages not yet sent (pending or being sent), by channel.",
                           ["channel"])
OLDEST_PENDING = Gauge("drive_oldest_pending_delivery_seconds", "Age of the oldest message not yet sent (0: none).")
DELIVERIES_FAILED = Gauge("drive_deliveries_failed_recent", "Messages failed for good (after retries) in the last "
                          "24 hours, by channel.", ["channel"])
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW")
CHANNELS = ("SMS", "EMAIL")
FAILED_WINDOW = timedelta(hours=24)
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
        accepted = accepted_times(session, {e for ids in triggers for e in ids})
        for (channel, raised_at, _), ids in zip(sent, triggers, strict=True):
            RAISED_TO_SENT.labels(channel=channel).observe(max(0.0, (sent_at - raised_at).total_seconds()))
            times = [accepted[e] for e in ids if e in accepted]
            if times:
                observe_end_to_end(channel, max(times), sent_at)
    except Exception:  # noqa: BLE001 - a metric must never disturb a delivery already recorded
        return


def accepted_at(session: Session, event_ids: list[str]) -> datetime | None:
    """When the intake accepted the latest of these events (None: not journaled here, e.g. a separate database)."""
    times = accepted_times(session, set(event_ids)).values()
    return max(times) if times else None


def accepted_times(session: Session, event_ids: set[str]) -> dict[str, datetime]:
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


def count_escalations_at_commit(session: Session, levels: list[int]) -> None:
    """Count escalations when the session's transaction commits; a rollback first means they never happened."""
    if not levels:
        return
    settled = threading.Event()

    def committed(_session: Session) -> None:
        if not settled.is_set():
            settled.set()
            for level in levels:
                ESCALATIONS.labels(level=str(level)).inc()

    sa.event.listen(session, "after_commit", committed, once=True)
    sa.event.listen(session, "after_rollback", lambda _session: settled.set(), once=True)


def refresh_ledger_gauges(session: Session, now: datetime) -> None:
    """Set the ledger gauges from one grouped query per table (every label present, 0 when nothing)."""
    duties = session.execute(
        sa.select(LedgerAlert.severity, sa.func.count(), sa.func.min(LedgerAlert.received_at))
        .join(RecipientAck, RecipientAck.alert_id == LedgerAlert.alert_id)
        .where(RecipientAck.acknowledged_at.is_(None)).group_by(LedgerAlert.severity)).all()
    found = {severity: (count, oldest) for severity, count, oldest in duties}
    for severity in {*SEVERITIES, *found}:
        count, oldest = found.get(severity, (0, None))
        UNACKNOWLEDGED.labels(severity=severity).set(count)
        OLDEST_UNACKNOWLEDGED.labels(severity=severity).set(_age(now, oldest))
    open_states = (PENDING, SENDING)
    rows = session.execute(
        sa.select(Delivery.channel, Delivery.state, sa.func.count(), sa.func.min(Delivery.created_at))
        .where(sa.or_(Delivery.state.in_(open_states),
                      sa.and_(Delivery.state == FAILED, Delivery.failed_at >= now - FAILED_WINDOW)))
        .group_by(Delivery.channel, Delivery.state)).all()
    pending, failed, oldest_pending = dict.fromkeys(CHANNELS, 0), dict.fromkeys(CHANNELS, 0), None
    for channel, state, count, oldest in rows:
        if state in open_states:
            pending[channel] = pending.get(channel, 0) + count
            oldest_pending = oldest if oldest_pending is None or (oldest and oldest < oldest_pending) else oldest_pending
        else:
            failed[channel] = failed.get(channel, 0) + count
    for channel in pending:
        DELIVERIES_PENDING.labels(channel=channel).set(pending[channel])
    for channel in failed:
        DELIVERIES_FAILED.labels(channel=channel).set(failed[channel])
    OLDEST_PENDING.set(_age(now, oldest_pending))


def _age(now: datetime, oldest: datetime | None) -> float:
    return 0.0 if oldest is None else max(0.0, (now - as_utc(oldest)).total_seconds())


class LedgerGauges:
    """A dispatcher companion refreshing the ledger gauges every `every_s`; a failure is logged, never raised."""

    def __init__(self, sessions: sessionmaker[Session], every_s: float, now: Callable[[], datetime]) -> None:
        self.sessions, self.every_s, self.now = sessions, every_s, now

    def run(self, stop: threading.Event) -> None:
        """Refresh until `stop` is set."""
        while not stop.is_set():
            try:
                with self.sessions() as session:
                    refresh_ledger_gauges(session, self.now())
            except Exception as exc:  # noqa: BLE001 - the gauges wait for the next round; deliveries go on
                log.warning("ledger_gauges_failed", error=type(exc).__name__)
            stop.wait(self.every_s)
