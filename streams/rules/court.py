"""Court rules: outcomes, hearings listed and warrants."""
from __future__ import annotations

from schemas.details import CourtOutcome, HearingListed, WarrantIssued
from schemas.enums import CourtEventType, Severity
from schemas.events import Event
from streams.rules.catalogue import Recipients, rule
from streams.rules.drafts import AlertDraft, RuleContext, draft
from streams.rules.release import ends_remand
from streams.rules.state import SubjectState
from streams.rules.text import uk_time
from streams.rules.triggers import triggered_by

COURT_OUTCOME = rule("court.outcome", Severity.MEDIUM, Recipients.PERPETRATOR, "a court outcome")
COURT_HEARING_LISTED = rule("court.hearing_listed", Severity.MEDIUM, Recipients.PERPETRATOR, "a hearing was listed")
WARRANT_ISSUED = rule("warrant.issued", Severity.HIGH, Recipients.PERPETRATOR, "a warrant was issued (failed to "
                      "appear, breach)")


@triggered_by(CourtEventType.COURT_OUTCOME)
def court_outcome(state: SubjectState, event: Event, ctx: RuleContext) -> list[AlertDraft]:
    """COURT_OUTCOME, unless it ends a remand (release.remand_ended says it more urgently)."""
    d = event.details
    assert isinstance(d, CourtOutcome)
    if ends_remand(state, event):
        return []
    detail = d.outcome.value if d.sentence_category is None else f"{d.outcome.value} {d.sentence_category.value}"
    return [draft(COURT_OUTCOME, event.event_id, event.occurred_at, detail=detail)]


@triggered_by(CourtEventType.HEARING_LISTED)
def hearing_listed(state: SubjectState, event: Event, ctx: RuleContext) -> list[AlertDraft]:
    """HEARING_LISTED, with the hearing's type and date."""
    d = event.details
    assert isinstance(d, HearingListed)
    detail = f"{d.hearing_type.value} {uk_time(d.hearing_at)}"
    return [draft(COURT_HEARING_LISTED, event.event_id, event.occurred_at, detail=detail)]


@triggered_by(CourtEventType.WARRANT_ISSUED)
def warrant_issued(state: SubjectState, event: Event, ctx: RuleContext) -> list[AlertDraft]:
    """WARRANT_ISSUED, with its reason (e.g. failed to appear)."""
    d = event.details
    assert isinstance(d, WarrantIssued)
    return [draft(WARRANT_ISSUED, event.event_id, event.occurred_at, detail=d.reason.value.replace("_", " "))]
