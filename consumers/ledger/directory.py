"""The staff directory: registry snapshots in (staff, and the caseload), contacts and on-call duty managers out."""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consumers.ledger.caseload import upsert_case, upsert_cases
from consumers.ledger.columns import utcnow
from consumers.ledger.models import Staff
from schemas.case_details import CaseSnapshot
from schemas.enums import CaseEventType, StaffRole
from schemas.events import Event, StaffMember

DUTY_MANAGER = StaffRole.DUTY_MANAGER.value


@dataclass(frozen=True, slots=True)
class Contact:
    """How to reach one staff member: only ever from the registry."""

    staff_id: str
    role: str
    phone_e164: str | None
    email: str | None
    active: bool

    @property
    def reachable(self) -> bool:
        """Active with at least one channel."""
        return self.active and bool(self.phone_e164 or self.email)


def upsert_staff(session: Session, staff_member: StaffMember, event_id: str, recorded_at: datetime,
                 now: datetime | None = None) -> bool:
    """Apply a STAFF_UPDATED snapshot unless a later one is already applied; True when applied."""
    row = session.get(Staff, staff_member.staff_id)
    if row is not None and row.recorded_at > recorded_at:
        return False
    values = dict(role=staff_member.role.value, phone_e164=staff_member.phone_e164, email=staff_member.email,
                  active=staff_member.active, source_event_id=event_id, recorded_at=recorded_at,
                  updated_at=now or utcnow(),
                  on_call=json.dumps([[s.starts_at.isoformat(), s.ends_at.isoformat()]
                                      for s in staff_member.on_call]))
    if row is None:
        session.add(Staff(staff_id=staff_member.staff_id, **values))
    else:
        for name, value in values.items():
            setattr(row, name, value)
    session.flush()
    return True


def apply_case_events(session: Session, events: Iterable[Event], now: datetime | None = None) -> None:
    """apply_case_event for a batch: the case snapshots in bulk (the registry's catch-up is thousands of them)."""
    snapshots = []
    for event in events:
        if isinstance(event.details, CaseSnapshot):
            snapshots.append((event.details, event.event_id, event.recorded_at))
        else:
            apply_case_event(session, event, now)
    upsert_cases(session, snapshots, now)


def apply_case_event(session: Session, event: Event, now: datetime | None = None) -> bool:
    """Upsert the staff member of a STAFF_UPDATED event, or the caseload entry of a case snapshot; True when applied."""
    if isinstance(event.details, CaseSnapshot):
        return upsert_case(session, event.details, event.event_id, event.recorded_at, now)
    if event.event_type != CaseEventType.STAFF_UPDATED or not isinstance(event.details, StaffMember):
        return False
    return upsert_staff(session, event.details, event.event_id, event.recorded_at, now)


def _contact(row: Staff) -> Contact:
    return Contact(staff_id=row.staff_id, role=row.role, phone_e164=row.phone_e164, email=row.email,
                   active=row.active)


def contact(session: Session, staff_id: str) -> Contact | None:
    """The registry contact of a staff member, or None when the registry does not know them."""
    row = session.get(Staff, staff_id)
    return _contact(row) if row is not None else None


def on_call_at(on_call_json: str, now: datetime) -> bool:
    """True when one of the shifts ([starts_at, ends_at) ISO pairs) covers `now`."""
    for starts_at, ends_at in json.loads(on_call_json or "[]"):
        if datetime.fromisoformat(starts_at) <= now < datetime.fromisoformat(ends_at):
            return True
    return False


def duty_managers_on_call(session: Session, now: datetime) -> list[Contact]:
    """Active duty managers with a shift covering `now`, ordered by staff id."""
    rows = session.scalars(sa.select(Staff).where(Staff.role == DUTY_MANAGER, Staff.active.is_(True))
                           .order_by(Staff.staff_id))
    return [_contact(row) for row in rows if on_call_at(row.on_call, now)]


def active_duty_managers(session: Session) -> list[Contact]:
    """Every active duty manager, on call or not, ordered by staff id (the last resort of escalation)."""
    rows = session.scalars(sa.select(Staff).where(Staff.role == DUTY_MANAGER, Staff.active.is_(True))
                           .order_by(Staff.staff_id))
    return [_contact(row) for row in rows]


def staff_by_email(session: Session, email: str) -> Staff | None:
    """The one active staff member registered with this e-mail (any case); None when none, or several, are."""
    rows = list(session.scalars(sa.select(Staff).where(sa.func.lower(Staff.email) == email.strip().lower(),
                                                       Staff.active.is_(True)).limit(2)))
    return rows[0] if len(rows) == 1 else None
