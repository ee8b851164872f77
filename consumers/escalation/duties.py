"""The unacknowledged duties escalation and re-sends work on: each recipient who has not acknowledged an alert."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consumers.escalation.policy import EscalationPolicy, ResendPolicy
from consumers.ledger.models import LedgerAlert, RecipientAck


@dataclass(frozen=True, slots=True)
class OpenDuty:
    """An unacknowledged recipient's duty with the alert fields the policies read."""

    alert_id: str
    staff_id: str
    severity: str
    received_at: datetime
    acknowledged_at: datetime | None
    escalation_acked_at: datetime | None
    escalation_level: int
    last_escalated_at: datetime | None
    resends: int


def open_duties(session: Session, escalation: EscalationPolicy, again: ResendPolicy, now: datetime) -> list[OpenDuty]:
    """Every recipient who has not acknowledged an alert and may still escalate or be re-sent (from `now` on)."""
    severities = tuple(sorted({*escalation.wait, *again.every}))
    may_escalate = sa.and_(RecipientAck.escalation_acked_at.is_(None),
                           RecipientAck.escalation_level < escalation.levels)
    may_resend = RecipientAck.resends < max((again.count(s) for s in severities), default=0)
    # Past the longest re-send window a duty only loads while it may still escalate: the query stays bounded.
    window = max((again.every[s] * (again.count(s) + 1) for s in severities if again.count(s)), default=None)
    may_resend = sa.and_(may_resend, LedgerAlert.received_at > now - window) if window else sa.false()
    query = (sa.select(RecipientAck, LedgerAlert.severity, LedgerAlert.received_at)
             .join(LedgerAlert, LedgerAlert.alert_id == RecipientAck.alert_id)
             .where(RecipientAck.acknowledged_at.is_(None), LedgerAlert.severity.in_(severities),
                    sa.or_(may_escalate, may_resend))
             .order_by(LedgerAlert.received_at, RecipientAck.alert_id, RecipientAck.staff_id))
    return [OpenDuty(alert_id=a.alert_id, staff_id=a.staff_id, severity=severity, received_at=received,
                     acknowledged_at=a.acknowledged_at, escalation_acked_at=a.escalation_acked_at,
                     escalation_level=a.escalation_level or 0, last_escalated_at=a.last_escalated_at,
                     resends=a.resends or 0)
            for a, severity, received in session.execute(query).tuples()]
