"""A batch of alerts into the ledger with a few bulk statements (SQLAlchemy Core), the common case of dispatch.

Every alert of the batch that is new, has a free acknowledgement code, and whose every recipient is reachable on
every planned channel with a body the guard accepts is written here: its row, its recipients, each recipient's
acknowledgement duty, its deliveries and its audit record — one INSERT per table for the whole batch. Anything
else (a recipient the registry does not know or cannot reach, a substituted channel, a replaced text, a code
collision, a concurrent dispatcher's insert) goes through dispatch.dispatch_alert one alert at a time, with the
same result as before.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consumers import ledger
from consumers.delivery.channels import SMS
from consumers.delivery.dispatch import ALERT, ChannelPlan, channels_for, destination, dispatch_alert
from consumers.delivery.render import MessageFacts, render_email_body, render_sms
from consumers.ledger import directory
from consumers.ledger.columns import ACK_CODE_LENGTH, ack_code_for
from consumers.ledger.models import NOBODY, AlertRecipientRow, AuditEntry, Delivery, LedgerAlert, RecipientAck, Staff
from schemas.events import Alert

Rows = dict[str, list[dict[str, Any]]]


def record_alerts(session: Session, alerts: Sequence[Alert], plan: ChannelPlan, now: datetime) -> list[Alert]:
    """Records the batch (not committed); the alerts that were new."""
    unique = list({a.alert_id: a for a in alerts}.values())
    known = set(session.scalars(sa.select(LedgerAlert.alert_id).where(
        LedgerAlert.alert_id.in_([a.alert_id for a in unique]))))
    fresh = [a for a in unique if a.alert_id not in known]
    codes = {a.alert_id: ack_code_for(a.alert_id, ACK_CODE_LENGTH) for a in fresh}
    taken = set(session.scalars(sa.select(LedgerAlert.ack_code).where(LedgerAlert.ack_code.in_(codes.values()))))
    contacts = _contacts(session, {r.staff_id for a in fresh for r in a.recipients})
    rows: Rows = {"alerts": [], "recipients": [], "acks": [], "deliveries": [], "audit": []}
    slow: list[Alert] = []
    for alert in fresh:
        code = codes[alert.alert_id]
        if code in taken or not _plan(alert, code, contacts, plan, now, rows):
            slow.append(alert)
        taken.add(code)
    recorded = [a for a in fresh if a not in slow]
    try:
        with session.begin_nested():
            _insert(session, rows)
    except IntegrityError:  # another dispatcher recorded some of them first: one at a time, each checked
        slow, recorded = fresh, []
    return recorded + [a for a in slow if dispatch_alert(session, a, plan, now)]


def _contacts(session: Session, staff_ids: set[str]) -> dict[str, directory.Contact]:
    found = session.scalars(sa.select(Staff).where(Staff.staff_id.in_(staff_ids))) if staff_ids else []
    return {row.staff_id: directory.Contact(row.staff_id, row.role, row.phone_e164, row.email, row.active)
            for row in found}


def _plan(alert: Alert, code: str, contacts: dict[str, directory.Contact], plan: ChannelPlan, now: datetime,
          rows: Rows) -> bool:
    """Adds the alert's rows; False (nothing added) when it needs the one-at-a-time path."""
    mine: Rows = {name: [] for name in rows}
    planned = channels_for(plan, alert.severity.value)
    victims: dict[str, list[str]] = {}
    for r in alert.recipients:
        if r.victim_ref and r.victim_ref not in victims.setdefault(r.staff_id, []):
            victims[r.staff_id].append(r.victim_ref)
    for staff_id, (role, texts) in ledger.merged_recipients(alert).items():
        contact = contacts.get(staff_id)
        if contact is None or not contact.reachable or any(not destination(contact, c) for c in planned):
            return False
        message = MessageFacts(alert.alert_id, alert.severity.value, alert.rule, code, alert.subject_id, role,
                               tuple(victims.get(staff_id, ())), tuple(texts))
        for channel in planned:
            rendered = render_sms(message) if channel == SMS else render_email_body(message)
            if rendered.replaced:
                return False
            mine["deliveries"].append(_delivery(alert, contact, channel, rendered.body, texts, now))
        mine["acks"].append({"alert_id": alert.alert_id, "staff_id": staff_id, "role": role, "escalation_level": 0,
                             "resends": 0})
    seen: set[tuple[str, str]] = set()
    for r in alert.recipients:
        key = (r.staff_id, r.victim_ref or "-")
        if key not in seen:
            seen.add(key)
            mine["recipients"].append({"alert_id": alert.alert_id, "staff_id": r.staff_id, "role": r.role.value,
                                       "victim_ref": r.victim_ref, "victim_key": key[1], "text": r.text})
    mine["alerts"].append({"alert_id": alert.alert_id, "rule": alert.rule, "severity": alert.severity.value,
                           "subject_id": alert.subject_id, "raised_at": alert.raised_at, "received_at": now,
                           "trigger_event_ids": json.dumps(list(alert.trigger_event_ids)),
                           "group_key": alert.group_key, "ack_code": code})
    mine["audit"].append({"at": now, "action": "ALERT_RECEIVED", "alert_id": alert.alert_id,
                          "subject_id": alert.subject_id, "staff_id": None, "channel": None, "delivery_id": None,
                          "detail": json.dumps({"recipients": len(seen), "rule": alert.rule,
                                                "severity": alert.severity.value}, sort_keys=True)})
    for name, added in mine.items():
        rows[name] += added
    return True


def _delivery(alert: Alert, contact: directory.Contact, channel: str, body: str, texts: list[str],
              now: datetime) -> dict[str, Any]:
    return {"alert_id": alert.alert_id, "staff_id": contact.staff_id, "channel": channel, "level": 0,
            "purpose": ALERT, "resend": 0, "regarding": NOBODY, "destination": destination(contact, channel) or "",
            "body": body, "texts": json.dumps(texts), "state": ledger.PENDING, "attempts": 0, "next_attempt_at": now,
            "created_at": now, "updated_at": now}


def _insert(session: Session, rows: Rows) -> None:
    """One executemany INSERT per table, parents first."""
    for model, name in ((LedgerAlert, "alerts"), (AlertRecipientRow, "recipients"), (RecipientAck, "acks"),
                        (Delivery, "deliveries"), (AuditEntry, "audit")):
        if rows[name]:
            session.execute(sa.insert(model.__table__), rows[name])
