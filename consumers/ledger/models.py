"""The delivery ledger and audit trail: SQLAlchemy 2.x models (ledger_metadata) and the functions that write them."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from consumers.ledger.columns import (  # noqa: F401 - re-exported by consumers.ledger
    ACK_ALPHABET,
    ACK_CODE_LENGTH,
    UtcDateTime,
    ack_code_for,
    utcnow,
)
from schemas.events import Alert

ledger_metadata = sa.MetaData()
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Delivery states and channels as stored.
PENDING, SENDING, SENT, DELIVERED, FAILED = "pending", "sending", "sent", "delivered", "failed"
SMS, EMAIL = "SMS", "EMAIL"


class Base(DeclarativeBase):
    """Declarative base of the ledger tables."""

    metadata = ledger_metadata


class Staff(Base):
    """A staff member's registry entry (the only source of phone numbers and emails)."""

    __tablename__ = "staff"
    staff_id: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(32))
    phone_e164: Mapped[str | None] = mapped_column(sa.String(32))
    email: Mapped[str | None] = mapped_column(sa.String(320))
    active: Mapped[bool] = mapped_column(sa.Boolean())
    on_call: Mapped[str] = mapped_column(sa.Text())  # JSON list of [starts_at, ends_at] ISO strings
    source_event_id: Mapped[str] = mapped_column(sa.String(160))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())  # the STAFF_UPDATED recorded_at applied
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LedgerAlert(Base):
    """An alert as received; each recipient's acknowledgement and escalation state is a RecipientAck."""

    __tablename__ = "alerts"
    alert_id: Mapped[str] = mapped_column(sa.String(160), primary_key=True)
    rule: Mapped[str] = mapped_column(sa.String(100))
    severity: Mapped[str] = mapped_column(sa.String(16))
    subject_id: Mapped[str] = mapped_column(sa.String(100), index=True)
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime())
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    trigger_event_ids: Mapped[str] = mapped_column(sa.Text())  # JSON list
    group_key: Mapped[str | None] = mapped_column(sa.String(300))
    ack_code: Mapped[str] = mapped_column(sa.String(16), unique=True)


class AlertRecipientRow(Base):
    """One (alert, staff, victim) recipient entry and its minimised text."""

    __tablename__ = "alert_recipients"
    __table_args__ = (sa.UniqueConstraint("alert_id", "staff_id", "victim_key", name="uq_alert_recipients"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(sa.String(160), sa.ForeignKey("alerts.alert_id"))
    staff_id: Mapped[str] = mapped_column(sa.String(100))
    role: Mapped[str] = mapped_column(sa.String(32))
    victim_ref: Mapped[str | None] = mapped_column(sa.String(100))
    victim_key: Mapped[str] = mapped_column(sa.String(100))  # victim_ref or "-" (NULLs are never equal in UNIQUE)
    text: Mapped[str] = mapped_column(sa.Text())


class RecipientAck(Base):
    """One recipient's own duty to acknowledge an alert: who acknowledged it, when and how; escalation and re-sends."""

    __tablename__ = "recipient_acks"
    __table_args__ = (sa.Index("ix_recipient_acks_open", "acknowledged_at"),)  # escalation reads the open ones
    alert_id: Mapped[str] = mapped_column(sa.String(160), sa.ForeignKey("alerts.alert_id"), primary_key=True)
    staff_id: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(32))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(sa.String(100))  # the recipient, or the duty manager on behalf
    ack_via: Mapped[str | None] = mapped_column(sa.String(16))  # SMS, LINK, WEB or ON_BEHALF
    ack_reason: Mapped[str | None] = mapped_column(sa.String(40))  # a reason code, on behalf only
    escalation_level: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")
    last_escalated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    escalation_acked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # a duty manager took the escalation
    escalation_acked_by: Mapped[str | None] = mapped_column(sa.String(100))
    resends: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")
    last_resent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


NOBODY = "-"  # Delivery.regarding of a message about its own recipient (NULLs are never equal in UNIQUE)


class Delivery(Base):
    """One message of an alert to one staff member on one channel at one level (its n-th re-send, about someone)."""

    __tablename__ = "deliveries"
    __table_args__ = (sa.UniqueConstraint("alert_id", "staff_id", "channel", "level", "resend", "regarding",
                                          name="uq_deliveries"),
                      sa.Index("ix_deliveries_due", "state", "next_attempt_at"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(sa.String(160), sa.ForeignKey("alerts.alert_id"))
    staff_id: Mapped[str] = mapped_column(sa.String(100))
    channel: Mapped[str] = mapped_column(sa.String(8))
    level: Mapped[int] = mapped_column(sa.Integer())
    purpose: Mapped[str] = mapped_column(sa.String(16))
    resend: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")  # 0: the first message
    regarding: Mapped[str] = mapped_column(sa.String(100), default=NOBODY, server_default=NOBODY)  # whose missing ack
    destination: Mapped[str] = mapped_column(sa.String(320))
    body: Mapped[str] = mapped_column(sa.Text())
    texts: Mapped[str | None] = mapped_column(sa.Text())  # JSON list the body was rendered from (re-render on failover)
    state: Mapped[str] = mapped_column(sa.String(16))
    provider_message_id: Mapped[str | None] = mapped_column(sa.String(200))
    attempts: Mapped[int] = mapped_column(sa.Integer(), default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(sa.String(100))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AuditEntry(Base):
    """One append-only audit record (database triggers refuse UPDATE and DELETE)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    action: Mapped[str] = mapped_column(sa.String(40))
    alert_id: Mapped[str | None] = mapped_column(sa.String(160), index=True)
    subject_id: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    staff_id: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    channel: Mapped[str | None] = mapped_column(sa.String(8))
    delivery_id: Mapped[int | None] = mapped_column(BigId)
    detail: Mapped[str] = mapped_column(sa.Text())  # JSON object: codes and counts; the body for DISCLOSED only


class ChronologyEvent(Base):
    """One coded agency event in a subject's chronology (no free text)."""

    __tablename__ = "chronology_events"
    agency: Mapped[str] = mapped_column(sa.String(100), primary_key=True)  # each agency numbers its own events
    event_id: Mapped[str] = mapped_column(sa.String(160), primary_key=True)
    subject_id: Mapped[str] = mapped_column(sa.String(100), index=True)
    topic: Mapped[str] = mapped_column(sa.String(32))
    event_type: Mapped[str] = mapped_column(sa.String(64))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # when drive-alerts took it in for the subject
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # the end a bail, order or licence gives
    summary: Mapped[str] = mapped_column(sa.Text())


# --------------------------------------------------------------------------- functions


def _free_ack_code(session: Session, alert_id: str) -> str:
    """The alert's code, extended one character at a time while another alert holds it."""
    length = ACK_CODE_LENGTH
    while True:
        code = ack_code_for(alert_id, length)
        if session.scalar(sa.select(LedgerAlert.alert_id).where(LedgerAlert.ack_code == code)) is None:
            return code
        length += 1


def audit(session: Session, action: str, *, at: datetime | None = None, alert_id: str | None = None,
          subject_id: str | None = None, staff_id: str | None = None, channel: str | None = None,
          delivery_id: int | None = None, detail: dict[str, Any] | None = None, flush: bool = True) -> AuditEntry:
    """Append one audit record (flushed unless told not to; not committed)."""
    entry = AuditEntry(at=at or utcnow(), action=action, alert_id=alert_id, subject_id=subject_id,
                       staff_id=staff_id, channel=channel, delivery_id=delivery_id,
                       detail=json.dumps(detail or {}, sort_keys=True, default=str))
    session.add(entry)
    if flush:
        session.flush()
    return entry


def merged_recipients(alert: Alert) -> dict[str, tuple[str, list[str]]]:
    """{staff_id: (role, [texts])} in first-seen order: one message per staff member, texts in alert order."""
    merged: dict[str, tuple[str, list[str]]] = {}
    for r in alert.recipients:
        role, texts = merged.setdefault(r.staff_id, (r.role.value, []))
        if r.text not in texts:
            texts.append(r.text)
    return merged


def record_alert(session: Session, alert: Alert, now: datetime | None = None) -> bool:
    """Record an alert and its recipients; False (and nothing written) when it is already recorded."""
    if session.get(LedgerAlert, alert.alert_id) is not None:
        return False
    now = now or utcnow()
    try:
        with session.begin_nested():
            session.add(LedgerAlert(
                alert_id=alert.alert_id, rule=alert.rule, severity=alert.severity.value,
                subject_id=alert.subject_id, raised_at=alert.raised_at, received_at=now,
                trigger_event_ids=json.dumps(list(alert.trigger_event_ids)), group_key=alert.group_key,
                ack_code=_free_ack_code(session, alert.alert_id)))
            session.flush()
            seen: set[tuple[str, str]] = set()
            for r in alert.recipients:
                key = (r.staff_id, r.victim_ref or "-")
                if key not in seen:
                    seen.add(key)
                    session.add(AlertRecipientRow(alert_id=alert.alert_id, staff_id=r.staff_id, role=r.role.value,
                                                  victim_ref=r.victim_ref, victim_key=key[1], text=r.text))
            for staff_id, (role, _) in merged_recipients(alert).items():  # each recipient's own duty to acknowledge
                session.add(RecipientAck(alert_id=alert.alert_id, staff_id=staff_id, role=role))
            session.flush()
    except IntegrityError:  # another dispatcher recorded it first
        return False
    audit(session, "ALERT_RECEIVED", at=now, alert_id=alert.alert_id, subject_id=alert.subject_id,
          detail={"rule": alert.rule, "severity": alert.severity.value, "recipients": len(seen)})
    return True


def get_alert(session: Session, alert_id: str) -> LedgerAlert | None:
    """The recorded alert, or None."""
    return session.get(LedgerAlert, alert_id)


def alert_by_ack_code(session: Session, ack_code: str) -> LedgerAlert | None:
    """The alert whose acknowledgement code this is (case-insensitive), or None."""
    return session.scalar(sa.select(LedgerAlert).where(LedgerAlert.ack_code == ack_code.strip().upper()))


def recipients_of(session: Session, alert_id: str) -> list[AlertRecipientRow]:
    """The alert's recipient entries in insertion order."""
    return list(session.scalars(sa.select(AlertRecipientRow).where(AlertRecipientRow.alert_id == alert_id)
                                .order_by(AlertRecipientRow.id)))


def deliveries_of(session: Session, alert_id: str, staff_id: str | None = None) -> list[Delivery]:
    """The alert's deliveries (optionally of one staff member), by id."""
    query = sa.select(Delivery).where(Delivery.alert_id == alert_id)
    if staff_id is not None:
        query = query.where(Delivery.staff_id == staff_id)
    return list(session.scalars(query.order_by(Delivery.id)))


def add_delivery(session: Session, *, alert_id: str, staff_id: str, channel: str, level: int, purpose: str,
                 destination: str, body: str, texts: list[str] | None = None, resend: int = 0,
                 regarding: str | None = None, now: datetime | None = None) -> Delivery | None:
    """Insert a pending delivery; None when (alert, staff, channel, level, resend, regarding) already has one."""
    regarding = regarding or NOBODY
    exists = sa.select(Delivery.id).where(Delivery.alert_id == alert_id, Delivery.staff_id == staff_id,
                                          Delivery.channel == channel, Delivery.level == level,
                                          Delivery.resend == resend, Delivery.regarding == regarding)
    if session.scalar(exists) is not None:
        return None
    now = now or utcnow()
    row = Delivery(alert_id=alert_id, staff_id=staff_id, channel=channel, level=level, purpose=purpose,
                   resend=resend, regarding=regarding, destination=destination, body=body,
                   texts=json.dumps(texts) if texts is not None else None,
                   state=PENDING, attempts=0, next_attempt_at=now,
                   created_at=now, updated_at=now)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return row


def due_deliveries(session: Session, now: datetime, limit: int = 50) -> list[Delivery]:
    """Pending deliveries whose next attempt is due, oldest first."""
    query = (sa.select(Delivery).where(Delivery.state == PENDING, Delivery.next_attempt_at <= now)
             .order_by(Delivery.next_attempt_at, Delivery.id).limit(limit))
    return list(session.scalars(query))


def audit_entries(session: Session, *, alert_id: str | None = None, staff_id: str | None = None,
                  subject_id: str | None = None, action: str | None = None) -> list[AuditEntry]:
    """Audit records matching every given filter, in the order they were written."""
    query = sa.select(AuditEntry)
    for column, value in ((AuditEntry.alert_id, alert_id), (AuditEntry.staff_id, staff_id),
                          (AuditEntry.subject_id, subject_id), (AuditEntry.action, action)):
        if value is not None:
            query = query.where(column == value)
    return list(session.scalars(query.order_by(AuditEntry.id)))
