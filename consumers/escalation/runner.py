"""Escalation runner: unacknowledged alerts past their wait go to duty managers (and back to their recipients)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consumers.delivery.dispatch import ESCALATION, ChannelPlan, channels_for, enqueue, parse_channel_plan
from consumers.delivery.render import rule_phrase
from consumers.escalation.policy import (
    ON_CALL_AND_RECIPIENTS,
    DueEscalation,
    EscalationPolicy,
    due_escalations,
    level_reach,
)
from consumers.ledger.directory import Contact, active_duty_managers, contact, duty_managers_on_call
from consumers.ledger.models import LedgerAlert, audit, recipients_of
from runtime.logging import get_logger
from runtime.settings import Settings
from schemas.enums import DeliveryKind
from schemas.events import DeliveryEvent

__all__ = ["EscalationPolicy", "EscalationRun", "due_escalations", "escalate", "run_escalations"]

log = get_logger(__name__)


@dataclass
class EscalationRun:
    """What one run did: alerts escalated, deliveries queued, and the events to publish after commit."""

    escalated: list[DueEscalation] = field(default_factory=list)
    events: list[DeliveryEvent] = field(default_factory=list)


def _wait_minutes(policy: EscalationPolicy, severity: str) -> int:
    return int(policy.wait[severity].total_seconds() // 60)


@dataclass(frozen=True, slots=True)
class _Target:
    """One person a level reaches and what their message is made from."""

    contact: Contact
    role: str
    texts: tuple[str, ...]
    victim_refs: tuple[str, ...] = ()


def _note(level: int, minutes: int) -> str:
    return f"Escalation level {level}: alert unacknowledged for {minutes} minutes."


def _managers(session: Session, level: int, now: datetime) -> tuple[list[Contact], str | None]:
    """The duty managers this level reaches, and why none was found as the level intends (None if fine)."""
    if level_reach(level) == ON_CALL_AND_RECIPIENTS:
        on_call = [m for m in duty_managers_on_call(session, now) if m.reachable]
        if on_call:
            return on_call, None
        fallback = [m for m in active_duty_managers(session) if m.reachable]  # better anyone than nobody
        return fallback, "NONE_ON_CALL" if fallback else "NONE_ACTIVE"
    everyone = [m for m in active_duty_managers(session) if m.reachable]
    return everyone, None if everyone else "NONE_ACTIVE"


def _targets(session: Session, alert: LedgerAlert, level: int, minutes: int, now: datetime
             ) -> tuple[list[_Target], str | None]:
    """Everyone this level reaches: duty managers, and at level 1 the original recipients again."""
    managers, problem = _managers(session, level, now)
    note = _note(level, minutes)
    manager_text = f"{note} {rule_phrase(alert.rule)}. Check case and act now."
    targets = [_Target(m, m.role, (manager_text,)) for m in managers]
    if level_reach(level) == ON_CALL_AND_RECIPIENTS:
        by_staff: dict[str, list] = {}
        for r in recipients_of(session, alert.alert_id):
            by_staff.setdefault(r.staff_id, []).append(r)
        taken = {m.staff_id for m in managers}
        for staff_id, rows in by_staff.items():
            found = contact(session, staff_id)
            if found is not None and found.reachable and staff_id not in taken:
                refs = tuple(r.victim_ref for r in rows if r.victim_ref)
                targets.append(_Target(found, rows[0].role, (note, *dict.fromkeys(r.text for r in rows)), refs))
    return targets, problem


def _queue(session: Session, alert: LedgerAlert, level: int, targets: list[_Target], plan: ChannelPlan,
           now: datetime) -> list[str]:
    """Queue the level's deliveries through the dispatcher (a re-run inserts nothing); the staff ids queued."""
    notified = []
    for target in targets:
        rows = enqueue(session, alert, target.contact, target.texts, role=target.role, victim_refs=target.victim_refs,
                       channels=channels_for(plan, alert.severity), level=level, purpose=ESCALATION, now=now)
        if rows:
            notified.append(target.contact.staff_id)
    return notified


def _event(alert_id: str, level: int, staff_id: str, now: datetime) -> DeliveryEvent:
    event_id = "esc-" + hashlib.sha256(f"{alert_id}|{level}|{staff_id}".encode()).hexdigest()[:24]
    return DeliveryEvent(delivery_event_id=event_id, alert_id=alert_id, kind=DeliveryKind.ESCALATED,
                         staff_id=staff_id, at=now, code=f"LEVEL_{level}")


def escalate(session: Session, due: DueEscalation, policy: EscalationPolicy, now: datetime,
             plan: ChannelPlan) -> list[DeliveryEvent] | None:
    """Move one alert to `due.level`: queue its deliveries, audit, return the ESCALATED events (None if beaten)."""
    # Claim the level with a conditional UPDATE so two dispatchers never escalate the same level twice.
    claimed = session.execute(
        sa.update(LedgerAlert).where(LedgerAlert.alert_id == due.alert_id, LedgerAlert.acknowledged_at.is_(None),
                                     LedgerAlert.escalation_level == due.level - 1)
        .values(escalation_level=due.level, last_escalated_at=now)
        .execution_options(synchronize_session=False)).rowcount == 1
    if not claimed:
        return None
    alert = session.get(LedgerAlert, due.alert_id)
    assert alert is not None
    session.refresh(alert)
    minutes = _wait_minutes(policy, alert.severity)
    targets, problem = _targets(session, alert, due.level, minutes, now)
    if problem is not None:
        audit(session, "NO_DUTY_MANAGER", at=now, alert_id=alert.alert_id, subject_id=alert.subject_id,
              detail={"level": due.level, "reason": problem})
        log.error("no_duty_manager", alert_id=alert.alert_id, level=due.level, reason=problem)
    notified = _queue(session, alert, due.level, targets, plan, now)
    audit(session, "ESCALATED", at=now, alert_id=alert.alert_id, subject_id=alert.subject_id,
          detail={"level": due.level, "reach": level_reach(due.level), "severity": alert.severity,
                  "after_minutes": minutes, "notified": notified})
    log.warning("alert_escalated", alert_id=alert.alert_id, level=due.level, notified=len(notified))
    return [_event(alert.alert_id, due.level, staff_id, now) for staff_id in notified]


def unacknowledged_alerts(session: Session, policy: EscalationPolicy) -> list[LedgerAlert]:
    """Alerts that could still escalate: unacknowledged, of an escalating severity, below the last level."""
    query = sa.select(LedgerAlert).where(LedgerAlert.acknowledged_at.is_(None),
                                         LedgerAlert.severity.in_(tuple(policy.wait)),
                                         LedgerAlert.escalation_level < policy.levels)
    return list(session.scalars(query))


def run_escalations(session: Session, now: datetime, settings: Settings) -> EscalationRun:
    """Escalate every alert due at `now` under the settings' policy (flushed, not committed).

    The caller commits, then publishes `run.events` on the delivery topic; the new deliveries are
    pending rows that the dispatcher's sender sends like any other.
    """
    policy = EscalationPolicy.from_settings(settings)
    plan = parse_channel_plan(settings.channels_by_severity)
    run = EscalationRun()
    for due in due_escalations(unacknowledged_alerts(session, policy), now, policy):
        events = escalate(session, due, policy, now, plan)
        if events is not None:
            run.escalated.append(due)
            run.events.extend(events)
    return run
