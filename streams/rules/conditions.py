"""conditions.weakened: protection removed, weakened or ended (variation, discharge, expiry, revocation, RUI, NFA);
conditions.varied: a variation that only adds or tightens."""
from __future__ import annotations

from datetime import datetime

from schemas.alert_text import CHANGE_WORDS
from schemas.details import (
    BailExpired,
    BailRevoked,
    BailVaried,
    ChargeDecision,
    OrderDischarged,
    OrderExpired,
    OrderVaried,
    ReleasedUnderInvestigation,
)
from schemas.enums import BailEventType as B
from schemas.enums import ChargeOutcome, Severity
from schemas.enums import CourtEventType as C
from schemas.enums import IncidentEventType as I
from schemas.events import Event
from streams.rules.catalogue import Recipients, rule
from streams.rules.drafts import AlertDraft, RuleContext, draft
from streams.rules.facts import to_active, victims_of
from streams.rules.state import ActiveCondition, SourceKind, SubjectState
from streams.rules.text import kind_words, kinds_text
from streams.rules.triggers import triggered_by
from streams.rules.weaker import weakening

CONDITIONS_WEAKENED = rule("conditions.weakened", Severity.HIGH, Recipients.VICTIM, "a protective condition "
                           "removed, weakened in content (streams/rules/weaker.py), shortened or ended (variation, "
                           "discharge, expiry, NFA); the alert says which kind and how")
CONDITIONS_VARIED = rule("conditions.varied", Severity.MEDIUM, Recipients.CASE_MANAGER, "a bail or order variation "
                         "that only adds or tightens conditions")


def source_of(event: Event) -> tuple[SourceKind, str] | None:
    """The bail or order a bail/court event is about."""
    d = event.details
    if isinstance(d, BailVaried | BailExpired | BailRevoked) or (
            isinstance(d, ReleasedUnderInvestigation) and d.bail_ref):
        return SourceKind.BAIL, d.bail_ref
    if isinstance(d, OrderVaried | OrderDischarged | OrderExpired):
        return SourceKind.ORDER, d.order_ref
    return None


def of_source(state: SubjectState, kind: SourceKind, ref: str) -> tuple[ActiveCondition, ...]:
    """The known conditions of one bail, order or licence."""
    return tuple(c for c in state.conditions if c.source_kind == kind and c.source_ref == ref)


def known_expiry(conditions: tuple[ActiveCondition, ...]) -> datetime | None:
    """The source expiry the state knows (all conditions of a source share it)."""
    return conditions[0].source_expires_at if conditions else None


@triggered_by(B.BAIL_VARIED, C.ORDER_VARIED)
def varied(state: SubjectState, event: Event, ctx: RuleContext) -> list[AlertDraft]:
    """BAIL_VARIED / ORDER_VARIED: weakened if a condition in force before is now weaker (weaker.weakening);
    else conditions.varied if anything changed (added or tightened)."""
    d = event.details
    assert isinstance(d, BailVaried | OrderVaried)
    kind, ref = source_of(event)
    old = tuple(c for c in of_source(state, kind, ref) or (to_active(kind, ref, c, None) for c in d.previous_conditions)
                if not c.ended_before(event.occurred_at))
    expiry = d.expires_at or known_expiry(old)
    new = {c.condition_id: to_active(kind, ref, c, expiry) for c in d.conditions}
    changes = [(c, how) for c in old if (how := weakening(c, new.get(c.condition_id))) is not None]
    if changes:
        how = ", ".join(dict.fromkeys(f"{kind_words(c.kind)} {CHANGE_WORDS[h]}" for c, h in changes))
        return [draft(CONDITIONS_WEAKENED, event.event_id, event.occurred_at,
                      victim_refs=victims_of(state.case, [c for c, _ in changes]), detail=f"{how}; {_what(event)}")]
    if {c.condition_id: c for c in old} == new:
        return []
    added = [c.kind for c in new.values() if c.condition_id not in {o.condition_id for o in old}]
    what = f"{kinds_text(added)} {CHANGE_WORDS['added']}; {_what(event)}" if added else _what(event)
    return [draft(CONDITIONS_VARIED, event.event_id, event.occurred_at, detail=what)]


@triggered_by(B.BAIL_REVOKED, B.BAIL_EXPIRED, B.RELEASED_UNDER_INVESTIGATION, C.ORDER_DISCHARGED, C.ORDER_EXPIRED)
def ended(state: SubjectState, event: Event, ctx: RuleContext) -> list[AlertDraft]:
    """ORDER_DISCHARGED / ORDER_EXPIRED / BAIL_EXPIRED (unknown source: perpetrator-wide); BAIL_REVOKED without
    remand and RUI (known bail only) end the protection of a source."""
    d = event.details
    source = source_of(event)
    if source is None or (isinstance(d, BailRevoked) and d.remanded):
        return []
    kind, ref = source
    known = of_source(state, kind, ref)
    if not known:
        if isinstance(d, OrderDischarged | OrderExpired | BailExpired):
            return [draft(CONDITIONS_WEAKENED, event.event_id, event.occurred_at, detail=_what(event))]
        return []
    return _weakened(state, event, [c for c in known if not c.ended_before(event.occurred_at)])


@triggered_by(I.CHARGE_DECISION)
def no_further_action(state: SubjectState, event: Event, ctx: RuleContext) -> list[AlertDraft]:
    """CHARGE_DECISION of no further action: perpetrator-wide."""
    d = event.details
    assert isinstance(d, ChargeDecision)
    if d.decision != ChargeOutcome.NO_FURTHER_ACTION:
        return []
    return [draft(CONDITIONS_WEAKENED, event.event_id, event.occurred_at, detail="no further action")]


def _weakened(state: SubjectState, event: Event, conditions: list[ActiveCondition]) -> list[AlertDraft]:
    if not conditions:
        return []
    detail = f"{kinds_text(c.kind for c in conditions)} {CHANGE_WORDS['ended']}; {_what(event)}"
    return [draft(CONDITIONS_WEAKENED, event.event_id, event.occurred_at,
                  victim_refs=victims_of(state.case, conditions), detail=detail)]


def _what(event: Event) -> str:
    """The coded cause: e.g. "DVPO discharged", "bail varied"."""
    words = event.event_type.value.lower().replace("_", " ")
    order_type = getattr(event.details, "order_type", None)
    return f"{order_type.value} {words.split(' ', 1)[1]}" if order_type is not None else words
