""""Who was told what, when": disclosures from the ledger by subject, alert or recipient, and the audit log."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consumers.ledger.models import AlertRecipientRow, AuditEntry, Delivery, LedgerAlert, Staff


@dataclass(frozen=True, slots=True)
class Disclosure:
    """One message to one staff member: what it said, how it went, and whether the alert was acknowledged."""

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
    body: str
    outcome: str
    outcome_at: datetime | None
    error: str | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None

    def to_json(self) -> str:
        """One JSON line (timestamps ISO-8601 UTC)."""
        return json.dumps({k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(self).items()},
                          sort_keys=False)


def _roles(session: Session, alert_ids: set[str]) -> dict[tuple[str, str], str]:
    rows = session.execute(sa.select(AlertRecipientRow.alert_id, AlertRecipientRow.staff_id, AlertRecipientRow.role)
                           .where(AlertRecipientRow.alert_id.in_(alert_ids))) if alert_ids else []
    return {(a, s): r for a, s, r in rows}


def disclosures(session: Session, *, subject_id: str | None = None, alert: str | None = None,
                staff_id: str | None = None) -> list[Disclosure]:
    """Every delivery matching all given filters (alert by id or ack code), in time order."""
    query = sa.select(Delivery, LedgerAlert).join(LedgerAlert, LedgerAlert.alert_id == Delivery.alert_id)
    if subject_id is not None:
        query = query.where(LedgerAlert.subject_id == subject_id)
    if alert is not None:
        query = query.where(sa.or_(LedgerAlert.alert_id == alert, LedgerAlert.ack_code == alert.strip().upper()))
    if staff_id is not None:
        query = query.where(Delivery.staff_id == staff_id)
    pairs = session.execute(query).tuples().all()
    roles = _roles(session, {a.alert_id for _, a in pairs})
    staff_roles = dict(session.execute(sa.select(Staff.staff_id, Staff.role)
                                       .where(Staff.staff_id.in_({d.staff_id for d, _ in pairs}))).tuples().all()) if pairs else {}
    found = [Disclosure(
        at=d.sent_at or d.created_at, alert_code=a.ack_code, alert_id=a.alert_id, rule=a.rule, severity=a.severity,
        subject_id=a.subject_id, staff_id=d.staff_id,
        role=roles.get((a.alert_id, d.staff_id)) or staff_roles.get(d.staff_id, "?"),
        channel=d.channel, level=d.level, purpose=d.purpose, body=d.body, outcome=d.state,
        outcome_at=d.delivered_at or d.failed_at or d.sent_at, error=d.last_error,
        acknowledged_at=a.acknowledged_at, acknowledged_by=a.acknowledged_by) for d, a in pairs]
    return sorted(found, key=lambda x: (x.at, x.alert_id, x.level, x.staff_id, x.channel))


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


TABLE_COLUMNS = ("time (UTC)", "alert", "rule", "sev", "subject", "recipient", "role", "channel", "lvl",
                 "outcome", "acknowledged", "disclosed")


def _cells(d: Disclosure) -> tuple[str, ...]:
    outcome = d.outcome + (f" {d.error}" if d.error else "") + (f" {_when(d.outcome_at)}" if d.outcome_at else "")
    acked = f"{_when(d.acknowledged_at)} by {d.acknowledged_by}" if d.acknowledged_at else "no"
    return (_when(d.at), d.alert_code, d.rule, d.severity, d.subject_id, d.staff_id, d.role, d.channel,
            str(d.level), outcome, acked, " ".join(d.body.split()))


def format_table(rows: list[Disclosure]) -> str:
    """A readable fixed-width table, one line per disclosure, the disclosed text last."""
    if not rows:
        return "no disclosures found\n"
    cells = [TABLE_COLUMNS] + [_cells(r) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(TABLE_COLUMNS) - 1)]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(len(widths))) + "  " + c[-1] for c in cells]
    return "\n".join(line.rstrip() for line in lines) + "\n"


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
