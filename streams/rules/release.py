"""Release rules: the subject is back in the community (custody, bail, RUI, prison, remand ended).

Each release alert says, per recipient, what protects their client now (streams.rules.position): the kinds in
force, or "NO conditions protecting your client"; judged in the state after the release (a bail grant's own
conditions included, an RUI's bail ended).
"""
from __future__ import annotations

from functools import partial

from schemas.details import CourtOutcome, CustodyRelease, PrisonRelease
from schemas.enums import (
    BailEventType,
    CourtEventType,
    CourtOutcomeKind,
    CustodyReleaseType,
    IncidentEventType,
    Severity,
)
from schemas.events import Event
from streams.rules.catalogue import Recipients, Rule, rule
from streams.rules.drafts import AlertDraft, RuleContext
from streams.rules.position import release_detail
from streams.rules.state import CustodyStatus, SubjectState
from streams.rules.triggers import triggered_by

_H, _P = Severity.HIGH, Recipients.PERPETRATOR
RELEASE_CUSTODY = rule("release.custody", _H, _P, "released from police custody (bailed, RUI, NFA, other)")
RELEASE_BAIL = rule("release.bail", _H, _P, "bail granted, or released under investigation from custody")
RELEASE_PRISON = rule("release.prison", _H, _P, "released from prison")
RELEASE_REMAND_ENDED = rule("release.remand_ended", _H, _P, "remand ended: bail granted, released, acquitted or "
                            "case dismissed while remanded")

RELEASING_OUTCOMES = frozenset({CourtOutcomeKind.RELEASED, CourtOutcomeKind.ACQUITTED, CourtOutcomeKind.DISMISSED})


@triggered_by(IncidentEventType.CUSTODY_RELEASE)
def custody_release(state: SubjectState, event: Event, ctx: RuleContext) -> list[AlertDraft]:
    """CUSTODY_RELEASE (bailed, RUI, NFA, other) is a release; charged and remanded is not."""
    d = event.details
    assert isinstance(d, CustodyRelease)
    if d.release_type == CustodyReleaseType.CHARGED_REMANDED:
        return []
    return [_release(RELEASE_CUSTODY, event, d.release_type.value.replace("_", " "))]


@triggered_by(BailEventType.BAIL_GRANTED)
def bail_granted(state: SubjectState, event: Event, ctx: RuleContext) -> list[AlertDraft]:
    """BAIL_GRANTED always alerts: remand ended when remanded, else released on bail."""
    rule = RELEASE_REMAND_ENDED if state.custody.status == CustodyStatus.REMANDED else RELEASE_BAIL
    return [_release(rule, event, None)]


@triggered_by(BailEventType.RELEASED_UNDER_INVESTIGATION)
def released_under_investigation(state: SubjectState, event: Event, ctx: RuleContext) -> list[AlertDraft]:
    """RELEASED_UNDER_INVESTIGATION is a release unless the subject is already known to be in the community."""
    if state.custody.status == CustodyStatus.IN_COMMUNITY:
        return []
    return [_release(RELEASE_BAIL, event, "under investigation")]


@triggered_by(CourtEventType.PRISON_RELEASE)
def prison_release(state: SubjectState, event: Event, ctx: RuleContext) -> list[AlertDraft]:
    """PRISON_RELEASE, whatever its basis."""
    d = event.details
    assert isinstance(d, PrisonRelease)
    return [_release(RELEASE_PRISON, event, d.release_type.value.replace("_", " "))]


def ends_remand(state: SubjectState, event: Event) -> bool:
    """A court outcome that releases a remanded subject (released, acquitted, dismissed)."""
    d = event.details
    return (isinstance(d, CourtOutcome) and d.outcome in RELEASING_OUTCOMES
            and state.custody.status == CustodyStatus.REMANDED)


@triggered_by(CourtEventType.COURT_OUTCOME)
def remand_ended(state: SubjectState, event: Event, ctx: RuleContext) -> list[AlertDraft]:
    """COURT_OUTCOME releasing a remanded subject."""
    if not ends_remand(state, event):
        return []
    return [_release(RELEASE_REMAND_ENDED, event, event.details.outcome.value)]


def _release(rule: Rule, event: Event, base: str | None) -> AlertDraft:
    """A release draft whose detail, per recipient, is what protects their client after it."""
    at = event.occurred_at
    return AlertDraft(rule, (event.event_id,), at, detail=base, describe=partial(release_detail, base=base, at=at))
