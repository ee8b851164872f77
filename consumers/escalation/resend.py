"""Repeat until confirmed: an unacknowledged alert goes to the same recipient again, keyed by its re-send number."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consumers.delivery.dispatch import RESEND, ChannelPlan, channels_for, enqueue, parse_channel_plan
from consumers.escalation.duties import OpenDuty
from consumers.escalation.policy import DueResend, ResendPolicy, due_resends
from consumers.ledger.directory import contact
from consumers.ledger.models import LedgerAlert, RecipientAck, audit, recipients_of
from runtime.logging import get_logger
from runtime.settings import Settings

log = get_logger(__name__)


def resend_note(minutes: int) -> str:
    """The line a re-send starts with (known words only, so the guard keeps the message)."""
    return f"Unacknowledged for {minutes} minutes: please acknowledge now."


def resend(session: Session, due: DueResend, now: datetime, plan: ChannelPlan) -> bool:
    """Queue re-send `due.number` to its recipient (flushed, not committed); False when it is not theirs to have.

    The claim (a conditional UPDATE of the duty's count) and the deliveries, keyed by (alert, staff, channel,
    re-send number), commit together: a restarted dispatcher never sends a re-send twice.
    """
    claimed = session.execute(
        sa.update(RecipientAck).where(RecipientAck.alert_id == due.alert_id, RecipientAck.staff_id == due.staff_id,
                                      RecipientAck.acknowledged_at.is_(None), RecipientAck.resends < due.number)
        .values(resends=due.number, last_resent_at=now)
        .execution_options(synchronize_session=False)).rowcount == 1
    if not claimed:
        return False
    alert = session.get(LedgerAlert, due.alert_id)
    assert alert is not None
    minutes = int((now - alert.received_at).total_seconds() // 60)
    rows = [r for r in recipients_of(session, alert.alert_id) if r.staff_id == due.staff_id]
    found = contact(session, due.staff_id)
    if found is None or not found.reachable or not rows:
        audit(session, "RESEND_SKIPPED", at=now, alert_id=alert.alert_id, subject_id=alert.subject_id,
              staff_id=due.staff_id, detail={"resend": due.number, "reason": "UNREACHABLE"})
        return False
    texts = (resend_note(minutes), *dict.fromkeys(r.text for r in rows))
    queued = enqueue(session, alert, found, texts, role=rows[0].role,
                     victim_refs=[r.victim_ref for r in rows if r.victim_ref],
                     channels=channels_for(plan, alert.severity), level=0, purpose=RESEND, resend=due.number,
                     now=now)
    if not queued:  # the ledger already holds this re-send (its key): nothing to send twice
        return False
    audit(session, "RESENT", at=now, alert_id=alert.alert_id, subject_id=alert.subject_id, staff_id=due.staff_id,
          detail={"resend": due.number, "of": due.count, "after_minutes": minutes,
                  "deliveries": [d.id for d in queued]})
    log.info("alert_resent", alert_id=alert.alert_id, staff_id=due.staff_id, resend=due.number)
    return True


def run_resends(session: Session, now: datetime, settings: Settings, duties: list[OpenDuty]) -> list[DueResend]:
    """Queue every re-send due at `now` among `duties` (flushed, not committed); the ones queued."""
    plan = parse_channel_plan(settings.channels_by_severity)
    return [due for due in due_resends(duties, now, ResendPolicy.from_settings(settings))
            if resend(session, due, now, plan)]
