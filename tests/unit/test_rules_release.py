"""Release, court and warrant rules: what fires, to whom, and how custody moves."""
from __future__ import annotations

import pytest

from schemas.details import (
    BailRevoked,
    CourtOutcome,
    CustodyRelease,
    HearingListed,
    PrisonRelease,
    ReleasedUnderInvestigation,
    Remanded,
    WarrantIssued,
)
from schemas.enums import (
    BailEventType,
    CourtEventType,
    CourtOutcomeKind,
    CustodyReleaseType,
    HearingType,
    IncidentEventType,
    PrisonReleaseType,
    SentenceCategory,
    WarrantReason,
)
from streams.rules.state import CustodyStatus
from tests.unit.rules_fixtures import CM, HOUR, IDVA1, IDVA2, T0, bail, event, rules, run, subject

_REMANDED = event(BailEventType.REMANDED, Remanded(court_code="B20EB"), at=T0 - HOUR)


def _custody(kind):
    return event(IncidentEventType.CUSTODY_RELEASE, CustodyRelease(custody_ref="C-1", force_area="WM",
                                                                   release_type=kind))


def _outcome(kind, sentence=None):
    return event(CourtEventType.COURT_OUTCOME, CourtOutcome(court_case_ref="CC-1", court_code="B20EB", outcome=kind,
                                                            sentence_category=sentence))


def _rui():
    return event(BailEventType.RELEASED_UNDER_INVESTIGATION, ReleasedUnderInvestigation(force_area="WM"))


@pytest.mark.parametrize("before, e, expected", [
    ([], _custody(CustodyReleaseType.BAILED), ["release.custody"]),
    ([], _custody(CustodyReleaseType.NO_FURTHER_ACTION), ["release.custody"]),
    ([], _custody(CustodyReleaseType.CHARGED_REMANDED), []),
    ([], bail(at=T0), ["release.bail"]),
    ([_REMANDED], bail(at=T0), ["release.remand_ended"]),
    ([], _rui(), ["release.bail"]),
    ([bail(at=T0 - HOUR)], _rui(), []),
    ([], event(CourtEventType.PRISON_RELEASE, PrisonRelease(prison_code="BMI", release_type=PrisonReleaseType.LICENCE)),
     ["release.prison"]),
    ([_REMANDED], _outcome(CourtOutcomeKind.ACQUITTED), ["release.remand_ended"]),
    ([_REMANDED], _outcome(CourtOutcomeKind.RELEASED), ["release.remand_ended"]),
    ([], _outcome(CourtOutcomeKind.ACQUITTED), ["court.outcome"]),
    ([], _outcome(CourtOutcomeKind.SENTENCED, SentenceCategory.SUSPENDED), ["court.outcome"]),
    ([], event(CourtEventType.HEARING_LISTED, HearingListed(court_case_ref="CC-1", court_code="B20EB",
                                                            hearing_at=T0 + 240 * HOUR,
                                                            hearing_type=HearingType.TRIAL)),
     ["court.hearing_listed"]),
    ([], event(CourtEventType.WARRANT_ISSUED, WarrantIssued(court_code="B20EB",
                                                            reason=WarrantReason.FAILED_TO_APPEAR)),
     ["warrant.issued"]),
    ([], _REMANDED, []),
    ([bail(at=T0 - HOUR)], event(BailEventType.BAIL_REVOKED, BailRevoked(bail_ref="BAIL-1", remanded=True)), []),
], ids=["custody-bailed", "custody-nfa", "charged-remanded", "bail-granted", "bail-while-remanded", "rui-from-custody",
        "rui-already-on-bail", "prison", "acquitted-while-remanded", "released-while-remanded",
        "acquitted-on-bail", "sentenced", "hearing-listed", "warrant", "remanded", "bail-revoked-remanded"])
def test_release_and_court_rules_fire_exactly_when_they_should(before, e, expected):
    """Each release or court fact raises its rule (or nothing) given what came before."""
    state, _ = run(subject(), *before)
    _, alerts = run(state, e)
    assert rules(alerts) == expected


@pytest.mark.parametrize("rule_event", [_custody(CustodyReleaseType.BAILED), bail(at=T0), _outcome(
    CourtOutcomeKind.SENTENCED)], ids=["release", "bail", "court-outcome"])
def test_perpetrator_wide_alerts_reach_the_case_manager_and_every_idva(rule_event):
    """Releases and court outcomes go to the case manager and both victims' IDVAs."""
    _, [alert] = run(subject(), rule_event)
    assert {r.staff_id for r in alert.recipients} == {CM, IDVA1, IDVA2}


def test_release_severity_is_high_and_court_outcome_medium():
    """Releases are HIGH, court outcomes MEDIUM."""
    _, alerts = run(subject(), _custody(CustodyReleaseType.BAILED), _outcome(CourtOutcomeKind.ADJOURNED))
    assert {a.rule: a.severity.value for a in alerts} == {"release.custody": "HIGH", "court.outcome": "MEDIUM"}


@pytest.mark.parametrize("e, status", [
    (_REMANDED, CustodyStatus.REMANDED),
    (_outcome(CourtOutcomeKind.SENTENCED, SentenceCategory.CUSTODY), CustodyStatus.IN_CUSTODY),
    (_custody(CustodyReleaseType.CHARGED_REMANDED), CustodyStatus.REMANDED),
    (_custody(CustodyReleaseType.RELEASED_UNDER_INVESTIGATION), CustodyStatus.IN_COMMUNITY),
], ids=["remanded", "custodial-sentence", "charged-remanded", "released"])
def test_custody_follows_the_events(e, status):
    """Custody status is set by remand, custodial sentence and release events."""
    state, _ = run(subject(), e)
    assert state.custody.status == status
