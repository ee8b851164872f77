"""One subject's multi-agency chronology from the ledger: agency events, alerts, deliveries and acknowledgements."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consumers.chronology.render import ChronologyEntry, render
from consumers.ledger.acks import recipient_acks_of
from consumers.ledger.models import NOBODY, AuditEntry, ChronologyEvent, Delivery, LedgerAlert, RecipientAck

# Audit actions that belong in a chronology (disclosures show as the deliveries themselves).
CHRONOLOGY_ACTIONS = ("ACKNOWLEDGED", "ACK_REPEATED", "ACK_REFUSED", "ESCALATED", "ESCALATION_ACKNOWLEDGED",
                      "RESENT", "RESEND_SKIPPED", "NO_DUTY_MANAGER")
_DETAIL_KEYS = ("reason", "level", "reach", "regarding", "notified", "resend", "of", "by", "through", "from",
                "first_by")


def _agency_events(session: Session, subject_id: str) -> list[ChronologyEntry]:
    rows = session.scalars(sa.select(ChronologyEvent).where(ChronologyEvent.subject_id == subject_id))
    return [ChronologyEntry(e.occurred_at, "AGENCY_EVENT", f"{e.agency} ({e.topic})", e.event_id, e.summary)
            for e in rows]


def _acknowledged(duties: list[RecipientAck]) -> str:
    """`acknowledged by A (SMS), B (ON_BEHALF by D); not acknowledged: C` as the ledger stands now."""
    done = [f"{k.staff_id} ({k.ack_via}" + (f" by {k.acknowledged_by})" if k.acknowledged_by != k.staff_id else ")")
            for k in duties if k.acknowledged_at is not None]
    never = [k.staff_id for k in duties if k.acknowledged_at is None]
    return "; ".join(part for part in (f"acknowledged by {', '.join(done)}" if done else "",
                                       f"not acknowledged: {', '.join(never)}" if never else "") if part)


def _alert_entries(session: Session, alerts: list[LedgerAlert]) -> list[ChronologyEntry]:
    duties: dict[str, list[RecipientAck]] = {}
    for duty in recipient_acks_of(session, [a.alert_id for a in alerts]):
        duties.setdefault(duty.alert_id, []).append(duty)
    entries = []
    for a in alerts:
        mine = duties.get(a.alert_id, [])
        roles = sorted(f"{k.staff_id} ({k.role})" for k in mine)
        acks = _acknowledged(mine)
        entries.append(ChronologyEntry(a.raised_at, "ALERT", "drive-alerts", f"{a.ack_code} / {a.alert_id}",
                                       f"{a.severity} {a.rule}; to {', '.join(roles) or 'nobody'}"
                                       + (f"; {acks}" if acks else "")))
    return entries


def _delivery_time(d: Delivery) -> datetime:
    return d.delivered_at or d.failed_at or d.sent_at or d.created_at


def _delivery_entries(deliveries: list[Delivery], codes: dict[str, str]) -> list[ChronologyEntry]:
    entries = []
    for d in deliveries:
        error = f", error {d.last_error}" if d.last_error else ""
        level = f" level {d.level}" if d.level else ""
        level += f" {d.resend}" if d.resend else ""
        about = f" about {d.regarding}" if d.regarding != NOBODY else ""
        entries.append(ChronologyEntry(_delivery_time(d), "DELIVERY", d.channel, codes.get(d.alert_id, d.alert_id),
                                       f"{d.purpose}{level} to {d.staff_id}{about}: {d.state}{error}"))
    return entries


_BY_STAFF = ("ACKNOWLEDGED", "ACK_REPEATED", "ACK_REFUSED", "ESCALATION_ACKNOWLEDGED")  # else the entry is about them


def _audit_summary(entry: AuditEntry) -> str:
    """`ACKNOWLEDGED by A via SMS`, `ACKNOWLEDGED for A by D via ON_BEHALF (...)`, `ESCALATED for A (level=1; ...)`."""
    detail = json.loads(entry.detail or "{}")
    by = detail.get("by")
    if not entry.staff_id:
        who = ""
    elif entry.action in _BY_STAFF and by in (None, entry.staff_id):
        who = f" by {entry.staff_id}"
    else:
        who = f" for {entry.staff_id}" + (f" by {by}" if by and by != entry.staff_id else "")
    way = detail.get("via") or entry.channel
    via = f" via {way}" if way and entry.action in _BY_STAFF else ""
    codes = "; ".join(f"{k}={', '.join(v) if isinstance(v, list) else v}" for k, v in sorted(detail.items())
                      if k in _DETAIL_KEYS and k != "by" and v is not None and v != entry.staff_id)
    return f"{entry.action}{who}{via}" + (f" ({codes})" if codes else "")


def _audit_entries(session: Session, subject_id: str, codes: dict[str, str]) -> list[ChronologyEntry]:
    rows = session.scalars(sa.select(AuditEntry).where(AuditEntry.subject_id == subject_id,
                                                       AuditEntry.action.in_(CHRONOLOGY_ACTIONS)))
    return [ChronologyEntry(e.at, e.action, "drive-alerts", codes.get(e.alert_id or "", e.alert_id or ""),
                            _audit_summary(e)) for e in rows]


def chronology_entries(session: Session, subject_id: str) -> list[ChronologyEntry]:
    """Every agency event, alert, delivery, ack and escalation recorded for one subject (unordered)."""
    alerts = list(session.scalars(sa.select(LedgerAlert).where(LedgerAlert.subject_id == subject_id)))
    codes = {a.alert_id: a.ack_code for a in alerts}
    deliveries = list(session.scalars(sa.select(Delivery).where(Delivery.alert_id.in_(codes)))) if codes else []
    return (_agency_events(session, subject_id) + _alert_entries(session, alerts)
            + _delivery_entries(deliveries, codes) + _audit_entries(session, subject_id, codes))


def subject_chronology(session: Session, subject_id: str, fmt: str = "markdown",
                       generated_at: datetime | None = None) -> str:
    """The subject's chronology rendered as Markdown or HTML."""
    return render(fmt, subject_id, chronology_entries(session, subject_id), generated_at or datetime.now(UTC))
