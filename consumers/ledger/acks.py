"""Reads of the per-recipient acknowledgement state: each recipient's duty, and the alerts addressed to someone."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consumers.ledger.models import Delivery, LedgerAlert, RecipientAck


def recipient_ack(session: Session, alert_id: str, staff_id: str) -> RecipientAck | None:
    """One recipient's acknowledgement state of an alert, or None when they are not one of its recipients."""
    return session.get(RecipientAck, (alert_id, staff_id))


def recipient_acks_of(session: Session, alert_ids: set[str] | list[str]) -> list[RecipientAck]:
    """The acknowledgement state of every recipient of these alerts, by alert then staff id."""
    if not alert_ids:
        return []
    return list(session.scalars(sa.select(RecipientAck).where(RecipientAck.alert_id.in_(set(alert_ids)))
                                .order_by(RecipientAck.alert_id, RecipientAck.staff_id)))


def messaged_about(session: Session, alert_id: str, staff_id: str) -> set[str]:
    """The recipients whose missing acknowledgement `staff_id` (a duty manager) was messaged about for this alert;
    NOBODY among them for a message about the alert as a whole (before per-recipient acknowledgement)."""
    rows = session.scalars(sa.select(Delivery.regarding).where(Delivery.alert_id == alert_id,
                                                               Delivery.staff_id == staff_id).distinct())
    return set(rows)


def latest_alert_to(session: Session, staff_id: str, rule: str) -> LedgerAlert | None:
    """The latest recorded alert of `rule` addressed to `staff_id`: as a recipient, or by any message at all."""
    as_recipient = sa.select(RecipientAck.alert_id).where(RecipientAck.staff_id == staff_id)
    messaged = sa.select(Delivery.alert_id).where(Delivery.staff_id == staff_id)
    query = (sa.select(LedgerAlert).where(LedgerAlert.rule == rule,
                                          sa.or_(LedgerAlert.alert_id.in_(as_recipient),
                                                 LedgerAlert.alert_id.in_(messaged)))
             .order_by(LedgerAlert.received_at.desc(), LedgerAlert.raised_at.desc(), LedgerAlert.alert_id.desc()))
    return session.scalars(query.limit(1)).first()



def role_words(role: str) -> str:
    """A staff role as people say it: CASE_MANAGER -> case manager."""
    return role.replace("_", " ").lower()


def how_acknowledged(duty: RecipientAck) -> str:
    """`via SMS`, `for them by staff-dm-01 (SPOKE_TO_RECIPIENT)`, or `` while unacknowledged."""
    if duty.acknowledged_at is None:
        return ""
    if duty.acknowledged_by in (None, duty.staff_id):
        return f"via {duty.ack_via}"
    return f"for them by {duty.acknowledged_by} ({duty.ack_reason or duty.ack_via})"
