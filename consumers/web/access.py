"""Who sees which alert, and what of it: read from the ledger (the texts exactly as sent), never rebuilt.

A case manager sees the alerts about the subjects they hold and those addressed to them; an IDVA only the alerts
addressed to them, and of those only their own messages and duty, the case manager's and the duty managers' told
about them (never another client's IDVA); a duty manager every alert, listing the open escalations and what was
sent to them. A programme lead sees what their role sees, and may open every subject's chronology.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consumers.ledger.acks import how_acknowledged, recipient_acks_of, role_words
from consumers.ledger.caseload import subjects_of
from consumers.ledger.models import NOBODY, AlertRecipientRow, Delivery, LedgerAlert, RecipientAck, alert_by_ack_code
from consumers.web.sessions import Viewer
from runtime.db import as_utc
from schemas.enums import Severity, StaffRole

CASE_MANAGER, IDVA, DUTY_MANAGER = (StaffRole.CASE_MANAGER.value, StaffRole.IDVA.value,
                                    StaffRole.DUTY_MANAGER.value)
SEVERITIES = tuple(s.value for s in Severity if s is not Severity.UNKNOWN)  # most severe first
SEVERITY_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES)}
RECENT_CLOSED = 30  # acknowledged alerts listed below the open ones
OUTCOME_RANK = {"delivered": 0, "sent": 1, "sending": 2, "pending": 3, "failed": 4}


@dataclass(frozen=True, slots=True)
class Told:
    """One person told about the alert: how (channels and outcomes) and when first."""

    staff_id: str
    role: str
    how: str  # "SMS delivered, EMAIL sent"
    at: datetime | None
    why: str  # "alert", "escalation about staff-cm-01", ...


@dataclass(frozen=True, slots=True)
class Duty:
    """One recipient's duty to acknowledge, as the viewer may see it."""

    staff_id: str
    role: str
    acknowledged_at: datetime | None
    how: str  # "via SMS", "for them by staff-dm-01 (SPOKE_TO_RECIPIENT)", ""
    escalation_level: int
    taken_by: str | None


@dataclass
class Card:
    """One alert as one viewer sees it."""

    alert: LedgerAlert
    text: str  # what the viewer was sent (the SMS body), or what the alert said to its case manager
    note: str | None  # the escalation or failover message a duty manager was sent, when there is one
    told: list[Told]
    duties: list[Duty]
    mine: Duty | None
    is_open: bool
    can_take: bool = False  # a duty manager told by escalation may take it
    on_behalf: list[str] = field(default_factory=list)  # open duties a duty manager may acknowledge for
    chronology: bool = False

    @property
    def code(self) -> str:
        return self.alert.ack_code

    def sort_key(self) -> tuple[int, int, float]:
        raised = as_utc(self.alert.raised_at).timestamp()
        return (0 if self.is_open else 1, SEVERITY_RANK.get(self.alert.severity, 9), raised if self.is_open
                else -raised)


def may_open_chronology(db: Session, viewer: Viewer, subject_id: str) -> bool:
    """The subject's case manager, or a programme lead."""
    return viewer.programme_lead or (viewer.role == CASE_MANAGER and subject_id in subjects_of(db, viewer.staff_id))


def _may_see(db: Session, viewer: Viewer, alert: LedgerAlert) -> bool:
    if viewer.programme_lead or viewer.role == DUTY_MANAGER:
        return True
    if db.get(RecipientAck, (alert.alert_id, viewer.staff_id)) is not None:
        return True
    return viewer.role == CASE_MANAGER and alert.subject_id in subjects_of(db, viewer.staff_id)


def _listed_ids(db: Session, viewer: Viewer) -> set[str]:
    ids = set(db.scalars(sa.select(RecipientAck.alert_id).where(RecipientAck.staff_id == viewer.staff_id)))
    if viewer.role == CASE_MANAGER:
        subjects = subjects_of(db, viewer.staff_id)
        if subjects:
            ids |= set(db.scalars(sa.select(LedgerAlert.alert_id).where(LedgerAlert.subject_id.in_(subjects))))
    elif viewer.role == DUTY_MANAGER:
        ids |= set(db.scalars(sa.select(Delivery.alert_id).where(Delivery.staff_id == viewer.staff_id)))
        ids |= set(db.scalars(sa.select(RecipientAck.alert_id).where(RecipientAck.escalation_level > 0)))
    return ids


def _duty(k: RecipientAck) -> Duty:
    return Duty(k.staff_id, role_words(k.role), k.acknowledged_at, how_acknowledged(k), k.escalation_level or 0,
                k.escalation_acked_by)


def _told(deliveries: list[Delivery], roles: dict[str, str]) -> list[Told]:
    grouped: dict[tuple[str, str], list[Delivery]] = {}
    for d in deliveries:
        why = "alert" if d.regarding == NOBODY else f"{d.purpose.lower()} about {d.regarding}"
        grouped.setdefault((d.staff_id, why), []).append(d)
    told = []
    for (staff_id, why), rows in grouped.items():
        best: dict[str, str] = {}
        for d in rows:
            if OUTCOME_RANK.get(d.state, 9) < OUTCOME_RANK.get(best.get(d.channel, ""), 10):
                best[d.channel] = d.state
        sent = [as_utc(d.sent_at) for d in rows if d.sent_at is not None]
        told.append(Told(staff_id, role_words(roles.get(staff_id, DUTY_MANAGER)),
                         ", ".join(f"{c} {s}" for c, s in sorted(best.items())), min(sent, default=None), why))
    return sorted(told, key=lambda t: (t.at is None, t.at or datetime.max, t.staff_id))


def _first_body(rows: list[Delivery], staff_id: str, purposes: tuple[str, ...]) -> str | None:
    for channel in ("SMS", "EMAIL"):
        for d in rows:
            if d.staff_id == staff_id and d.channel == channel and d.purpose in purposes and d.resend == 0:
                return d.body
    return None


def _text(viewer: Viewer, alert_rows: list[AlertRecipientRow], deliveries: list[Delivery]) -> str:
    """The viewer's own message; else the case manager's (what the alert says); else a recipient's text."""
    own = _first_body(deliveries, viewer.staff_id, ("ALERT",))
    if own is not None:
        return own
    mine = [r.text for r in alert_rows if r.staff_id == viewer.staff_id]
    if mine:
        return " / ".join(mine)
    managers = [r for r in alert_rows if r.role == CASE_MANAGER]
    for row in managers or alert_rows:
        return _first_body(deliveries, row.staff_id, ("ALERT",)) or row.text
    return ""


def _is_open(mine: Duty | None, open_duties: list[RecipientAck], is_manager: bool) -> bool:
    """Open for the viewer: their own duty unacknowledged; for a duty manager who is no recipient, an escalation
    nobody has taken; for a case manager who is none, anyone's duty unacknowledged."""
    if mine is not None:
        return mine.acknowledged_at is None
    if is_manager:
        return any(k.escalation_level and k.escalation_acked_at is None for k in open_duties)
    return bool(open_duties)


def _card(viewer: Viewer, alert: LedgerAlert, duties: list[RecipientAck], deliveries: list[Delivery],
          rows: list[AlertRecipientRow], chronology: bool) -> Card:
    roles = {k.staff_id: k.role for k in duties}
    if viewer.role == IDVA and not viewer.programme_lead:
        # Another client's IDVA, their duty and the escalations about them are that client's information.
        keep = {viewer.staff_id} | {s for s, r in roles.items() if r == CASE_MANAGER}
        duties = [k for k in duties if k.staff_id in keep]
        deliveries = [d for d in deliveries if d.staff_id in keep or d.regarding in keep]
        rows = [r for r in rows if r.staff_id in keep]
    mine = next((_duty(k) for k in duties if k.staff_id == viewer.staff_id), None)
    open_duties = [k for k in duties if k.acknowledged_at is None]
    is_manager = viewer.role == DUTY_MANAGER
    told_about = {d.regarding for d in deliveries if d.staff_id == viewer.staff_id and d.regarding != NOBODY}
    card = Card(alert, _text(viewer, rows, deliveries),
                _first_body(deliveries, viewer.staff_id, ("ESCALATION", "FAILOVER")) if is_manager else None,
                _told(deliveries, roles), [_duty(k) for k in duties], mine,
                is_open=_is_open(mine, open_duties, is_manager), chronology=chronology)
    if is_manager:
        card.can_take = any(k.staff_id in told_about and k.escalation_acked_at is None for k in open_duties)
        card.on_behalf = [k.staff_id for k in open_duties if k.staff_id != viewer.staff_id]
    return card


def _cards(db: Session, viewer: Viewer, alerts: list[LedgerAlert]) -> list[Card]:
    ids = [a.alert_id for a in alerts]
    if not ids:
        return []
    duties: dict[str, list[RecipientAck]] = {}
    for k in recipient_acks_of(db, ids):
        duties.setdefault(k.alert_id, []).append(k)
    deliveries: dict[str, list[Delivery]] = {}
    for d in db.scalars(sa.select(Delivery).where(Delivery.alert_id.in_(ids)).order_by(Delivery.id)):
        deliveries.setdefault(d.alert_id, []).append(d)
    rows: dict[str, list[AlertRecipientRow]] = {}
    for r in db.scalars(sa.select(AlertRecipientRow).where(AlertRecipientRow.alert_id.in_(ids))
                        .order_by(AlertRecipientRow.id)):
        rows.setdefault(r.alert_id, []).append(r)
    held = subjects_of(db, viewer.staff_id) if viewer.role == CASE_MANAGER else set()
    return [_card(viewer, a, duties.get(a.alert_id, []), deliveries.get(a.alert_id, []), rows.get(a.alert_id, []),
                  viewer.programme_lead or a.subject_id in held) for a in alerts]


def my_alerts(db: Session, viewer: Viewer) -> list[Card]:
    """The viewer's alerts: every open one (by severity, oldest first), then the latest acknowledged ones."""
    ids = _listed_ids(db, viewer)
    if not ids:
        return []
    alerts = list(db.scalars(sa.select(LedgerAlert).where(LedgerAlert.alert_id.in_(ids))))
    cards = sorted(_cards(db, viewer, alerts), key=Card.sort_key)
    open_cards = [c for c in cards if c.is_open]
    return open_cards + [c for c in cards if not c.is_open][:RECENT_CLOSED]


def alert_card(db: Session, viewer: Viewer, code: str) -> Card | None:
    """One alert (by ack code or id) as the viewer sees it; None when it does not exist OR they may not see it, so
    that a refusal never confirms that an alert exists."""
    text = code.strip()
    if not text or len(text) > 160:
        return None
    alert = alert_by_ack_code(db, text) or db.get(LedgerAlert, text)
    if alert is None or not _may_see(db, viewer, alert):
        return None
    return _cards(db, viewer, [alert])[0]
