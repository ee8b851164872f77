"""Typed details records of the case topic (Drive's own registry): case snapshots and staff members."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.enums import CaseStatus, StaffRole
from schemas.shared import LocationRef, PersonId, Record


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkedVictim(Record):
    """A victim linked to a case, with their IDVA and what protects them."""

    victim_ref: str
    idva_id: str | None = None
    protected_person_refs: tuple[str, ...] = ()
    protected_locations: tuple[LocationRef, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseSnapshot(Record):
    """The whole current registry entry of one Drive case."""

    subject_id: str
    status: CaseStatus
    identifiers: tuple[PersonId, ...] = ()
    home_force_area: str
    case_manager_id: str
    victims: tuple[LinkedVictim, ...] = ()
    opened_at: datetime
    closed_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OnCallShift(Record):
    """A period when a duty manager is on call."""

    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class StaffMember(Record):
    """A member of staff who can receive alerts, with their contact details."""

    staff_id: str
    role: StaffRole
    phone_e164: str | None = None
    email: str | None = None
    active: bool
    on_call: tuple[OnCallShift, ...] = ()
