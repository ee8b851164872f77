"""Routing and texts: registry recipients only, each IDVA only about their client, minimised short texts."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schemas.details import CustodyRelease, LinkedVictim
from schemas.enums import ConditionKind, CustodyReleaseType, IncidentEventType, StaffRole
from streams.rules import RULES
from streams.rules.breach import BREACH_NO_CONTACT
from streams.rules.incidents import INCIDENT_POSSIBLE_NEW_VICTIM
from streams.rules.release import RELEASE_CUSTODY
from streams.rules.routing import Target, targets
from streams.rules.text import MAX_CHARS, alert_ref, render, uk_time
from tests.unit.rules_fixtures import (
    CM,
    DAY,
    IDVA1,
    IDVA2,
    NO_CONTACT_V1,
    NO_CONTACT_V2,
    SEEDED_ADDRESS,
    SEEDED_NAME,
    SUBJECT,
    T0,
    V1,
    V2,
    bail,
    breach_report,
    event,
    incident,
    run,
    subject,
    tick,
)


def _release():
    return event(IncidentEventType.CUSTODY_RELEASE, CustodyRelease(custody_ref="C-1", force_area="WM",
                                                                   release_type=CustodyReleaseType.BAILED))


@pytest.mark.parametrize("rule, victims, expected", [
    (BREACH_NO_CONTACT, (V1,), [(CM, None), (IDVA1, V1)]),
    (BREACH_NO_CONTACT, (V2,), [(CM, None), (IDVA2, V2)]),
    (BREACH_NO_CONTACT, ("VIC-UNLINKED",), [(CM, None), (IDVA1, V1), (IDVA2, V2)]),
    (RELEASE_CUSTODY, (V1,), [(CM, None), (IDVA1, V1), (IDVA2, V2)]),
    (INCIDENT_POSSIBLE_NEW_VICTIM, (V1,), [(CM, None)]),
], ids=["victim-1", "victim-2", "no-linked-victim-named", "perpetrator-wide", "case-manager-only"])
def test_recipients_follow_the_rule_policy(rule, victims, expected):
    """Victim-specific, perpetrator-wide and case-manager-only policies pick recipients from the registry."""
    got = targets(subject().case, rule, victims)
    assert [(t.staff_id, t.victim_ref) for t in got] == expected


def test_a_victim_without_an_idva_simply_has_none():
    """Victim 2 without an IDVA: a release reaches the case manager and IDVA 1 only."""
    state = subject(linked=(LinkedVictim(victim_ref=V1, idva_id=IDVA1), LinkedVictim(victim_ref=V2)))
    got = targets(state.case, RELEASE_CUSTODY)
    assert [(t.staff_id, t.victim_ref) for t in got] == [(CM, None), (IDVA1, V1)]


def test_one_idva_of_two_victims_gets_one_entry_per_victim():
    """An IDVA supporting both victims gets one recipient entry per client."""
    state = subject(linked=(LinkedVictim(victim_ref=V1, idva_id=IDVA1), LinkedVictim(victim_ref=V2, idva_id=IDVA1)))
    _, [alert] = run(state, _release())
    assert [(r.staff_id, r.victim_ref) for r in alert.recipients] == [(CM, None), (IDVA1, V1), (IDVA1, V2)]


def test_no_case_no_recipients():
    """Without a registry entry nobody is a recipient."""
    assert targets(None, RELEASE_CUSTODY) == ()


def test_an_idvas_release_text_never_names_the_other_victim():
    """Both IDVAs get the release, each text naming only their own client."""
    _, [alert] = run(subject(), _release())
    texts = {r.victim_ref: r.text for r in alert.recipients if r.role == StaffRole.IDVA}
    assert V1 in texts[V1] and V2 not in texts[V1]
    assert V2 in texts[V2] and V1 not in texts[V2]
    assert all(SUBJECT not in t for t in texts.values())


def test_an_unlinked_victims_ref_never_reaches_any_idva():
    """An incident naming an unlinked victim: no IDVA text carries that ref."""
    _, alerts = run(subject(), incident("VIC-UNLINKED", V1))
    idva_texts = [r.text for a in alerts for r in a.recipients if r.role == StaffRole.IDVA]
    assert idva_texts and all("VIC-UNLINKED" not in t for t in idva_texts)
    assert all(r.victim_ref in (None, V1, V2) for a in alerts for r in a.recipients)


def test_a_victim_specific_alert_text_reaches_only_that_victims_idva():
    """A breach about victim 1 gives IDVA 2 nothing."""
    state, _ = run(subject(), bail(NO_CONTACT_V1, NO_CONTACT_V2))
    _, [alert] = run(state, breach_report(ConditionKind.NO_CONTACT, condition_id="C1"))
    assert IDVA2 not in {r.staff_id for r in alert.recipients}


def test_texts_carry_severity_ref_case_time_and_action():
    """The case manager text has severity, alert ref, case ref, UK time and an action."""
    _, [alert] = run(subject(), _release())
    cm_text = alert.recipients[0].text
    assert cm_text.startswith(f"DRIVE HIGH {alert_ref(alert.alert_id)}: ")
    assert f"Case {SUBJECT}" in cm_text and "At 09:41 GMT 22/11" in cm_text and "Review" in cm_text


def test_uk_time_follows_british_summer_time():
    """Event times are shown in UK local time (BST in summer)."""
    assert uk_time(datetime(2026, 7, 1, 9, 41, tzinfo=UTC)) == "10:41 BST 01/07"
    assert uk_time(datetime(2026, 12, 1, 9, 41, tzinfo=UTC)) == "09:41 GMT 01/12"


def test_alert_ref_is_the_first_8_characters_upper_case():
    """Staff quote the first 8 characters of the alert id, upper-case."""
    assert alert_ref("5c2e9f0aabcdef0123456789") == "5C2E9F0A"


@pytest.mark.parametrize("rule_id", sorted(RULES))
@pytest.mark.parametrize("role, victim", [(StaffRole.CASE_MANAGER, None), (StaffRole.IDVA, "V" * 40)])
def test_every_rule_text_fits_200_characters(rule_id, role, victim):
    """Even with long refs and detail, every rule's text for either role is at most 200 characters."""
    text = render(RULES[rule_id], Target("s", role, victim), alert_id="a" * 24, subject_id="S" * 60, at=T0,
                  detail="D" * 120, victim_refs=("V" * 50,))
    assert len(text) <= MAX_CHARS


def test_seeded_names_and_addresses_never_reach_a_text():
    """Free-text-like values in agency refs and the name hash never appear in any text."""
    state, _ = run(subject(), bail(NO_CONTACT_V1, ref=SEEDED_ADDRESS, expires=T0 + DAY))
    release = event(IncidentEventType.CUSTODY_RELEASE, CustodyRelease(
        custody_ref=SEEDED_NAME, force_area="WM", release_type=CustodyReleaseType.BAILED), name_hash=SEEDED_NAME)
    report = breach_report(ConditionKind.NO_CONTACT, bail_ref=SEEDED_ADDRESS, protected_person_ref=V1)
    inc = incident(V1)
    state, alerts = run(state, release, report, inc)
    _, warnings = tick(state, T0)
    alerts += warnings
    assert "expiry.upcoming" in {a.rule for a in alerts}
    texts = [r.text for a in alerts for r in a.recipients]
    assert len(alerts) >= 3
    assert not any(SEEDED_NAME in t or SEEDED_ADDRESS in t or inc.details.incident_ref in t for t in texts)
