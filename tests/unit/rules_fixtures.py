"""Builders for the rules unit tests: one perpetrator, two linked victims with two IDVAs, events by keyword."""
from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

from schemas.details import (
    BailGranted,
    BailVaried,
    BreachReported,
    CaseSnapshot,
    DomesticIncident,
    EmZoneEntry,
    LinkedVictim,
    OrderIssued,
    OrderVaried,
)
from schemas.enums import (
    BailEventType,
    BailKind,
    BreachEventType,
    CaseEventType,
    CaseStatus,
    ConditionKind,
    CourtEventType,
    IncidentEventType,
    LocationKind,
    OffenceCategory,
    OrderType,
    PersonIdScheme,
    Reporter,
)
from schemas.events import Alert, Event, event_from_datum
from schemas.jsonform import from_json
from schemas.shared import Condition, LocationRef, PersonId, Source
from streams.rules import RuleConfig, SubjectState, apply, empty, on_tick
from tests.samples.events import sample

T0 = datetime(2026, 11, 22, 9, 41, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
CONFIG = RuleConfig()
SUBJECT, CM = "DRV-000123", "staff-cm-01"
V1, IDVA1, V2, IDVA2 = "VIC-A1", "staff-idva-01", "VIC-B2", "staff-idva-02"
CHILD_OF_V1 = "CHILD-A1"
HOME_V1 = LocationRef(kind=LocationKind.UPRN, value="100070123456")
ZONE = LocationRef(kind=LocationKind.EM_ZONE, value="ZONE-B15-2")
PNC = PersonId(scheme=PersonIdScheme.PNC, value="2019/0012345A")
POLICE = Source(agency="police-wm", system="niche-rms")
SEEDED_NAME = "Jonathan Smithfield"  # a name-like value: must never reach any text
SEEDED_ADDRESS = "14 Acacia Avenue"
_ids = itertools.count(1)


def new_id(prefix: str = "evt") -> str:
    """A fresh event id."""
    return f"{prefix}-{next(_ids):05d}"


def event(event_type: Any, details: Any, *, at: datetime = T0, event_id: str | None = None,
          person_ids: tuple[PersonId, ...] = (PNC,), name_hash: str | None = None,
          dob: date | None = None) -> Event:
    """An event of a type with its details, at event time `at`."""
    return Event(event_id=event_id or new_id(), event_type=event_type, source=POLICE, person_ids=person_ids,
                 name_hash=name_hash, date_of_birth=dob, occurred_at=at, recorded_at=at + timedelta(minutes=5),
                 schema_version=1, details=details)


def victims(*, v2_idva: str | None = IDVA2) -> tuple[LinkedVictim, ...]:
    """Victim 1 (with a protected child and home) and victim 2, each with their own IDVA."""
    return (LinkedVictim(victim_ref=V1, idva_id=IDVA1, protected_person_refs=(CHILD_OF_V1,),
                         protected_locations=(HOME_V1,)),
            LinkedVictim(victim_ref=V2, idva_id=v2_idva))


def case_event(*, subject: str = SUBJECT, status: CaseStatus = CaseStatus.OPEN,
               identifiers: tuple[PersonId, ...] = (PNC,), linked: tuple[LinkedVictim, ...] | None = None,
               event_type: CaseEventType = CaseEventType.CASE_OPENED, name_hash: str | None = None,
               dob: date | None = None, at: datetime = T0 - 30 * DAY) -> Event:
    """A case registry snapshot."""
    snapshot = CaseSnapshot(subject_id=subject, status=status, identifiers=identifiers, home_force_area="WM",
                            case_manager_id=CM, victims=victims() if linked is None else linked,
                            opened_at=T0 - 30 * DAY)
    return event(event_type, snapshot, at=at, person_ids=(PersonId(scheme=PersonIdScheme.DRIVE_SUBJECT,
                                                                      value=subject),),
                 name_hash=name_hash, dob=dob)


def subject(**case_kwargs: Any) -> SubjectState:
    """The state of the standard open case."""
    state, _ = apply(empty(SUBJECT), case_event(**case_kwargs), T0)
    return state


def run(state: SubjectState, *events: Event, now: datetime | None = None,
        config: RuleConfig = CONFIG) -> tuple[SubjectState, list[Alert]]:
    """Applies events in order (now: each event's time plus a minute, unless given); all alerts raised."""
    alerts: list[Alert] = []
    for e in events:
        state, raised = apply(state, e, now or e.occurred_at + timedelta(minutes=1), config)
        alerts += raised
    return state, alerts


def tick(state: SubjectState, now: datetime, config: RuleConfig = CONFIG) -> tuple[SubjectState, list[Alert]]:
    """on_tick with the test config."""
    return on_tick(state, now, config)


def rules(alerts: list[Alert]) -> list[str]:
    """The rule ids of alerts, sorted."""
    return sorted(a.rule for a in alerts)


def condition(cid: str, kind: ConditionKind, *, person: str | None = None, loc: LocationRef | None = None,
              start: datetime = T0 - 10 * DAY, end: datetime | None = None) -> Condition:
    """A condition of bail, order or licence."""
    return Condition(condition_id=cid, kind=kind, protected_person_ref=person, location_ref=loc, starts_at=start,
                     ends_at=end)


NO_CONTACT_V1 = condition("C1", ConditionKind.NO_CONTACT, person=V1)
NO_CONTACT_V2 = condition("C2", ConditionKind.NO_CONTACT, person=V2)
ZONE_EXCLUSION = condition("C3", ConditionKind.EXCLUSION_ZONE, loc=ZONE)


def bail(*conds: Condition, ref: str = "BAIL-1", at: datetime = T0 - 10 * DAY,
         expires: datetime | None = None) -> Event:
    """BAIL_GRANTED with conditions."""
    return event(BailEventType.BAIL_GRANTED, BailGranted(bail_ref=ref, bail_kind=BailKind.PRE_CHARGE,
                                                         conditions=conds, expires_at=expires), at=at)


def order(*conds: Condition, ref: str = "DVPO-1", at: datetime = T0 - 10 * DAY,
          expires: datetime | None = None) -> Event:
    """ORDER_ISSUED with conditions, starting at `at`."""
    return event(CourtEventType.ORDER_ISSUED, OrderIssued(order_ref=ref, order_type=OrderType.DVPO,
                                                          conditions=conds, starts_at=at, expires_at=expires), at=at)


def bail_varied(previous: tuple[Condition, ...], new: tuple[Condition, ...], *, ref: str = "BAIL-1",
                expires: datetime | None = None) -> Event:
    """BAIL_VARIED from the previous conditions to the new ones."""
    return event(BailEventType.BAIL_VARIED, BailVaried(bail_ref=ref, previous_conditions=previous, conditions=new,
                                                       expires_at=expires))


def order_varied(previous: tuple[Condition, ...], new: tuple[Condition, ...], *, ref: str = "DVPO-1") -> Event:
    """ORDER_VARIED of a DVPO from the previous conditions to the new ones."""
    return event(CourtEventType.ORDER_VARIED, OrderVaried(order_ref=ref, order_type=OrderType.DVPO,
                                                          previous_conditions=previous, conditions=new))


def breach_report(kind: ConditionKind = ConditionKind.NO_CONTACT, *, at: datetime = T0, **fields: Any) -> Event:
    """BREACH_REPORTED of a condition kind (fields: condition_id, bail_ref, order_ref, protected_person_ref...)."""
    details = BreachReported(breach_ref=new_id("BR"), condition_kind=kind, reported_by=Reporter.VICTIM, **fields)
    return event(BreachEventType.BREACH_REPORTED, details, at=at)


def incident(*victim_refs: str, at: datetime = T0, injury: bool = False, weapon: bool = False,
             force_area: str = "WM") -> Event:
    """DOMESTIC_INCIDENT naming victims."""
    details = DomesticIncident(incident_ref=new_id("INC"), force_area=force_area, victim_refs=victim_refs,
                               offence_category=OffenceCategory.ASSAULT, injury=injury, weapon=weapon,
                               children_present=False)
    return event(IncidentEventType.DOMESTIC_INCIDENT, details, at=at)


def zone_entry(at: datetime, zone: str = ZONE.value) -> Event:
    """EM_ZONE_ENTRY of the standard tag into a zone."""
    return event(BreachEventType.EM_ZONE_ENTRY, EmZoneEntry(device_ref="TAG-1", zone_ref=zone), at=at)


def from_sample(topic: str, event_type: str, **overrides: Any) -> Event:
    """A contract sample event (validated through the JSON form), with overrides."""
    return event_from_datum(topic, from_json(topic, sample(topic, event_type, **overrides)))
