"""Breach rules: a breach report, EM zone entry or incident judged against the conditions active at event time."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from schemas.details import BreachReported, DomesticIncident, EmSignalLoss, EmZoneEntry, EmZoneExit
from schemas.enums import BreachEventType as R
from schemas.enums import ConditionKind, Severity
from schemas.enums import IncidentEventType as I
from schemas.events import Event
from streams.rules.catalogue import Recipients, rule
from streams.rules.drafts import AlertDraft, RuleContext, draft
from streams.rules.facts import location_key, victims_of
from streams.rules.state import ActiveCondition, BreachProbe, PendingBreach, SubjectState
from streams.rules.triggers import triggered_by

_C, _H, _V = Severity.CRITICAL, Severity.HIGH, Recipients.VICTIM
BREACH_NO_CONTACT = rule("breach.no_contact", _C, _V, "contact with a person protected by an active no-contact "
                         "condition (breach report or a domestic incident naming them)")
BREACH_EXCLUSION_ZONE = rule("breach.exclusion_zone", _C, _V, "presence in an actively excluded place (breach "
                             "report or EM zone entry)")
BREACH_CURFEW = rule("breach.curfew", _C, _V, "breach of an active curfew")
BREACH_SCHOOL = rule("breach.school", _C, _V, "approach to a school named by an active condition")
BREACH_OTHER = rule("breach.other", _C, _V, "breach of another active condition (residence, other)")
BREACH_UNVERIFIED = rule("breach.unverified", _H, Recipients.CASE_MANAGER, "a breach report matched no condition "
                         "on record within the late grace")
BREACH_EM_TAMPER = rule("breach.em_tamper", _H, Recipients.PERPETRATOR, "EM tag tamper, or signal lost (not "
                        "restored)")

BREACH_RULE_BY_KIND = {
    ConditionKind.NO_CONTACT: BREACH_NO_CONTACT,
    ConditionKind.EXCLUSION_ZONE: BREACH_EXCLUSION_ZONE,
    ConditionKind.CURFEW: BREACH_CURFEW,
    ConditionKind.NO_APPROACH_SCHOOL: BREACH_SCHOOL,
    ConditionKind.RESIDENCE: BREACH_OTHER,
    ConditionKind.OTHER: BREACH_OTHER,
}
_ZONE_KINDS = frozenset({ConditionKind.EXCLUSION_ZONE, ConditionKind.NO_APPROACH_SCHOOL})


def probe_of(event: Event) -> BreachProbe | None:
    """What a breach report or EM zone entry says was breached."""
    d = event.details
    if isinstance(d, BreachReported):
        return BreachProbe(d.condition_kind, d.condition_id, d.bail_ref or d.order_ref, d.protected_person_ref,
                           location_key(d.location_ref))
    if isinstance(d, EmZoneEntry):
        return BreachProbe(None, location=f"EM_ZONE:{d.zone_ref}")
    return None


def matching(conditions: Iterable[ActiveCondition], probe: BreachProbe) -> tuple[ActiveCondition, ...]:
    """The known conditions a probe refers to: by id, else by source ref and kind, else by kind and target."""
    conditions = tuple(conditions)
    if probe.condition_id:
        by_id = tuple(c for c in conditions if c.condition_id == probe.condition_id
                      and probe.source_ref in (None, c.source_ref))
        if by_id:
            return by_id
    kinds = {probe.kind} if probe.kind is not None else _ZONE_KINDS
    same_kind = [c for c in conditions if c.kind in kinds]
    if probe.source_ref:
        # a report naming the bail/order and the person or place protected means that condition only
        same_source = tuple(c for c in same_kind if c.source_ref == probe.source_ref)
        return tuple(c for c in same_source if _same_target(c, probe)) or same_source
    return tuple(c for c in same_kind if _same_target(c, probe))


def _same_target(c: ActiveCondition, probe: BreachProbe) -> bool:
    if probe.person_ref and c.protected_person_ref:
        return c.protected_person_ref == probe.person_ref
    if probe.location and c.location:
        return c.location == probe.location
    return probe.person_ref is None and probe.location is None


def breach_drafts(state: SubjectState, active: Iterable[ActiveCondition], triggers: tuple[str, ...],
                  at: datetime, group_key: str | None = None) -> list[AlertDraft]:
    """One breach alert per breached condition kind, addressed to the victims those conditions protect."""
    by_rule: dict[str, list[ActiveCondition]] = {}
    for c in active:
        by_rule.setdefault(BREACH_RULE_BY_KIND[c.kind].rule_id, []).append(c)
    return [AlertDraft(BREACH_RULE_BY_KIND[conds[0].kind], triggers, at, victims_of(state.case, conds), group_key)
            for conds in by_rule.values()]


def flap_key(event: Event) -> str | None:
    """The group of a flapping EM source: a device in a zone, or a device's signal."""
    d = event.details
    if isinstance(d, EmZoneEntry | EmZoneExit):
        return f"em:{d.device_ref}:zone:{d.zone_ref}"
    if isinstance(d, EmSignalLoss):
        return f"em:{d.device_ref}:signal"
    return None


def is_grouped(state: SubjectState, key: str, t: datetime, window: timedelta) -> bool:
    """An event of a group within the window of the group's last event adds no alert."""
    return any(f.key == key and abs(t - f.last_seen) < window for f in state.flaps)


@triggered_by(R.BREACH_REPORTED, R.EM_ZONE_ENTRY)
def reported(state: SubjectState, event: Event, ctx: RuleContext) -> list[AlertDraft]:
    """BREACH_REPORTED / EM_ZONE_ENTRY: a breach of every matched condition active at event time."""
    probe = probe_of(event)
    key = flap_key(event) if isinstance(event.details, EmZoneEntry) else None
    if probe is None or (key and is_grouped(state, key, event.occurred_at, ctx.config.flap_window)):
        return []
    active = [c for c in matching(state.conditions, probe) if c.active_at(event.occurred_at)]
    return breach_drafts(state, active, (event.event_id,), event.occurred_at, key)


@triggered_by(I.DOMESTIC_INCIDENT)
def incident_contact(state: SubjectState, event: Event, ctx: RuleContext) -> list[AlertDraft]:
    """DOMESTIC_INCIDENT naming a person an active no-contact condition protects: a no-contact breach."""
    d = event.details
    assert isinstance(d, DomesticIncident)
    active = [c for c in state.conditions if c.kind == ConditionKind.NO_CONTACT
              and c.protected_person_ref in d.victim_refs and c.active_at(event.occurred_at)]
    if not active:
        return []
    return [AlertDraft(BREACH_NO_CONTACT, (event.event_id,), event.occurred_at, victims_of(state.case, active))]


@triggered_by(R.EM_TAG_TAMPER, R.EM_SIGNAL_LOSS)
def em_tamper(state: SubjectState, event: Event, ctx: RuleContext) -> list[AlertDraft]:
    """EM_TAG_TAMPER, or EM_SIGNAL_LOSS not restored (grouped while the signal flaps)."""
    d = event.details
    if isinstance(d, EmSignalLoss):
        key = flap_key(event)
        if d.restored or is_grouped(state, key, event.occurred_at, ctx.config.flap_window):
            return []
        return [draft(BREACH_EM_TAMPER, event.event_id, event.occurred_at, group_key=key, detail="signal lost")]
    return [draft(BREACH_EM_TAMPER, event.event_id, event.occurred_at, detail="tamper")]


def recheck_pending(state: SubjectState, event: Event, ctx: RuleContext) -> tuple[SubjectState, list[AlertDraft]]:
    """A late bail/order/licence record settles the reports waiting for it: a breach if it covered their time."""
    drafts: list[AlertDraft] = []
    waiting: list[PendingBreach] = []
    for p in state.pending:
        found = matching(state.conditions, p.probe)  # only a new record can match: nothing did before
        if not found:
            waiting.append(p)
            continue
        active = [c for c in found if c.active_at(p.at)]
        drafts += breach_drafts(state, active, (p.event_id, event.event_id), p.at)
    return state.evolve(pending=tuple(waiting)), drafts


def expire_pending(state: SubjectState, now: datetime) -> tuple[SubjectState, list[AlertDraft]]:
    """Reports whose grace passed with no record: "breach reported, condition not on record"."""
    due = [p for p in state.pending if p.deadline <= now]
    if not due:
        return state, []
    kept = tuple(p for p in state.pending if p.deadline > now)
    return state.evolve(pending=kept), [draft(BREACH_UNVERIFIED, p.event_id, p.at) for p in due]
