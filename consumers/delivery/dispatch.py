"""Alert -> ledger: record the alert, then one guarded delivery row per recipient and channel; failover planning."""
from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from consumers import ledger
from consumers.delivery.channels import EMAIL, SMS
from consumers.delivery.render import MessageFacts, failover_text, render_email_body, render_sms
from consumers.ledger import directory
from consumers.ledger.directory import Contact
from consumers.ledger.models import Delivery, LedgerAlert
from runtime.logging import get_logger
from schemas.events import Alert

log = get_logger(__name__)
ChannelPlan = dict[str, tuple[str, ...]]
DEFAULT_PLAN = "CRITICAL=SMS+EMAIL,HIGH=SMS+EMAIL,MEDIUM=EMAIL,LOW=EMAIL"
ALERT, FAILOVER, ESCALATION, RESEND = "ALERT", "FAILOVER", "ESCALATION", "RESEND"


def parse_channel_plan(spec: str) -> ChannelPlan:
    """'CRITICAL=SMS+EMAIL,MEDIUM=EMAIL' -> {'CRITICAL': ('SMS', 'EMAIL'), 'MEDIUM': ('EMAIL',)}."""
    plan: ChannelPlan = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        severity, _, channels = part.partition("=")
        chosen = tuple(c.strip().upper() for c in channels.split("+") if c.strip())
        if not chosen or any(c not in (SMS, EMAIL) for c in chosen):
            raise ValueError(f"channel plan entry {part!r}: channels must be SMS and/or EMAIL")
        plan[severity.strip().upper()] = chosen
    return plan


def channels_for(plan: ChannelPlan, severity: str) -> tuple[str, ...]:
    """The planned channels of a severity (e-mail when the plan does not name it)."""
    return plan.get(severity, (EMAIL,))


def destination(contact: Contact, channel: str) -> str | None:
    """The contact's phone for SMS, address for e-mail."""
    return contact.phone_e164 if channel == SMS else contact.email


def facts(alert: LedgerAlert, role: str, victim_refs: Sequence[str], texts: Sequence[str]) -> MessageFacts:
    """What a message about `alert` to someone in `role` may say."""
    return MessageFacts(alert_id=alert.alert_id, severity=alert.severity, rule=alert.rule, ack_code=alert.ack_code,
                        subject_id=alert.subject_id, role=role, victim_refs=tuple(victim_refs), texts=tuple(texts))


def _usable_channels(session: Session, alert: LedgerAlert, contact: Contact, planned: Sequence[str],
                     now: datetime) -> list[str]:
    """Planned channels the contact has; the other channel when they have none of the planned ones (audited)."""
    usable = [c for c in planned if destination(contact, c)]
    for missing in (c for c in planned if c not in usable):
        ledger.audit(session, "CHANNEL_UNAVAILABLE", at=now, alert_id=alert.alert_id, subject_id=alert.subject_id,
                     staff_id=contact.staff_id, channel=missing, detail={"reason": f"NO_{missing}_CONTACT"})
    if not usable:
        usable = [c for c in (SMS, EMAIL) if c not in planned and destination(contact, c)]
        for substitute in usable:
            ledger.audit(session, "CHANNEL_SUBSTITUTED", at=now, alert_id=alert.alert_id,
                         subject_id=alert.subject_id, staff_id=contact.staff_id, channel=substitute,
                         detail={"planned": list(planned)})
    return usable


def enqueue(session: Session, alert: LedgerAlert, contact: Contact, texts: Sequence[str], *, role: str,
            victim_refs: Sequence[str] = (), channels: Sequence[str], level: int, purpose: str, resend: int = 0,
            regarding: str | None = None, now: datetime) -> list[Delivery]:
    """Pending, guarded delivery rows for one staff member on the usable channels; existing ones are left alone.

    `resend` numbers a re-send of the same message; `regarding` names the recipient a duty manager's message is
    about (an escalation or a failover), so each such recipient gets their own message.
    """
    created = []
    for channel in _usable_channels(session, alert, contact, channels, now):
        message = facts(alert, role, victim_refs, texts)
        rendered = render_sms(message) if channel == SMS else render_email_body(message)
        row = ledger.add_delivery(session, alert_id=alert.alert_id, staff_id=contact.staff_id, channel=channel,
                                  level=level, purpose=purpose, destination=destination(contact, channel) or "",
                                  body=rendered.body, texts=list(texts), resend=resend, regarding=regarding, now=now)
        if row is None:
            continue
        created.append(row)
        if rendered.replaced:
            ledger.audit(session, "UNSAFE_TEXT_REPLACED", at=now, alert_id=alert.alert_id, subject_id=alert.subject_id,
                         staff_id=contact.staff_id, channel=channel, delivery_id=row.id,
                         detail={"unsafe_tokens": rendered.unsafe_count})
            log.warning("unsafe_text_replaced", alert_id=alert.alert_id, staff_id=contact.staff_id, channel=channel,
                        unsafe_tokens=rendered.unsafe_count)
    return created


def dispatch_alert(session: Session, alert: Alert, plan: ChannelPlan, now: datetime) -> bool:
    """Record the alert and plan its deliveries (not committed); False when it was already recorded."""
    if not ledger.record_alert(session, alert, now):
        return False
    row = ledger.get_alert(session, alert.alert_id)
    assert row is not None
    victims: dict[str, list[str]] = {}
    for r in alert.recipients:
        if r.victim_ref and r.victim_ref not in victims.setdefault(r.staff_id, []):
            victims[r.staff_id].append(r.victim_ref)
    for staff_id, (role, texts) in ledger.merged_recipients(alert).items():
        contact = directory.contact(session, staff_id)
        if contact is None or not contact.reachable:
            reason = "UNKNOWN_STAFF" if contact is None else ("INACTIVE" if not contact.active else "NO_CONTACT")
            ledger.audit(session, "RECIPIENT_UNREACHABLE", at=now, alert_id=row.alert_id, subject_id=row.subject_id,
                         staff_id=staff_id, detail={"reason": reason})
            notify_duty_managers(session, row, staff_id, role, level=0, plan=plan, now=now)
            continue
        enqueue(session, row, contact, texts, role=role, victim_refs=victims.get(staff_id, ()),
                channels=channels_for(plan, row.severity), level=0, purpose=ALERT, now=now)
    return True


def notify_duty_managers(session: Session, alert: LedgerAlert, staff_id: str, role: str, *, level: int,
                         plan: ChannelPlan, now: datetime) -> list[Delivery]:
    """Tell the duty managers on call that `staff_id` could not be reached (never the unreached one)."""
    managers = [m for m in directory.duty_managers_on_call(session, now) if m.staff_id != staff_id and m.reachable]
    if not managers:
        ledger.audit(session, "NO_DUTY_MANAGER", at=now, alert_id=alert.alert_id, subject_id=alert.subject_id,
                     staff_id=staff_id, detail={"level": level})
        log.error("no_duty_manager_on_call", alert_id=alert.alert_id, unreached=staff_id)
        return []
    text = failover_text(alert.ack_code, role, staff_id)
    created = []
    for manager in managers:
        rows = enqueue(session, alert, manager, [text], role=manager.role, channels=channels_for(plan, alert.severity),
                       level=level, purpose=FAILOVER, regarding=staff_id, now=now)
        created += rows
        ledger.audit(session, "FAILED_OVER", at=now, alert_id=alert.alert_id, subject_id=alert.subject_id,
                     staff_id=manager.staff_id, detail={"unreached": staff_id, "to": "DUTY_MANAGER",
                                                        "deliveries": [r.id for r in rows]})
    return created


def fail_over(session: Session, failed: Delivery, plan: ChannelPlan, now: datetime) -> list[Delivery]:
    """After a permanent failure: the other channel of the same person, else the duty managers on call."""
    alert = ledger.get_alert(session, failed.alert_id)
    assert alert is not None
    contact = directory.contact(session, failed.staff_id)
    siblings = [d for d in ledger.deliveries_of(session, failed.alert_id, failed.staff_id)
                if (d.level, d.resend, d.regarding) == (failed.level, failed.resend, failed.regarding)]
    other = EMAIL if failed.channel == SMS else SMS
    if (contact is not None and contact.active and destination(contact, other)
            and not any(d.channel == other for d in siblings)):
        rows = enqueue(session, alert, contact, json.loads(failed.texts or "[]"), role=contact.role,
                       victim_refs=_victim_refs(session, failed), channels=(other,), level=failed.level,
                       purpose=FAILOVER, resend=failed.resend, regarding=failed.regarding, now=now)
        ledger.audit(session, "FAILED_OVER", at=now, alert_id=alert.alert_id, subject_id=alert.subject_id,
                     staff_id=failed.staff_id, channel=other, delivery_id=failed.id,
                     detail={"from": failed.channel, "to": other, "deliveries": [r.id for r in rows]})
        return rows
    if all(d.state == ledger.FAILED for d in siblings):
        role = contact.role if contact is not None else "staff"
        return notify_duty_managers(session, alert, failed.staff_id, role, level=failed.level, plan=plan, now=now)
    return []


def _victim_refs(session: Session, delivery: Delivery) -> list[str]:
    return [r.victim_ref for r in ledger.recipients_of(session, delivery.alert_id)
            if r.staff_id == delivery.staff_id and r.victim_ref]
