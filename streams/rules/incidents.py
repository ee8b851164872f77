"""Incident rules: a new incident, a victim not linked to the case, activity in another force area."""
from __future__ import annotations

from schemas.details import DomesticIncident
from schemas.enums import BailEventType as B
from schemas.enums import BreachEventType as R
from schemas.enums import IncidentEventType as I
from schemas.enums import RiskLevel, Severity
from schemas.events import Event
from streams.rules.catalogue import Recipients, rule
from streams.rules.drafts import AlertDraft, RuleContext, draft
from streams.rules.state import SubjectState
from streams.rules.triggers import triggered_by

INCIDENT_NEW = rule("incident.new", Severity.HIGH, Recipients.VICTIM, "a new domestic abuse incident")
INCIDENT_POSSIBLE_NEW_VICTIM = rule("incident.possible_new_victim", Severity.HIGH, Recipients.CASE_MANAGER,
                                    "an incident names a victim not linked to the case (serial pattern)")
ACTIVITY_OTHER_FORCE_AREA = rule("activity.other_force_area", Severity.HIGH, Recipients.CASE_MANAGER,
                                 "activity recorded by a force other than the case's home force")


def severity_score(d: DomesticIncident) -> int:
    """1..5: one, plus injury, plus two for a weapon, plus a HIGH risk grading, plus children present (capped)."""
    score = 1 + d.injury + 2 * d.weapon + (d.risk_level == RiskLevel.HIGH) + d.children_present
    return min(5, int(score))


def known_people(state: SubjectState) -> frozenset[str]:
    """The linked victims and the people protected with them (e.g. their children)."""
    if state.case is None:
        return frozenset()
    return frozenset(ref for v in state.case.victims for ref in (v.victim_ref, *v.protected_person_refs))


@triggered_by(I.DOMESTIC_INCIDENT)
def new_incident(state: SubjectState, event: Event, ctx: RuleContext) -> list[AlertDraft]:
    """DOMESTIC_INCIDENT: to the named linked victims' IDVAs (all IDVAs if it names nobody) and the case manager.

    An incident naming only people unknown to the case is left to incident.possible_new_victim: an IDVA text
    "new incident, client X" would wrongly suggest their client was the victim.
    """
    d = event.details
    assert isinstance(d, DomesticIncident)
    if d.victim_refs and not any(ref in known_people(state) for ref in d.victim_refs):
        return []
    return [draft(INCIDENT_NEW, event.event_id, event.occurred_at, victim_refs=tuple(d.victim_refs),
                  detail=d.offence_category.value.replace("_", " "))]


@triggered_by(I.DOMESTIC_INCIDENT)
def possible_new_victim(state: SubjectState, event: Event, ctx: RuleContext) -> list[AlertDraft]:
    """DOMESTIC_INCIDENT naming someone not linked to the case: the serial pattern, case manager only."""
    d = event.details
    assert isinstance(d, DomesticIncident)
    known = known_people(state)
    if all(ref in known for ref in d.victim_refs):
        return []
    return [draft(INCIDENT_POSSIBLE_NEW_VICTIM, event.event_id, event.occurred_at)]


@triggered_by(I.DOMESTIC_INCIDENT, I.ARREST, I.CUSTODY_RELEASE, I.CHARGE_DECISION, B.BAIL_GRANTED,
              B.RELEASED_UNDER_INVESTIGATION, R.BREACH_REPORTED, R.EM_ZONE_ENTRY)
def other_force_area(state: SubjectState, event: Event, ctx: RuleContext) -> list[AlertDraft]:
    """Any event whose force area differs from the case's home force area, case manager only."""
    area = getattr(event.details, "force_area", None)
    home = state.case.home_force_area if state.case else None
    if not area or not home or area == home:
        return []
    return [draft(ACTIVITY_OTHER_FORCE_AREA, event.event_id, event.occurred_at, detail=f"force {area}")]
