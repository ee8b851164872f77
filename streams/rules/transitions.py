"""State transitions of source events: case, custody, conditions, escalation records, pending breaches, EM groups."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from schemas.details import (
    Arrest,
    BailExpired,
    BailGranted,
    BailRevoked,
    BailVaried,
    CaseSnapshot,
    CourtOutcome,
    CustodyRelease,
    EmSignalLoss,
    EmTagTamper,
    EmZoneEntry,
    EmZoneExit,
    HearingListed,
    OrderDischarged,
    OrderExpired,
    OrderIssued,
    OrderVaried,
    PrisonRelease,
    ReleasedUnderInvestigation,
    Remanded,
)
from schemas.enums import CourtOutcomeKind, CustodyReleaseType, HearingType, SentenceCategory
from schemas.events import Event
from streams.rules.breach import flap_key, matching, probe_of
from streams.rules.conditions import known_expiry, of_source, source_of
from streams.rules.config import RuleConfig
from streams.rules.drafts import RuleContext
from streams.rules.escalation import recent_event
from streams.rules.facts import location_key, short_id, to_active, whole_seconds
from streams.rules.release import RELEASING_OUTCOMES
from streams.rules.state import (
    ActiveCondition,
    CaseInfo,
    Custody,
    CustodyStatus,
    FlapGroup,
    Hearing,
    PendingBreach,
    SourceKind,
    SubjectState,
    VictimLink,
)

MAX_RECENT = 64  # escalation needs a handful; a cap keeps a very active subject's state small
LICENCE_REF = "licence"  # a subject has one licence at a time: a new prison release replaces it
MAX_HEARINGS = 4  # the soonest upcoming hearings, one per court case


def with_case(state: SubjectState, snapshot: CaseSnapshot) -> SubjectState:
    """The case part replaced by the registry's snapshot."""
    victims = tuple(VictimLink(v.victim_ref, v.idva_id, tuple(v.protected_person_refs),
                               tuple(location_key(loc) for loc in v.protected_locations))
                    for v in snapshot.victims)
    return state.evolve(case=CaseInfo(snapshot.status, snapshot.case_manager_id, snapshot.home_force_area, victims))


def custody_after(event: Event) -> CustodyStatus | None:
    """The custody status an event establishes (None: it says nothing about custody)."""
    d = event.details
    if isinstance(d, Arrest):
        return CustodyStatus.IN_CUSTODY
    if isinstance(d, CustodyRelease):
        return (CustodyStatus.REMANDED if d.release_type == CustodyReleaseType.CHARGED_REMANDED
                else CustodyStatus.IN_COMMUNITY)
    if isinstance(d, BailGranted | ReleasedUnderInvestigation | PrisonRelease):
        return CustodyStatus.IN_COMMUNITY
    if isinstance(d, Remanded) or (isinstance(d, BailRevoked) and d.remanded):
        return CustodyStatus.REMANDED
    if isinstance(d, CourtOutcome):
        if d.outcome == CourtOutcomeKind.REMANDED:
            return CustodyStatus.REMANDED
        if d.outcome == CourtOutcomeKind.SENTENCED and d.sentence_category == SentenceCategory.CUSTODY:
            return CustodyStatus.IN_CUSTODY
        if d.outcome in RELEASING_OUTCOMES:
            return CustodyStatus.IN_COMMUNITY
    return None


def with_custody(state: SubjectState, event: Event) -> SubjectState:
    """Custody moved on by the event, unless a later-dated custody fact is already known (late event)."""
    status = custody_after(event)
    t = whole_seconds(event.occurred_at)
    if status is None or (state.custody.since is not None and t < state.custody.since):
        return state
    return state.evolve(custody=Custody(status, t))


def with_conditions(state: SubjectState, event: Event) -> SubjectState:
    """Conditions imposed, varied or ended by a bail, order or licence event."""
    d, t = event.details, whole_seconds(event.occurred_at)
    if isinstance(d, BailGranted):
        return _replace_source(state, SourceKind.BAIL, d.bail_ref,
                               [to_active(SourceKind.BAIL, d.bail_ref, c, d.expires_at) for c in d.conditions])
    if isinstance(d, OrderIssued):
        return _replace_source(state, SourceKind.ORDER, d.order_ref, [
            to_active(SourceKind.ORDER, d.order_ref, c, d.expires_at, d.starts_at) for c in d.conditions])
    if isinstance(d, PrisonRelease):
        return _replace_source(state, SourceKind.LICENCE, LICENCE_REF, [
            to_active(SourceKind.LICENCE, LICENCE_REF, c, d.licence_expires_at) for c in d.licence_conditions])
    if isinstance(d, BailVaried | OrderVaried):
        kind, ref = source_of(event)
        old = of_source(state, kind, ref)
        expiry = d.expires_at or known_expiry(old)
        new = [to_active(kind, ref, c, expiry) for c in d.conditions]
        ids = {c.condition_id for c in new}
        removed = [_end_at(c, t) for c in old if c.condition_id not in ids]
        return _replace_source(state, kind, ref, new + removed)
    if isinstance(d, BailExpired | BailRevoked | OrderDischarged | OrderExpired | ReleasedUnderInvestigation):
        source = source_of(event)
        if source is None:
            return state
        return _replace_source(state, *source, [_end_at(c, t) for c in of_source(state, *source)])
    return state


def imposes_conditions(event: Event) -> bool:
    """Bail, order and licence records are what a waiting breach report may be waiting for."""
    return isinstance(event.details, BailGranted | BailVaried | OrderIssued | OrderVaried | PrisonRelease)


def with_recent(state: SubjectState, event: Event, config: RuleConfig) -> SubjectState:
    """The incident or breach remembered for escalation, in time order."""
    recent = recent_event(state, event, config)
    if recent is None:
        return state
    ordered = sorted((*state.incidents, recent), key=lambda e: e.at)
    return state.evolve(incidents=tuple(ordered[-MAX_RECENT:]))


def with_pending(state: SubjectState, event: Event, ctx: RuleContext) -> SubjectState:
    """A breach report (or zone entry) that matches no known condition waits late_grace for its record."""
    probe = probe_of(event)
    key = flap_key(event) if isinstance(event.details, EmZoneEntry) else None
    if probe is None or matching(state.conditions, probe):
        return state
    if key and any(f.key == key and abs(event.occurred_at - f.last_seen) < ctx.config.flap_window
                   for f in state.flaps):
        return state
    pending = PendingBreach(event.event_id, whole_seconds(event.occurred_at), ctx.now + ctx.config.late_grace, probe)
    return state.evolve(pending=(*state.pending, pending))


def with_flap(state: SubjectState, event: Event) -> SubjectState:
    """An EM zone or signal event moves its group's last-seen time (an exit or restore never opens a group)."""
    d = event.details
    if not isinstance(d, EmZoneEntry | EmZoneExit | EmSignalLoss):
        return state
    key, t = flap_key(event), whole_seconds(event.occurred_at)
    current = next((f for f in state.flaps if f.key == key), None)
    if current is None:
        opens = isinstance(d, EmZoneEntry) or (isinstance(d, EmSignalLoss) and not d.restored)
        return state.evolve(flaps=(*state.flaps, FlapGroup(key, t))) if opens else state
    moved = FlapGroup(key, max(current.last_seen, t), current.alert_id)
    return state.evolve(flaps=tuple(moved if f.key == key else f for f in state.flaps))


def with_hearings(state: SubjectState, event: Event) -> SubjectState:
    """A listing sets its court case's next hearing; an outcome moves it to the next hearing or clears it.

    The later listing or outcome in event time wins; hearings before the event time are over and dropped.
    """
    d = event.details
    if isinstance(d, HearingListed):
        nxt, kind = d.hearing_at, d.hearing_type
    elif isinstance(d, CourtOutcome):
        nxt, kind = d.next_hearing_at, HearingType.OTHER
    else:
        return state
    ref, t = short_id(d.court_case_ref), whole_seconds(event.occurred_at)
    current = next((h for h in state.hearings if h.court_case == ref), None)
    if current is not None and current.listed_at > t:
        return state
    kept = [h for h in state.hearings if h.court_case != ref and h.at >= t]
    if nxt is not None and nxt >= t:
        kept.append(Hearing(ref, whole_seconds(nxt), kind, t))
    return state.evolve(hearings=tuple(sorted(kept, key=lambda h: h.at)[:MAX_HEARINGS]))


def with_em(state: SubjectState, event: Event) -> SubjectState:
    """An EM event (zone, tamper, signal) is evidence the subject is tagged: its event time is kept (the latest)."""
    if not isinstance(event.details, EmZoneEntry | EmZoneExit | EmTagTamper | EmSignalLoss):
        return state
    t = whole_seconds(event.occurred_at)
    return state if state.em_seen_at is not None and state.em_seen_at >= t else state.evolve(em_seen_at=t)


def with_group_alert(state: SubjectState, key: str, alert_id: str, at: datetime) -> SubjectState:
    """The alert that now stands for a group."""
    current = next((f for f in state.flaps if f.key == key), None)
    last_seen = whole_seconds(at) if current is None else current.last_seen
    others = tuple(f for f in state.flaps if f.key != key)
    return state.evolve(flaps=(*others, FlapGroup(key, last_seen, alert_id)))


def _replace_source(state: SubjectState, kind: SourceKind, ref: str,
                    conditions: list[ActiveCondition]) -> SubjectState:
    kept = tuple(c for c in state.conditions if not (c.source_kind == kind and c.source_ref == ref))
    return state.evolve(conditions=kept + tuple(conditions))


def _end_at(c: ActiveCondition, t: datetime) -> ActiveCondition:
    """The condition ended at t (never extended)."""
    return c if c.ends_at is not None and c.ends_at <= t else replace(c, ends_at=t)
