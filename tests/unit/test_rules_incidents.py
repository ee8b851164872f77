"""Incident rules: new incident, possible new victim, other force area, and escalation by frequency and severity."""
from __future__ import annotations

import pytest

from schemas.details import Arrest
from schemas.enums import ConditionKind, IncidentEventType, OffenceCategory
from tests.unit.rules_fixtures import (
    CHILD_OF_V1,
    CM,
    CONFIG,
    DAY,
    HOUR,
    IDVA1,
    IDVA2,
    T0,
    V1,
    V2,
    breach_report,
    event,
    incident,
    rules,
    run,
    subject,
)


def test_new_incident_about_a_linked_victim_reaches_only_their_idva():
    """incident.new naming victim 1 goes to the case manager and IDVA 1."""
    _, [alert] = run(subject(), incident(V1))
    assert alert.rule == "incident.new" and alert.severity.value == "HIGH"
    assert [(r.staff_id, r.victim_ref) for r in alert.recipients] == [(CM, None), (IDVA1, V1)]


def test_new_incident_naming_no_victim_is_perpetrator_wide():
    """An incident naming nobody reaches every IDVA."""
    _, [alert] = run(subject(), incident())
    assert {r.staff_id for r in alert.recipients} == {CM, IDVA1, IDVA2}


@pytest.mark.parametrize("victim_refs, expected", [
    ((V1,), ["incident.new"]),
    ((CHILD_OF_V1,), ["incident.new"]),
    (("VIC-NEW9",), ["incident.possible_new_victim"]),
    ((V2, "VIC-NEW9"), ["incident.new", "incident.possible_new_victim"]),
], ids=["linked", "protected-child", "unlinked", "linked-and-unlinked"])
def test_possible_new_victim_fires_only_for_an_unlinked_victim(victim_refs, expected):
    """A victim ref not linked to the case (nor protected with a linked victim) is the serial pattern."""
    _, alerts = run(subject(), incident(*victim_refs))
    assert rules(alerts) == expected


def test_possible_new_victim_goes_to_the_case_manager_only():
    """The serial-pattern alert never reaches an IDVA."""
    _, alerts = run(subject(), incident("VIC-NEW9"))
    [alert] = [a for a in alerts if a.rule == "incident.possible_new_victim"]
    assert [r.staff_id for r in alert.recipients] == [CM]


@pytest.mark.parametrize("e, expected", [
    (incident(V1, force_area="GMP"), True),
    (incident(V1, force_area="WM"), False),
    (event(IncidentEventType.ARREST, Arrest(force_area="MET", offence_category=OffenceCategory.ASSAULT)), True),
    (breach_report(ConditionKind.NO_CONTACT, force_area="MET"), True),
    (breach_report(ConditionKind.NO_CONTACT), False),
], ids=["incident-elsewhere", "incident-at-home", "arrest-elsewhere", "breach-elsewhere", "breach-no-area"])
def test_activity_in_another_force_area(e, expected):
    """Activity recorded by a force other than the case's home force alerts the case manager."""
    _, alerts = run(subject(), e)
    hits = [a for a in alerts if a.rule == "activity.other_force_area"]
    assert bool(hits) == expected
    assert all([r.staff_id for r in a.recipients] == [CM] for a in hits)


def _escalations(alerts, rule="escalation.frequency"):
    return [a for a in alerts if a.rule == rule]


@pytest.mark.parametrize("count, expected", [(2, 0), (3, 1), (5, 1)])
def test_frequency_escalation_threshold_once_per_window(count, expected):
    """escalation_min_events incidents within the window escalate once; more in the same window do not repeat."""
    events = [incident(V1, at=T0 + i * DAY) for i in range(count)]
    _, alerts = run(subject(), *events)
    assert len(_escalations(alerts)) == expected


def test_frequency_counts_breaches_too():
    """Two incidents and a breach report reach the threshold of three."""
    _, alerts = run(subject(), incident(V1), incident(V1, at=T0 + DAY),
                    breach_report(ConditionKind.NO_CONTACT, at=T0 + 2 * DAY))
    [alert] = _escalations(alerts)
    assert len(alert.trigger_event_ids) == 3


def test_frequency_ignores_events_outside_the_window():
    """Incidents spread wider than the window do not escalate."""
    gap = CONFIG.escalation_window / 2 + HOUR
    _, alerts = run(subject(), *(incident(V1, at=T0 + i * gap) for i in range(3)))
    assert _escalations(alerts) == []


def test_frequency_escalates_again_in_a_later_window():
    """After a full window, a new cluster escalates again."""
    later = T0 + CONFIG.escalation_window + DAY
    events = [incident(V1, at=T0 + i * HOUR) for i in range(3)] + [incident(V1, at=later + i * HOUR) for i in range(3)]
    _, alerts = run(subject(), *events)
    assert len(_escalations(alerts)) == 2


@pytest.mark.parametrize("first, second, expected", [
    (dict(), dict(injury=True), 1),
    (dict(injury=True), dict(injury=True), 0),
    (dict(weapon=True), dict(injury=True), 0),
    (dict(injury=True), dict(), 0),
], ids=["first-injury", "same-score", "lower-score", "less-severe"])
def test_severity_escalation_when_an_incident_is_worse_than_all_before(first, second, expected):
    """An incident scoring higher than every earlier one in the window escalates."""
    _, alerts = run(subject(), incident(V1, **first), incident(V1, at=T0 + DAY, **second))
    assert len(_escalations(alerts, "escalation.severity")) == expected


def test_the_first_incident_is_no_severity_escalation():
    """With nothing earlier to compare with, even a weapon is no escalation (incident.new says it)."""
    _, alerts = run(subject(), incident(V1, weapon=True, injury=True))
    assert _escalations(alerts, "escalation.severity") == []


def test_severity_ignores_incidents_before_the_window():
    """An earlier incident outside the window is not compared with."""
    _, alerts = run(subject(), incident(V1), incident(V1, at=T0 + CONFIG.escalation_window + DAY, weapon=True))
    assert _escalations(alerts, "escalation.severity") == []
