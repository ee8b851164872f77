"""Twilio status callbacks applied to the ledger: delivered, or failed with failover (or a retry for carrier hiccups)."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consumers import ledger
from consumers.delivery.dispatch import fail_over, parse_channel_plan
from consumers.delivery.events import delivery_event_id
from consumers.delivery.retry import backoff_delay
from consumers.ledger.models import Delivery, LedgerAlert
from runtime.logging import get_logger
from runtime.settings import Settings
from schemas.enums import Channel, DeliveryKind
from schemas.events import DeliveryEvent

log = get_logger(__name__)
DELIVERED_STATUSES = frozenset({"delivered", "read"})
FAILED_STATUSES = frozenset({"undelivered", "failed"})
# Carrier-side faults worth one more try: queue overflow, unknown error, missing segment, carrier congestion.
TRANSIENT_STATUS_CODES = frozenset({"30001", "30008", "30009", "30017"})


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """The fields of a status callback that matter (never the To number or the body)."""

    message_sid: str
    status: str
    error_code: str | None = None


def _event(kind: DeliveryKind, row: Delivery, now: datetime, code: str | None) -> DeliveryEvent:
    event_id = ledger_event_id(row.id, kind.value, code)
    return DeliveryEvent(delivery_event_id=event_id, alert_id=row.alert_id, kind=kind, staff_id=row.staff_id,
                         channel=Channel(row.channel), at=now, code=code)


def ledger_event_id(delivery_id: int, kind: str, code: str | None) -> str:
    """A deterministic event id per (delivery, kind, code): a repeated callback publishes the same id."""
    return delivery_event_id(str(delivery_id), kind, code)


def _delivered(session: Session, row: Delivery, alert: LedgerAlert, now: datetime) -> list[DeliveryEvent]:
    if row.state == ledger.DELIVERED:
        return []
    row.state, row.delivered_at, row.updated_at = ledger.DELIVERED, now, now
    ledger.audit(session, "DELIVERED", at=now, alert_id=row.alert_id, subject_id=alert.subject_id,
                 staff_id=row.staff_id, channel=row.channel, delivery_id=row.id,
                 detail={"provider_status": "delivered"})
    return [_event(DeliveryKind.DELIVERED, row, now, "delivered")]


def _failed(session: Session, row: Delivery, alert: LedgerAlert, code: str, settings: Settings,
            now: datetime) -> list[DeliveryEvent]:
    if row.state in (ledger.FAILED, ledger.DELIVERED, ledger.PENDING):
        return []  # already settled, or already queued again by an earlier callback
    row.last_error, row.updated_at = code, now
    raw_code = code.removeprefix("TWILIO_")
    if raw_code in TRANSIENT_STATUS_CODES and row.attempts < settings.delivery_max_attempts:
        delay = backoff_delay(row.attempts, settings.delivery_backoff_base_s, settings.delivery_backoff_cap_s,
                              random.random)
        row.state, row.next_attempt_at = ledger.PENDING, now + delay
        ledger.audit(session, "RETRY_SCHEDULED", at=now, alert_id=row.alert_id, subject_id=alert.subject_id,
                     staff_id=row.staff_id, channel=row.channel, delivery_id=row.id,
                     detail={"code": code, "attempts": row.attempts, "source": "status_callback"})
        return []
    row.state, row.failed_at, row.next_attempt_at = ledger.FAILED, now, None
    ledger.audit(session, "SEND_FAILED", at=now, alert_id=row.alert_id, subject_id=alert.subject_id,
                 staff_id=row.staff_id, channel=row.channel, delivery_id=row.id,
                 detail={"code": code, "attempts": row.attempts, "source": "status_callback"})
    session.flush()
    fail_over(session, row, parse_channel_plan(settings.channels_by_severity), now)
    log.warning("delivery_failed_after_send", delivery_id=row.id, alert_id=row.alert_id, code=code)
    return [_event(DeliveryKind.FAILED, row, now, code)]


def apply_status(session: Session, update: StatusUpdate, settings: Settings, now: datetime) -> list[DeliveryEvent]:
    """Apply one status callback (flushed, not committed); the delivery events to publish after commit."""
    status = update.status.strip().lower()
    if status not in DELIVERED_STATUSES | FAILED_STATUSES:
        return []  # queued / sending / sent / accepted: the sender already recorded the send
    row = session.scalar(sa.select(Delivery).where(Delivery.provider_message_id == update.message_sid,
                                                   Delivery.channel == ledger.SMS))
    if row is None:
        log.warning("status_for_unknown_message", status=status)
        return []
    alert = session.get(LedgerAlert, row.alert_id)
    assert alert is not None
    if status in DELIVERED_STATUSES:
        return _delivered(session, row, alert, now)
    return _failed(session, row, alert, f"TWILIO_{update.error_code or 'UNKNOWN'}", settings, now)
