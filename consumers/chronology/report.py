"""One subject's multi-agency chronology from the ledger: agency events, alerts, deliveries and acknowledgements."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consumers.chronology.render import ChronologyEntry, render
from consumers.ledger.models import AuditEntry, ChronologyEvent, Delivery, LedgerAlert, recipients_of

# Audit actions that belong in a chronology (disclosures show as the deliveries themselves).
CHRONOLOGY_ACTIONS = ("ACKNOWLEDGED", "ACK_REPEATED", "ACK_REFUSED", "ESCALATED", "NO_DUTY_MANAGER")


def _agency_events(session: Session, subject_id: str) -> list[ChronologyEntry]:
    rows = session.scalars(sa.select(ChronologyEvent).where(ChronologyEvent.subject_id == subject_id))
    return [ChronologyEntry(e.occurred_at, "AGENCY_EVENT", f"{e.agency} ({e.topic})", e.event_id, e.summary)
            for e in rows]


def _alert_entries(session: Session, alerts: list[LedgerAlert]) -> list[ChronologyEntry]:
    entries = []
    for a in alerts:
        roles = sorted({f"{r.staff_id} ({r.role})" for r in recipients_of(session, a.alert_id)})
        entries.append(ChronologyEntry(a.raised_at, "ALERT", "drive-alerts", f"{a.ack_code} / {a.alert_id}",
                                       f"{a.severity} {a.rule}; to {', '.join(roles) or 'nobody'}"))
    return entries


def _delivery_time(d: Delivery) -> datetime:
    return d.delivered_at or d.failed_at or d.sent_at or d.created_at


def _delivery_entries(deliveries: list[Delivery], codes: dict[str, str]) -> list[ChronologyEntry]:
    entries = []
    for d in deliveries:
        error = f", error {d.last_error}" if d.last_error else ""
        level = f" level {d.level}" if d.level else ""
        entries.append(ChronologyEntry(_delivery_time(d), "DELIVERY", d.channel, codes.get(d.alert_id, d.alert_id),
                                       f"{d.purpose}{level} to {d.staff_id}: {d.state}{error}"))
    return entries


def _audit_summary(entry: AuditEntry) -> str:
    detail = json.loads(entry.detail or "{}")
    who = f" by {entry.staff_id}" if entry.staff_id else ""
    via = f" via {entry.channel}" if entry.channel else ""
    codes = "; ".join(f"{k}={v}" for k, v in sorted(detail.items())
                      if k in ("reason", "level", "reach", "notified", "from", "first_by") and v is not None)
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
