"""Escalation rules: incidents and breaches becoming more frequent, or incidents more severe, within a window."""
from __future__ import annotations

from schemas.details import DomesticIncident, EmZoneEntry
from schemas.enums import BreachEventType, IncidentEventType, Severity
from schemas.events import Event
from streams.rules.breach import flap_key, is_grouped
from streams.rules.catalogue import Recipients, rule
from streams.rules.config import RuleConfig
from streams.rules.drafts import AlertDraft, RuleContext, draft
from streams.rules.facts import whole_seconds
from streams.rules.incidents import severity_score
from streams.rules.state import RecentEvent, SubjectState
from streams.rules.triggers import triggered_by

ESCALATION_FREQUENCY = rule("escalation.frequency", Severity.HIGH, Recipients.PERPETRATOR, "incidents and breaches "
                            "reach the threshold within the escalation window (once per window)")
ESCALATION_SEVERITY = rule("escalation.severity", Severity.HIGH, Recipients.PERPETRATOR, "an incident more severe "
                           "than every earlier one in the window (e.g. first weapon or injury)")


def recent_event(state: SubjectState, event: Event, config: RuleConfig) -> RecentEvent | None:
    """The escalation record of an incident or breach (a flapping zone entry within its group counts once)."""
    d = event.details
    at = whole_seconds(event.occurred_at)
    if isinstance(d, DomesticIncident):
        return RecentEvent(event.event_id, at, "I", severity_score(d))
    if event.event_type == BreachEventType.BREACH_REPORTED:
        return RecentEvent(event.event_id, at, "B")
    if isinstance(d, EmZoneEntry) and not is_grouped(state, flap_key(event), event.occurred_at, config.flap_window):
        return RecentEvent(event.event_id, at, "B")
    return None


@triggered_by(IncidentEventType.DOMESTIC_INCIDENT, BreachEventType.BREACH_REPORTED, BreachEventType.EM_ZONE_ENTRY)
def frequency(state: SubjectState, event: Event, ctx: RuleContext) -> list[AlertDraft]:
    """At least escalation_min_events incidents/breaches in the window ending at this one; once per window."""
    current = recent_event(state, event, ctx.config)
    if current is None:
        return []
    window = ctx.config.escalation_window
    t = current.at
    if state.escalated_at is not None and abs(t - state.escalated_at) < window:
        return []
    in_window = [e for e in state.incidents if t - window < e.at <= t and e.event_id != current.event_id]
    if len(in_window) + 1 < ctx.config.escalation_min_events:
        return []
    triggers = tuple(e.event_id for e in in_window) + (current.event_id,)
    return [AlertDraft(ESCALATION_FREQUENCY, triggers, event.occurred_at, detail=f"{len(triggers)} in window")]


@triggered_by(IncidentEventType.DOMESTIC_INCIDENT)
def severity(state: SubjectState, event: Event, ctx: RuleContext) -> list[AlertDraft]:
    """An incident scoring higher than every earlier incident in the window (none earlier: no escalation)."""
    current = recent_event(state, event, ctx.config)
    if current is None or current.kind != "I":
        return []
    t, window = current.at, ctx.config.escalation_window
    earlier = [e.score for e in state.incidents if e.kind == "I" and t - window < e.at <= t
               and e.event_id != current.event_id]
    if not earlier or current.score <= max(earlier):
        return []
    return [draft(ESCALATION_SEVERITY, event.event_id, event.occurred_at)]
