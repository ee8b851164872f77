"""Escalation runner: each recipient's unacknowledged duty past its wait goes to the duty managers, level by level."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consumers.delivery.dispatch import ESCALATION, ChannelPlan, channels_for, enqueue, parse_channel_plan
from consumers.delivery.render import rule_phrase
from consumers.escalation.duties import OpenDuty, open_duties
from consumers.escalation.policy import (
    ON_CALL,
    DueEscalation,
    DueResend,
    EscalationPolicy,
    ResendPolicy,
    due_escalations,
    level_reach,
    next_level_at,
    next_resend_at,
)
from consumers.escalation.resend import run_resends
from consumers.ledger.directory import Contact, active_duty_managers, duty_managers_on_call
from consumers.ledger.models import LedgerAlert, RecipientAck, audit
from consumers.metrics import count_escalations_at_commit
from runtime.logging import get_logger
from runtime.settings import Settings
from schemas.enums import DeliveryKind
from schemas.events import DeliveryEvent

__all__ = ["EscalationPolicy", "FollowUps", "OpenDuty", "due_escalations", "escalate", "next_follow_up_at",
           "open_duties", "run_escalations", "run_follow_ups", "run_resends"]

log = get_logger(__name__)


@dataclass
class FollowUps:
    """What one run did: duties escalated, re-sends queued, and the events to publish after commit."""

    escalated: list[DueEscalation] = field(default_factory=list)
    resent: list[DueResend] = field(default_factory=list)
    events: list[DeliveryEvent] = field(default_factory=list)


def escalation_text(level: int, role: str, staff_id: str, minutes: int, rule: str) -> str:
    """The duty manager's text: who has not acknowledged which alert for how long (minimised, guarded on render)."""
    return (f"Escalation level {level}: {role.replace('_', ' ').lower()} {staff_id} has not acknowledged for "
            f"{minutes} minutes. {rule_phrase(rule)}. Check case and act now.")


def _managers(session: Session, level: int, now: datetime, regarding: str) -> tuple[list[Contact], str | None]:
    """The duty managers this level reaches (never the unacknowledged one), and why none was found as intended."""
    if level_reach(level) == ON_CALL:
        on_call = [m for m in duty_managers_on_call(session, now) if m.reachable and m.staff_id != regarding]
        if on_call:
            return on_call, None
        fallback = [m for m in active_duty_managers(session) if m.reachable and m.staff_id != regarding]
        return fallback, "NONE_ON_CALL" if fallback else "NONE_ACTIVE"  # better anyone than nobody
    everyone = [m for m in active_duty_managers(session) if m.reachable and m.staff_id != regarding]
    return everyone, None if everyone else "NONE_ACTIVE"


def _event(due: DueEscalation, manager_id: str, now: datetime) -> DeliveryEvent:
    seed = f"{due.alert_id}|{due.level}|{due.staff_id}|{manager_id}"
    return DeliveryEvent(delivery_event_id="esc-" + hashlib.sha256(seed.encode()).hexdigest()[:24],
                         alert_id=due.alert_id, kind=DeliveryKind.ESCALATED, staff_id=manager_id, at=now,
                         code=f"LEVEL_{due.level}")


def escalate(session: Session, due: DueEscalation, now: datetime, plan: ChannelPlan) -> list[DeliveryEvent] | None:
    """Move one recipient's duty to `due.level`: tell the duty managers, audit; the ESCALATED events (None: beaten)."""
    # A conditional UPDATE claims the level, so two dispatchers never escalate the same duty twice.
    claimed = session.execute(
        sa.update(RecipientAck).where(RecipientAck.alert_id == due.alert_id, RecipientAck.staff_id == due.staff_id,
                                      RecipientAck.acknowledged_at.is_(None),
                                      RecipientAck.escalation_acked_at.is_(None),
                                      RecipientAck.escalation_level == due.level - 1)
        .values(escalation_level=due.level, last_escalated_at=now)
        .execution_options(synchronize_session=False)).rowcount == 1
    if not claimed:
        return None
    alert = session.get(LedgerAlert, due.alert_id)
    duty = session.get(RecipientAck, (due.alert_id, due.staff_id))
    assert alert is not None and duty is not None
    minutes = int((now - alert.received_at).total_seconds() // 60)
    managers, problem = _managers(session, due.level, now, due.staff_id)
    if problem is not None:
        audit(session, "NO_DUTY_MANAGER", at=now, alert_id=alert.alert_id, subject_id=alert.subject_id,
              staff_id=due.staff_id, detail={"level": due.level, "reason": problem})
        log.error("no_duty_manager", alert_id=alert.alert_id, level=due.level, reason=problem)
    text = escalation_text(due.level, duty.role, due.staff_id, minutes, alert.rule)
    notified = [m.staff_id for m in managers
                if enqueue(session, alert, m, [text], role=m.role, channels=channels_for(plan, alert.severity),
                           level=due.level, purpose=ESCALATION, regarding=due.staff_id, now=now)]
    audit(session, "ESCALATED", at=now, alert_id=alert.alert_id, subject_id=alert.subject_id, staff_id=due.staff_id,
          detail={"level": due.level, "reach": level_reach(due.level), "severity": alert.severity,
                  "after_minutes": minutes, "regarding": due.staff_id, "notified": notified})
    log.warning("recipient_escalated", alert_id=alert.alert_id, staff_id=due.staff_id, level=due.level,
                notified=len(notified))
    return [_event(due, manager_id, now) for manager_id in notified]


def run_escalations(session: Session, now: datetime, settings: Settings,
                    duties: list[OpenDuty] | None = None) -> FollowUps:
    """Escalate every recipient's duty due at `now` (flushed, not committed)."""
    plan, policy = parse_channel_plan(settings.channels_by_severity), EscalationPolicy.from_settings(settings)
    if duties is None:
        duties = open_duties(session, policy, ResendPolicy.from_settings(settings), now)
    run = FollowUps()
    for due in due_escalations(duties, now, policy):
        events = escalate(session, due, now, plan)
        if events is not None:
            run.escalated.append(due)
            run.events.extend(events)
    count_escalations_at_commit(session, [due.level for due in run.escalated])
    return run


def run_follow_ups(session: Session, now: datetime, settings: Settings) -> FollowUps:
    """Every escalation and re-send due at `now` under the settings' policies (flushed, not committed).

    The caller commits, then publishes `run.events` on the delivery topic; the new deliveries are pending rows
    that the dispatcher's sender sends like any other.
    """
    duties = open_duties(session, EscalationPolicy.from_settings(settings), ResendPolicy.from_settings(settings), now)
    run = run_escalations(session, now, settings, duties)
    run.resent = run_resends(session, now, settings, duties)
    return run


def next_follow_up_at(session: Session, settings: Settings, after: datetime) -> datetime | None:
    """The first moment after `after` that an escalation or re-send falls due (None: none will), e.g. to step a
    simulated clock; whatever fell due until `after` is the run at `after`'s to do."""
    escalation, again = EscalationPolicy.from_settings(settings), ResendPolicy.from_settings(settings)
    moments = [at for duty in open_duties(session, escalation, again, after)
               for at in (next_level_at(duty, escalation), next_resend_at(duty, again))
               if at is not None and at > after]
    return min(moments, default=None)
