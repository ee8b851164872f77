"""The correlation engine: apply(state, event, now) and on_tick(state, now) -> (new state, alerts); pure.

Time and order (also in the README, "Time, order and duplicates"):
- Facts are judged at the event's occurred_at, never at arrival: a breach is a breach iff a matching condition
  was in force at that instant (starts_at <= t < end, where a source's discharge, expiry, revocation or removal by
  variation moves the end to when that happened). Contact after a condition ended, or before it started, is not a
  breach. `now` is used only for raised_at and for timers (pending-breach grace, expiry horizon, pruning).
- Ended conditions are kept for state_retention (pruned by on_tick), so a late breach report is still judged
  against the conditions as they were.
- A breach report matching no known condition waits late_grace (from arrival) in `pending`; a bail, order or
  licence record arriving meanwhile settles it: a breach alert (triggers: report + record) if the record covered
  the breach time, nothing if it did not; when the grace passes, breach.unverified goes to the case manager.
- Custody only moves forward in event time: a late custody fact older than the current one changes nothing.
- Hearings: one per court case, the later listing or outcome in event time wins; held hearings are pruned.
- Alert texts are rendered in the state after the event (a release says what protects each client after it);
  a case snapshot's checks see the case before it (who is newly linked), its alerts go to the case after it.
- Escalation windows are counted in event time around the event being applied.
- EM zone and signal events of one device and zone within flap_window (event time) of the group's last event are
  grouped: no new alert, no new escalation count; a new alert only after the window passes quietly.
- An event older than state_retention (occurred_at < now - state_retention) updates the state but raises nothing.
- Dedupe: an event already seen (by its agency and event id: each agency numbers its own) changes nothing; an alert id (sha256 of rule, subject, sorted triggers) already
  raised is not raised again, and downstream the same id makes a replayed alert a no-op.
"""
from __future__ import annotations

from datetime import datetime

from schemas.details import CaseSnapshot, EmSignalLoss, EmZoneEntry, StaffMember
from schemas.events import Alert, Event
from streams.rules import breach
from streams.rules.alerts import build_alert
from streams.rules.config import RuleConfig
from streams.rules.drafts import AlertDraft, RuleContext
from streams.rules.escalation import ESCALATION_FREQUENCY
from streams.rules.expiry import forget_passed, upcoming
from streams.rules.facts import short_id, whole_seconds
from streams.rules.identity import possible_match_alert
from streams.rules.state import SubjectState
from streams.rules.transitions import (
    imposes_conditions,
    with_case,
    with_conditions,
    with_custody,
    with_em,
    with_flap,
    with_group_alert,
    with_hearings,
    with_pending,
    with_recent,
)
from streams.rules.triggers import collect

DEFAULT_CONFIG = RuleConfig()
TRIGGERS = collect()  # event type -> the checks its rule modules declared (@triggered_by)


def apply(state: SubjectState, event: Event, now: datetime,
          config: RuleConfig = DEFAULT_CONFIG) -> tuple[SubjectState, list[Alert]]:
    """The subject's state after the event, and the alerts it raises (a seen event changes nothing)."""
    seen = short_id(f"{event.source.agency}/{event.event_id}")
    if seen in state.seen_events:
        return state, []
    state = state.evolve(seen_events=_bounded(state.seen_events, seen, config.seen_ids_max))
    if isinstance(event.details, StaffMember):
        return state, []
    ctx = RuleContext(now, config)
    drafts = [] if _grouped(state, event, config) else [
        d for rule in TRIGGERS.get(event.event_type, ()) for d in rule(state, event, ctx)]
    if isinstance(event.details, CaseSnapshot):
        state = with_case(state, event.details)
    state = with_custody(state, event)
    state = with_conditions(state, event)
    state = with_recent(state, event, config)
    state = with_pending(state, event, ctx)
    state = with_flap(state, event)
    state = with_hearings(state, event)
    state = with_em(state, event)
    if imposes_conditions(event):
        state, settled = breach.recheck_pending(state, event, ctx)
        drafts += settled
    if now - event.occurred_at > config.state_retention:
        drafts = []  # history replayed or very late: the state learns it, nobody is alerted
    return _realise(state, drafts, now, config)


def on_tick(state: SubjectState, now: datetime,
            config: RuleConfig = DEFAULT_CONFIG) -> tuple[SubjectState, list[Alert]]:
    """Timers: pending breach reports past their grace, expiries within the horizon, pruning of old facts."""
    state, drafts = breach.expire_pending(state, now)
    state, warnings = upcoming(state, now, config)
    return _realise(prune(state, now, config), drafts + warnings, now, config)


def apply_possible_match(state: SubjectState, event: Event, now: datetime,
                         config: RuleConfig = DEFAULT_CONFIG) -> tuple[SubjectState, list[Alert]]:
    """The possible-match alert for a candidate subject, once; nothing of the event is kept in the state."""
    alert = possible_match_alert(event, state, now)
    if alert is None or short_id(alert.alert_id) in state.seen_alerts:
        return state, []
    seen = _bounded(state.seen_alerts, short_id(alert.alert_id), config.seen_ids_max)
    return state.evolve(seen_alerts=seen), [alert]


def prune(state: SubjectState, now: datetime, config: RuleConfig) -> SubjectState:
    """Drops facts no rule can use any more (ended conditions and EM evidence after state_retention, incidents
    after the window, hearings once held)."""
    keep_from = now - config.state_retention
    window_from = now - config.escalation_window
    quiet_from = now - config.flap_window - config.late_grace  # late EM events may still join a group
    escalated = state.escalated_at if state.escalated_at and state.escalated_at >= window_from else None
    em_seen = state.em_seen_at if state.em_seen_at and state.em_seen_at >= keep_from else None
    return state.evolve(
        hearings=tuple(h for h in state.hearings if h.at >= now), em_seen_at=em_seen,
        conditions=tuple(c for c in state.conditions if not c.ended_before(keep_from)),
        incidents=tuple(e for e in state.incidents if e.at >= window_from),
        flaps=tuple(f for f in state.flaps if f.last_seen >= quiet_from),
        warned=forget_passed(state.warned, now), escalated_at=escalated)


def _grouped(state: SubjectState, event: Event, config: RuleConfig) -> bool:
    """A zone entry or signal loss within its flapping group's window raises nothing new."""
    if not isinstance(event.details, EmZoneEntry | EmSignalLoss):
        return False
    return breach.is_grouped(state, breach.flap_key(event), event.occurred_at, config.flap_window)


def _realise(state: SubjectState, drafts: list[AlertDraft], now: datetime,
             config: RuleConfig) -> tuple[SubjectState, list[Alert]]:
    """Alerts of the drafts that have recipients and were not raised before; remembers them."""
    alerts: list[Alert] = []
    for d in drafts:
        alert = build_alert(state, d, now)
        if alert is None or short_id(alert.alert_id) in state.seen_alerts:
            continue
        state = state.evolve(seen_alerts=_bounded(state.seen_alerts, short_id(alert.alert_id), config.seen_ids_max))
        if d.group_key:
            state = with_group_alert(state, d.group_key, alert.alert_id, d.at)
        if d.rule is ESCALATION_FREQUENCY:
            state = state.evolve(escalated_at=whole_seconds(d.at))
        alerts.append(alert)
    return state, alerts


def _bounded(items: tuple[str, ...], item: str, limit: int) -> tuple[str, ...]:
    """items + item, keeping the most recent `limit`."""
    return (*items, item)[-limit:]
