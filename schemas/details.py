"""Typed details records of the source topics, one frozen dataclass per Avro details record."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.case_details import CaseSnapshot, LinkedVictim, OnCallShift, StaffMember  # noqa: F401 - re-exported
from schemas.enums import (
    BailKind,
    ChargeOutcome,
    ConditionKind,
    CourtOutcomeKind,
    CustodyReleaseType,
    HearingType,
    OffenceCategory,
    OrderType,
    PrisonReleaseType,
    Reporter,
    RiskLevel,
    SentenceCategory,
    WarrantReason,
)
from schemas.shared import Condition, LocationRef, Record

# --- incident


@dataclass(frozen=True, slots=True, kw_only=True)
class DomesticIncident(Record):
    """A domestic abuse incident reported to or attended by police."""

    incident_ref: str
    force_area: str
    victim_refs: tuple[str, ...] = ()
    location_ref: LocationRef | None = None
    offence_category: OffenceCategory
    injury: bool
    weapon: bool
    children_present: bool
    risk_level: RiskLevel | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Arrest(Record):
    """The person was arrested."""

    incident_ref: str | None = None
    force_area: str
    offence_category: OffenceCategory


@dataclass(frozen=True, slots=True, kw_only=True)
class CustodyRelease(Record):
    """The person was released from police custody."""

    custody_ref: str
    force_area: str
    release_type: CustodyReleaseType


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargeDecision(Record):
    """A charging decision was made."""

    incident_ref: str | None = None
    force_area: str
    decision: ChargeOutcome
    offence_category: OffenceCategory


# --- bail


@dataclass(frozen=True, slots=True, kw_only=True)
class BailGranted(Record):
    """Bail was granted, pre-charge by police or by a court."""

    bail_ref: str
    bail_kind: BailKind
    conditions: tuple[Condition, ...] = ()
    expires_at: datetime | None = None
    force_area: str | None = None
    court_code: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BailVaried(Record):
    """Bail conditions were changed."""

    bail_ref: str
    previous_conditions: tuple[Condition, ...] = ()
    conditions: tuple[Condition, ...] = ()
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BailRevoked(Record):
    """Bail was revoked."""

    bail_ref: str
    remanded: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class BailExpired(Record):
    """Bail came to its end."""

    bail_ref: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleasedUnderInvestigation(Record):
    """The person was released under investigation, without bail conditions."""

    force_area: str
    bail_ref: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Remanded(Record):
    """The person was remanded in custody."""

    bail_ref: str | None = None
    court_code: str | None = None
    until: datetime | None = None


# --- court


@dataclass(frozen=True, slots=True, kw_only=True)
class HearingListed(Record):
    """A court hearing was listed."""

    court_case_ref: str
    court_code: str
    hearing_at: datetime
    hearing_type: HearingType


@dataclass(frozen=True, slots=True, kw_only=True)
class CourtOutcome(Record):
    """The outcome of a hearing."""

    court_case_ref: str
    court_code: str
    outcome: CourtOutcomeKind
    sentence_category: SentenceCategory | None = None
    next_hearing_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderIssued(Record):
    """A protective notice or order was issued."""

    order_ref: str
    order_type: OrderType
    court_code: str | None = None
    conditions: tuple[Condition, ...] = ()
    starts_at: datetime
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderVaried(Record):
    """A protective order's conditions were changed."""

    order_ref: str
    order_type: OrderType
    previous_conditions: tuple[Condition, ...] = ()
    conditions: tuple[Condition, ...] = ()
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderDischarged(Record):
    """A protective order was discharged by a court."""

    order_ref: str
    order_type: OrderType


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderExpired(Record):
    """A protective order came to its end."""

    order_ref: str
    order_type: OrderType


@dataclass(frozen=True, slots=True, kw_only=True)
class WarrantIssued(Record):
    """A warrant was issued for the person."""

    court_case_ref: str | None = None
    court_code: str
    reason: WarrantReason


@dataclass(frozen=True, slots=True, kw_only=True)
class PrisonRelease(Record):
    """The person was released from prison."""

    prison_code: str
    release_type: PrisonReleaseType
    licence_conditions: tuple[Condition, ...] = ()
    licence_expires_at: datetime | None = None


# --- breach


@dataclass(frozen=True, slots=True, kw_only=True)
class BreachReported(Record):
    """A breach of a bail, order or licence condition was reported."""

    breach_ref: str
    condition_kind: ConditionKind
    condition_id: str | None = None
    bail_ref: str | None = None
    order_ref: str | None = None
    reported_by: Reporter
    protected_person_ref: str | None = None
    location_ref: LocationRef | None = None
    force_area: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EmZoneEntry(Record):
    """An electronically monitored person entered an exclusion zone."""

    device_ref: str
    zone_ref: str
    force_area: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EmZoneExit(Record):
    """An electronically monitored person left an exclusion zone."""

    device_ref: str
    zone_ref: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EmTagTamper(Record):
    """An EM tag reported tampering."""

    device_ref: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EmSignalLoss(Record):
    """An EM tag lost (restored=False) or regained (restored=True) its signal."""

    device_ref: str
    restored: bool


Details = (
    DomesticIncident | Arrest | CustodyRelease | ChargeDecision
    | BailGranted | BailVaried | BailRevoked | BailExpired | ReleasedUnderInvestigation | Remanded
    | HearingListed | CourtOutcome | OrderIssued | OrderVaried | OrderDischarged | OrderExpired | WarrantIssued
    | PrisonRelease
    | BreachReported | EmZoneEntry | EmZoneExit | EmTagTamper | EmSignalLoss
    | CaseSnapshot | StaffMember
)

DETAILS_CLASSES: dict[str, type] = {cls.__name__: cls for cls in Details.__args__}  # type: ignore[attr-defined]
