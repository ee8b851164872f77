"""summary.victim_linked: a victim linked later (or a new IDVA) is told the position for their client, once;
and the state behind it: listed hearings (bounded, pruned), EM evidence."""
from __future__ import annotations

import json

import pytest

from schemas.details import CourtOutcome, EmTagTamper, HearingListed, LinkedVictim
from schemas.enums import (
    BreachEventType,
    CaseEventType,
    CaseStatus,
    ConditionKind,
    CourtEventType,
    CourtOutcomeKind,
    HearingType,
)
from streams.rules import SubjectState, empty, next_due
from streams.rules.engine import prune
from streams.rules.facts import short_id
from streams.rules.transitions import MAX_HEARINGS
from tests.unit.rules_fixtures import (
    CHILD_OF_V1,
    CONFIG,
    DAY,
    HOME_V1,
    HOUR,
    IDVA1,
    IDVA2,
    NO_CONTACT_V1,
    NO_CONTACT_V2,
    T0,
    V1,
    V2,
    ZONE_EXCLUSION,
    bail,
    case_event,
    condition,
    event,
    order,
    run,
    subject,
)

ONLY_V1 = (LinkedVictim(victim_ref=V1, idva_id=IDVA1, protected_person_refs=(CHILD_OF_V1,),
                        protected_locations=(HOME_V1,)),)
BOTH = (*ONLY_V1, LinkedVictim(victim_ref=V2, idva_id=IDVA2))


def _link(linked, event_type=CaseEventType.VICTIM_LINKED, at=T0, status=CaseStatus.OPEN):
    return case_event(linked=linked, event_type=event_type, at=at, status=status)


def _listing(ref="CC-1", at=T0 + 10 * DAY, listed=T0 - DAY, kind=HearingType.TRIAL):
    return event(CourtEventType.HEARING_LISTED, HearingListed(court_case_ref=ref, court_code="B20EB", hearing_at=at,
                                                              hearing_type=kind), at=listed)


def _outcome(ref="CC-1", nxt=None, at=T0 - HOUR):
    return event(CourtEventType.COURT_OUTCOME, CourtOutcome(court_case_ref=ref, court_code="B20EB",
                                                            outcome=CourtOutcomeKind.ADJOURNED, next_hearing_at=nxt),
                 at=at)


def _summaries(alerts):
    return [a for a in alerts if a.rule == "summary.victim_linked"]


def test_a_victim_linked_later_gets_one_summary_to_their_idva_only():
    """Victim 2 linked to a case with bail, an order, a hearing: one MEDIUM alert, to IDVA 2 alone."""
    state, _ = run(subject(linked=ONLY_V1), bail(NO_CONTACT_V1, ZONE_EXCLUSION, at=T0 - DAY), _listing(),
                   order(NO_CONTACT_V2, at=T0 - DAY, expires=T0 + 60 * DAY))
    state, alerts = run(state, _link(BOTH))
    [alert] = _summaries(alerts)
    assert alert.severity.value == "MEDIUM"
    assert [(r.staff_id, r.victim_ref) for r in alert.recipients] == [(IDVA2, V2)]
    text = alert.recipients[0].text
    assert "(in community; no contact to 21/01, exclusion zone; next hearing 02/12; on EM)" in text
    _, again = run(state, _link(BOTH, CaseEventType.WORKER_ASSIGNED, at=T0 + HOUR))
    assert _summaries(again) == []


def test_the_summary_speaks_of_the_client_only():
    """Nothing of the conditions that protect victim 1 (person, child, home) reaches victim 2's summary."""
    v1_conditions = (NO_CONTACT_V1, condition("C4", ConditionKind.NO_CONTACT, person=CHILD_OF_V1),
                     condition("C5", ConditionKind.EXCLUSION_ZONE, loc=HOME_V1))
    state, _ = run(subject(linked=ONLY_V1), bail(*v1_conditions, at=T0 - DAY))
    _, alerts = run(state, _link(BOTH))
    [alert] = _summaries(alerts)
    text = alert.recipients[0].text
    assert "NO conditions protecting your client" in text
    assert "no contact" not in text and "exclusion zone" not in text and V1 not in text and CHILD_OF_V1 not in text


def test_a_new_idva_for_a_victim_gets_the_summary():
    """Victim 1's IDVA changes: the new IDVA is told the position; the old one is not."""
    state, _ = run(subject(), bail(NO_CONTACT_V1, at=T0 - DAY))
    moved = (LinkedVictim(victim_ref=V1, idva_id="staff-idva-03"), BOTH[1])
    _, alerts = run(state, _link(moved, CaseEventType.WORKER_ASSIGNED))
    [alert] = _summaries(alerts)
    assert [(r.staff_id, r.victim_ref) for r in alert.recipients] == [("staff-idva-03", V1)]
    assert "no contact" in alert.recipients[0].text


@pytest.mark.parametrize("before, snapshot", [
    (None, _link(BOTH)),
    (ONLY_V1, _link(ONLY_V1)),
    (BOTH, _link((*ONLY_V1, LinkedVictim(victim_ref=V2)))),
    (ONLY_V1, _link(BOTH, status=CaseStatus.CLOSED)),
    (ONLY_V1, _link(BOTH, at=T0 - 200 * DAY)),
], ids=["first-snapshot", "nothing-new", "idva-removed", "case-closed", "snapshot-very-old"])
def test_no_summary_when_nobody_new_is_to_be_told(before, snapshot):
    """A case's first snapshot, an unchanged one, a victim losing their IDVA, a closed case, an ancient record."""
    state = empty("DRV-000123") if before is None else subject(linked=before)
    _, alerts = run(state, snapshot, now=T0 + HOUR)
    assert _summaries(alerts) == []


def test_two_victims_linked_at_once_get_one_summary_each():
    """Each newly linked victim's IDVA gets their own alert, about their own client."""
    state = subject(linked=())
    _, alerts = run(state, _link(BOTH))
    assert sorted((r.staff_id, r.victim_ref) for a in _summaries(alerts) for r in a.recipients) == [
        (IDVA1, V1), (IDVA2, V2)]
    assert len({a.alert_id for a in alerts}) == 2


@pytest.mark.parametrize("events, expected", [
    ([_listing()], [("CC-1", T0 + 10 * DAY)]),
    ([_listing(), _listing(at=T0 + 20 * DAY, listed=T0)], [("CC-1", T0 + 20 * DAY)]),
    ([_listing(at=T0 + 20 * DAY, listed=T0), _listing()], [("CC-1", T0 + 20 * DAY)]),
    ([_listing(), _outcome()], []),
    ([_listing(), _outcome(nxt=T0 + 30 * DAY)], [("CC-1", T0 + 30 * DAY)]),
    ([_listing(), _listing(ref="CC-2", at=T0 + 5 * DAY)], [("CC-2", T0 + 5 * DAY), ("CC-1", T0 + 10 * DAY)]),
    ([_listing(at=T0 - 2 * DAY, listed=T0 - 3 * DAY), _listing(ref="CC-2")], [("CC-2", T0 + 10 * DAY)]),
], ids=["listed", "relisted-later", "late-older-listing", "outcome-clears", "adjourned-to-next", "two-cases",
        "past-hearing-dropped"])
def test_hearings_follow_listings_and_outcomes(events, expected):
    """One next hearing per court case: the latest listing or outcome in event time wins; past ones go."""
    state, _ = run(subject(), *events)
    assert [(h.court_case, h.at) for h in state.hearings] == [(short_id(ref), at) for ref, at in expected]


def test_hearings_are_bounded_pruned_and_timed():
    """At most MAX_HEARINGS are kept (the soonest); a hearing once held is pruned, and next_due wakes for it."""
    listings = [_listing(ref=f"CC-{i}", at=T0 + (i + 1) * DAY) for i in range(MAX_HEARINGS + 2)]
    state, _ = run(subject(), *listings)
    assert [h.court_case for h in state.hearings] == [short_id(f"CC-{i}") for i in range(MAX_HEARINGS)]
    assert next_due(state, T0, CONFIG) <= T0 + DAY + HOUR
    assert prune(state, T0 + DAY + HOUR, CONFIG).hearings[0].court_case == short_id("CC-1")


def test_em_evidence_is_kept_then_pruned():
    """An EM event marks the subject as under EM until state_retention passes."""
    tamper = event(BreachEventType.EM_TAG_TAMPER, EmTagTamper(device_ref="TAG-1"), at=T0)
    state, _ = run(subject(), tamper)
    assert state.em_seen_at == T0
    assert prune(state, T0 + CONFIG.state_retention - HOUR, CONFIG).em_seen_at == T0
    assert prune(state, T0 + CONFIG.state_retention + HOUR, CONFIG).em_seen_at is None


def test_hearings_and_em_round_trip_through_the_state_dict():
    """The new state fields survive to_dict / from_dict."""
    tamper = event(BreachEventType.EM_TAG_TAMPER, EmTagTamper(device_ref="TAG-1"), at=T0)
    state, _ = run(subject(), _listing(kind=HearingType.SENTENCE), _outcome(ref="CC-2", nxt=T0 + 3 * DAY), tamper)
    assert state.hearings and state.em_seen_at
    assert SubjectState.from_dict(json.loads(json.dumps(state.to_dict()))) == state
