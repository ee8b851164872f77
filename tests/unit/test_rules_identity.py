"""Identity resolution: exact identifiers link; a name-hash and birth-date match only asks the case manager."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

from schemas.enums import CaseEventType, CaseStatus, PersonIdScheme, StaffRole
from schemas.shared import PersonId
from streams.rules import (
    IdentityIndex,
    NotASubject,
    PossibleMatch,
    Resolved,
    apply_possible_match,
    index_case,
    possible_match_alert,
    resolve,
)
from tests.unit.rules_fixtures import (
    CM,
    CONFIG,
    PNC,
    SEEDED_NAME,
    SUBJECT,
    T0,
    case_event,
    incident,
    subject,
)

CRN = PersonId(scheme=PersonIdScheme.PROBATION_CRN, value="X123456")
NAME_HASH, DOB = "hmac-sha256:abc123", date(1988, 3, 14)


def _index(*events):
    index = IdentityIndex()
    for e in events:
        index_case(index, e)
    return index


def _incident_from(*person_ids, name_hash=None, dob=None):
    return replace(incident("VIC-A1"), person_ids=person_ids, name_hash=name_hash, date_of_birth=dob)


def test_a_shared_identifier_resolves_to_the_subject():
    """An event carrying one of the case's identifiers is about that subject."""
    assert resolve(_index(case_event()), _incident_from(PNC)) == Resolved(SUBJECT)


def test_any_of_the_events_identifiers_may_match():
    """The second identifier of an event can be the one the registry knows."""
    other = PersonId(scheme=PersonIdScheme.FORCE_NOMINAL, value="WM-1")
    assert resolve(_index(case_event()), _incident_from(other, PNC)) == Resolved(SUBJECT)


def test_nobody_in_the_registry_is_not_a_subject():
    """An unknown identifier, and no near-match, resolves to nobody."""
    assert resolve(_index(case_event()), _incident_from(CRN)) == NotASubject()


def test_identifiers_added_later_resolve_from_then_on():
    """A CRN is unknown until IDENTIFIERS_ADDED carries it, then resolves."""
    index = _index(case_event())
    before = resolve(index, _incident_from(CRN))
    index_case(index, case_event(identifiers=(PNC, CRN), event_type=CaseEventType.IDENTIFIERS_ADDED))
    assert before == NotASubject() and resolve(index, _incident_from(CRN)) == Resolved(SUBJECT)


def test_a_replaced_snapshot_drops_removed_identifiers():
    """A snapshot without an identifier no longer resolves it."""
    index = _index(case_event(identifiers=(PNC, CRN)), case_event(identifiers=(CRN,)))
    assert resolve(index, _incident_from(PNC)) == NotASubject()


def test_a_closed_case_is_removed():
    """After CASE_CLOSED the identifiers resolve to nobody."""
    index = _index(case_event(), case_event(status=CaseStatus.CLOSED, event_type=CaseEventType.CASE_CLOSED))
    assert resolve(index, _incident_from(PNC)) == NotASubject()


def test_a_near_match_is_a_possible_match_never_resolved():
    """Same name hash and date of birth but no shared identifier: PossibleMatch, not Resolved."""
    index = _index(case_event(name_hash=NAME_HASH, dob=DOB))
    result = resolve(index, _incident_from(CRN, name_hash=NAME_HASH, dob=DOB))
    assert result == PossibleMatch((SUBJECT,))


def test_a_near_match_needs_both_name_hash_and_birth_date():
    """The same name hash with another date of birth is nobody."""
    index = _index(case_event(name_hash=NAME_HASH, dob=DOB))
    assert resolve(index, _incident_from(CRN, name_hash=NAME_HASH, dob=date(1990, 1, 1))) == NotASubject()
    assert resolve(index, _incident_from(CRN, name_hash=None, dob=DOB)) == NotASubject()


def test_the_index_round_trips_through_a_dict():
    """to_dict/from_dict keep every lookup."""
    index = _index(case_event(name_hash=NAME_HASH, dob=DOB), case_event(subject="DRV-2", identifiers=(CRN,)))
    again = IdentityIndex.from_dict(index.to_dict())
    assert again.by_identifier == index.by_identifier and again.by_near == index.by_near


def test_possible_match_alert_asks_the_case_manager_only():
    """The possible-match alert goes to the case manager, naming agency, event type and identifier, no name."""
    e = _incident_from(CRN, name_hash=SEEDED_NAME, dob=DOB)
    alert = possible_match_alert(e, subject(), T0)
    [recipient] = alert.recipients
    assert alert.rule == "identity.possible_match" and alert.severity.value == "HIGH"
    assert (recipient.staff_id, recipient.role) == (CM, StaffRole.CASE_MANAGER)
    for part in ("POLICE-WM", "DOMESTIC_INCIDENT", "PROBATION_CRN:X123456", "Confirm"):
        assert part in recipient.text
    assert SEEDED_NAME not in recipient.text and len(recipient.text) <= 200


def test_possible_match_is_raised_once_per_event():
    """apply_possible_match remembers the alert: the same event again raises nothing."""
    e = _incident_from(CRN, name_hash=NAME_HASH, dob=DOB)
    state, first = apply_possible_match(subject(), e, T0, CONFIG)
    _, second = apply_possible_match(state, e, T0, CONFIG)
    assert len(first) == 1 and second == []
