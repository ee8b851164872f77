"""Per-subject correlation state: frozen records the rules read and the engine replaces, never mutates."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from schemas.enums import CaseStatus, ConditionKind, HearingType


class CustodyStatus(StrEnum):
    """Where the subject is, as far as the events tell."""

    IN_CUSTODY = "IN_CUSTODY"
    REMANDED = "REMANDED"
    IN_COMMUNITY = "IN_COMMUNITY"
    UNKNOWN = "UNKNOWN"


class SourceKind(StrEnum):
    """What imposed a condition."""

    BAIL = "BAIL"
    ORDER = "ORDER"
    LICENCE = "LICENCE"


@dataclass(frozen=True, slots=True)
class VictimLink:
    """A linked victim: their IDVA and what protects them (locations as "KIND:value")."""

    victim_ref: str
    idva_id: str | None = None
    protected_person_refs: tuple[str, ...] = ()
    protected_location_values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CaseInfo:
    """The registry part of the state: who is told, and the home force area."""

    status: CaseStatus
    case_manager_id: str
    home_force_area: str
    victims: tuple[VictimLink, ...] = ()

    @property
    def is_open(self) -> bool:
        """Only an open case receives alerts."""
        return self.status == CaseStatus.OPEN


@dataclass(frozen=True, slots=True)
class Custody:
    """Custody status and the event time it took effect."""

    status: CustodyStatus = CustodyStatus.UNKNOWN
    since: datetime | None = None


@dataclass(frozen=True, slots=True)
class ActiveCondition:
    """A known condition (active, future or ended within retention); location as "KIND:value"."""

    source_kind: SourceKind
    source_ref: str
    condition_id: str
    kind: ConditionKind
    starts_at: datetime
    ends_at: datetime | None = None  # the condition's own end, moved earlier when its source ends
    protected_person_ref: str | None = None
    location: str | None = None
    curfew: str | None = None  # "HH:MM-HH:MM"
    source_expires_at: datetime | None = None

    @property
    def end(self) -> datetime | None:
        """The effective end: the earlier of the condition's end and its source's expiry (None: open-ended)."""
        own, source = self.ends_at, self.source_expires_at
        if own is None or source is None:
            return source if own is None else own
        return own if own < source else source

    def active_at(self, t: datetime) -> bool:
        """In force at t: started, not yet ended (the end instant itself is outside)."""
        return self.starts_at <= t and (self.end is None or t < self.end)

    def ended_before(self, t: datetime) -> bool:
        """Already over strictly before t."""
        return self.end is not None and self.end < t


@dataclass(frozen=True, slots=True)
class RecentEvent:
    """An incident (kind "I", score 1..5) or breach ("B", score 0) kept for the escalation rules."""

    event_id: str
    at: datetime
    kind: str = "I"
    score: int = 0


@dataclass(frozen=True, slots=True)
class BreachProbe:
    """What a breach report says was breached (kind None: any EM-zone kind)."""

    kind: ConditionKind | None
    condition_id: str | None = None
    source_ref: str | None = None
    person_ref: str | None = None
    location: str | None = None


@dataclass(frozen=True, slots=True)
class PendingBreach:
    """A breach report waiting (until deadline, wall clock) for the record of the condition it breaches."""

    event_id: str
    at: datetime
    deadline: datetime
    probe: BreachProbe


@dataclass(frozen=True, slots=True)
class FlapGroup:
    """A flapping EM source: its last event time and the alert that stands for the group ("" if none)."""

    key: str
    last_seen: datetime
    alert_id: str = ""


@dataclass(frozen=True, slots=True)
class Hearing:
    """The next hearing of one court case: when, its type, and the event time of the listing it comes from."""

    court_case: str  # short id of the court case ref (facts.short_id): bounded, and only ever compared
    at: datetime
    hearing_type: HearingType
    listed_at: datetime


@dataclass(frozen=True, slots=True)
class SubjectState:
    """Everything the rules know about one Drive subject."""

    subject_id: str
    case: CaseInfo | None = None
    custody: Custody = field(default_factory=Custody)
    conditions: tuple[ActiveCondition, ...] = ()
    incidents: tuple[RecentEvent, ...] = ()
    pending: tuple[PendingBreach, ...] = ()
    flaps: tuple[FlapGroup, ...] = ()
    warned: tuple[str, ...] = ()  # expiry warnings sent: "KIND:ref:epoch"
    seen_events: tuple[str, ...] = ()  # short hashes of event ids, most recent last
    seen_alerts: tuple[str, ...] = ()  # short hashes of alert ids, most recent last
    escalated_at: datetime | None = None  # event time of the last frequency escalation
    hearings: tuple[Hearing, ...] = ()  # upcoming, soonest first, one per court case (bounded)
    em_seen_at: datetime | None = None  # event time of the latest EM event (zone, tamper, signal)

    def to_dict(self) -> dict[str, Any]:
        """The compact JSON-able form stored in the state table."""
        from streams.rules.state_codec import state_to_dict
        return state_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubjectState:
        """The state from its compact dict form."""
        from streams.rules.state_codec import state_from_dict
        return state_from_dict(data)

    def evolve(self, **changes: Any) -> SubjectState:
        """A copy with some fields replaced (the rules call this several times per event: no __init__ round trip,
        which dataclasses.replace makes with every field; unknown names are refused as replace refuses them)."""
        if not changes.keys() <= _STATE_FIELDS:
            raise TypeError(f"unknown SubjectState field(s): {sorted(changes.keys() - _STATE_FIELDS)}")
        copy = object.__new__(SubjectState)
        for name in _STATE_FIELDS:
            object.__setattr__(copy, name, changes[name] if name in changes else getattr(self, name))
        return copy


_STATE_FIELDS = frozenset(f.name for f in fields(SubjectState))


def empty(subject_id: str) -> SubjectState:
    """The state of a subject nothing is known about yet."""
    return SubjectState(subject_id=subject_id)


def linked_victim_refs(case: CaseInfo | None) -> frozenset[str]:
    """The refs of the victims linked to the case."""
    return frozenset(v.victim_ref for v in case.victims) if case else frozenset()
