""""Who was told what, when": disclosures from the ledger by subject, alert or recipient, and the audit log."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consumers.ledger.acks import recipient_acks_of
from consumers.ledger.models import NOBODY, AlertRecipientRow, AuditEntry, Delivery, LedgerAlert, RecipientAck, Staff


def _json_line(row: Any) -> str:
    return json.dumps({k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(row).items()})


@dataclass(frozen=True, slots=True)
class Disclosure:
    """One message to one staff member: what it said, how it went, and the acknowledgement of the duty it is about
    (the recipient's own; for a duty manager's escalation or failover message, the recipient it names)."""

    at: datetime  # when it left (sent_at), or when it was queued if it never left
    alert_code: str
    alert_id: str
    rule: str
    severity: str
    subject_id: str
    staff_id: str
    role: str
    channel: str
    level: int
    purpose: str
    resend: int
    regarding: str | None
    body: str
    outcome: str
    outcome_at: datetime | None
    error: str | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    ack_via: str | None

    def to_json(self) -> str:
        """One JSON line (timestamps ISO-8601 UTC)."""
        return _json_line(self)


def _alert_filter(query: Any, *, subject_id: str | None, alert: str | None) -> Any:
    if subject_id is not None:
        query = query.where(LedgerAlert.subject_id == subject_id)
    if alert is not None:
        query = query.where(sa.or_(LedgerAlert.alert_id == alert, LedgerAlert.ack_code == alert.strip().upper()))
    return query


def disclosures(session: Session, *, subject_id: str | None = None, alert: str | None = None,
                staff_id: str | None = None) -> list[Disclosure]:
    """Every delivery matching all given filters (alert by id or ack code), in time order."""
    query = sa.select(Delivery, LedgerAlert).join(LedgerAlert, LedgerAlert.alert_id == Delivery.alert_id)
    query = _alert_filter(query, subject_id=subject_id, alert=alert)
    if staff_id is not None:
        query = query.where(Delivery.staff_id == staff_id)
    pairs = session.execute(query).tuples().all()
    alert_ids = {a.alert_id for _, a in pairs}
    roles = {(a, s): r for a, s, r in session.execute(
        sa.select(AlertRecipientRow.alert_id, AlertRecipientRow.staff_id, AlertRecipientRow.role)
        .where(AlertRecipientRow.alert_id.in_(alert_ids)))} if pairs else {}
    staff_roles = dict(session.execute(sa.select(Staff.staff_id, Staff.role).where(
        Staff.staff_id.in_({d.staff_id for d, _ in pairs}))).tuples().all()) if pairs else {}
    acks = {(k.alert_id, k.staff_id): k for k in recipient_acks_of(session, alert_ids)}
    found = []
    for d, a in pairs:
        regarding = None if d.regarding == NOBODY else d.regarding
        duty = acks.get((a.alert_id, regarding or d.staff_id))
        found.append(Disclosure(
            at=d.sent_at or d.created_at, alert_code=a.ack_code, alert_id=a.alert_id, rule=a.rule,
            severity=a.severity, subject_id=a.subject_id, staff_id=d.staff_id,
            role=roles.get((a.alert_id, d.staff_id)) or staff_roles.get(d.staff_id, "?"), channel=d.channel,
            level=d.level, purpose=d.purpose, resend=d.resend, regarding=regarding, body=d.body, outcome=d.state,
            outcome_at=d.delivered_at or d.failed_at or d.sent_at, error=d.last_error,
            acknowledged_at=duty.acknowledged_at if duty else None,
            acknowledged_by=duty.acknowledged_by if duty else None, ack_via=duty.ack_via if duty else None))
    return sorted(found, key=lambda x: (x.at, x.alert_id, x.level, x.resend, x.staff_id, x.channel))


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """One recipient's duty to acknowledge one alert: whether, when, by whom and how; how far it escalated."""

    alert_code: str
    alert_id: str
    rule: str
    severity: str
    subject_id: str
    received_at: datetime
    staff_id: str
    role: str
    acknowledged_at: datetime | None
    acknowledged_by: str | None  # the recipient, or the duty manager who acknowledged on their behalf
    ack_via: str | None  # SMS, LINK, WEB or ON_BEHALF
    ack_reason: str | None
    seconds_to_acknowledge: float | None
    escalation_level: int
    escalation_acked_by: str | None
    resends: int

    def to_json(self) -> str:
        """One JSON line (timestamps ISO-8601 UTC)."""
        return _json_line(self)


def acknowledgements(session: Session, *, subject_id: str | None = None, alert: str | None = None,
                     staff_id: str | None = None) -> list[Acknowledgement]:
    """Each recipient's acknowledgement of each alert matching all given filters, by alert time then staff id."""
    query = sa.select(RecipientAck, LedgerAlert).join(LedgerAlert, LedgerAlert.alert_id == RecipientAck.alert_id)
    query = _alert_filter(query, subject_id=subject_id, alert=alert)
    if staff_id is not None:
        query = query.where(sa.or_(RecipientAck.staff_id == staff_id, RecipientAck.acknowledged_by == staff_id))
    rows = session.execute(query.order_by(LedgerAlert.received_at, LedgerAlert.alert_id,
                                          RecipientAck.staff_id)).tuples().all()
    return [Acknowledgement(
        alert_code=a.ack_code, alert_id=a.alert_id, rule=a.rule, severity=a.severity, subject_id=a.subject_id,
        received_at=a.received_at, staff_id=k.staff_id, role=k.role, acknowledged_at=k.acknowledged_at,
        acknowledged_by=k.acknowledged_by, ack_via=k.ack_via, ack_reason=k.ack_reason,
        seconds_to_acknowledge=(k.acknowledged_at - a.received_at).total_seconds() if k.acknowledged_at else None,
        escalation_level=k.escalation_level, escalation_acked_by=k.escalation_acked_by, resends=k.resends)
        for k, a in rows]


def audit_log(session: Session, *, subject_id: str | None = None, alert: str | None = None,
              staff_id: str | None = None) -> list[AuditEntry]:
    """The raw audit records matching all given filters (alert by id or ack code), in the order written."""
    query = sa.select(AuditEntry)
    if alert is not None:
        by_code = session.scalar(sa.select(LedgerAlert.alert_id).where(LedgerAlert.ack_code == alert.strip().upper()))
        query = query.where(AuditEntry.alert_id.in_({alert, by_code} - {None}))
    for column, value in ((AuditEntry.subject_id, subject_id), (AuditEntry.staff_id, staff_id)):
        if value is not None:
            query = query.where(column == value)
    return list(session.scalars(query.order_by(AuditEntry.id)))


def _when(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if at else "-"


def acknowledged_text(at: datetime | None, by: str | None, via: str | None, staff_id: str) -> str:
    """`<time> via SMS`, `<time> by <duty manager> ON_BEHALF`, or `no`."""
    if at is None:
        return "no"
    return f"{_when(at)} " + (f"via {via}" if by in (None, staff_id) else f"by {by} {via}")


TABLE_COLUMNS = ("time (UTC)", "alert", "rule", "sev", "subject", "recipient", "role", "channel", "lvl",
                 "outcome", "acknowledged", "disclosed")


def _cells(d: Disclosure) -> tuple[str, ...]:
    outcome = d.outcome + (f" {d.error}" if d.error else "") + (f" {_when(d.outcome_at)}" if d.outcome_at else "")
    whose = d.regarding or d.staff_id
    acked = acknowledged_text(d.acknowledged_at, d.acknowledged_by, d.ack_via, whose)
    acked = f"{whose}: {acked}" if d.regarding else acked
    level = str(d.level) + (f" r{d.resend}" if d.resend else "")
    return (_when(d.at), d.alert_code, d.rule, d.severity, d.subject_id, d.staff_id, d.role, d.channel,
            level, outcome, acked, " ".join(d.body.split()))


def format_table(rows: list[Disclosure]) -> str:
    """A readable fixed-width table, one line per disclosure, the disclosed text last."""
    if not rows:
        return "no disclosures found\n"
    return _table([TABLE_COLUMNS] + [_cells(r) for r in rows], last_free=True)


def _table(cells: list[tuple[str, ...]], last_free: bool = False) -> str:
    fixed = len(cells[0]) - 1 if last_free else len(cells[0])
    widths = [max(len(c[i]) for c in cells) for i in range(fixed)]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(fixed)) + ("  " + c[-1] if last_free else "")
             for c in cells]
    return "\n".join(line.rstrip() for line in lines) + "\n"


ACK_COLUMNS = ("received (UTC)", "alert", "rule", "sev", "subject", "recipient", "role", "acknowledged", "reason",
               "escalated to", "re-sent")


def format_acknowledgements(rows: list[Acknowledgement], as_json: bool) -> str:
    """Who acknowledged, when and how, and who never did: JSON lines or a table."""
    if as_json:
        return "".join(r.to_json() + "\n" for r in rows)
    if not rows:
        return "no acknowledgements found\n"
    cells = [ACK_COLUMNS] + [(
        _when(r.received_at), r.alert_code, r.rule, r.severity, r.subject_id, r.staff_id, r.role,
        acknowledged_text(r.acknowledged_at, r.acknowledged_by, r.ack_via, r.staff_id), r.ack_reason or "-",
        (f"level {r.escalation_level}" if r.escalation_level else "-")
        + (f" (taken by {r.escalation_acked_by})" if r.escalation_acked_by else ""), str(r.resends))
        for r in rows]
    return _table(cells)


def format_json_lines(rows: list[Disclosure]) -> str:
    """One JSON object per line."""
    return "".join(r.to_json() + "\n" for r in rows)


def format_audit_log(entries: list[AuditEntry], as_json: bool) -> str:
    """The raw audit records, as JSON lines or one readable line each."""
    if as_json:
        return "".join(json.dumps({"id": e.id, "at": e.at.isoformat(), "action": e.action, "alert_id": e.alert_id,
                                   "subject_id": e.subject_id, "staff_id": e.staff_id, "channel": e.channel,
                                   "delivery_id": e.delivery_id, "detail": json.loads(e.detail or "{}")}) + "\n"
                       for e in entries)
    return "".join(f"{_when(e.at)}  {e.action:<16} alert={e.alert_id or '-'} staff={e.staff_id or '-'} "
                   f"channel={e.channel or '-'} {e.detail}\n" for e in entries) or "no audit records found\n"
