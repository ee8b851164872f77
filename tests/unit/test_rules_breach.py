"""Breach rules: a breach is judged at event time against the conditions in force then."""
from __future__ import annotations

import pytest

from schemas.details import BailVaried, EmSignalLoss, EmTagTamper, OrderDischarged
from schemas.enums import BailEventType, BreachEventType, ConditionKind, CourtEventType, LocationKind, OrderType
from schemas.shared import LocationRef
from tests.unit.rules_fixtures import (
    CHILD_OF_V1,
    CM,
    DAY,
    HOUR,
    IDVA1,
    IDVA2,
    NO_CONTACT_V1,
    NO_CONTACT_V2,
    T0,
    V1,
    V2,
    ZONE,
    ZONE_EXCLUSION,
    bail,
    breach_report,
    condition,
    event,
    from_sample,
    incident,
    order,
    rules,
    run,
    subject,
    zone_entry,
)

NC = ConditionKind.NO_CONTACT


@pytest.mark.parametrize("report, expected", [
    (breach_report(NC, condition_id="C1", bail_ref="BAIL-1"), ["breach.no_contact"]),
    (breach_report(NC, bail_ref="BAIL-1"), ["breach.no_contact"]),
    (breach_report(NC, protected_person_ref=V1), ["breach.no_contact"]),
    (breach_report(ConditionKind.EXCLUSION_ZONE, location_ref=ZONE), ["breach.exclusion_zone"]),
    (zone_entry(T0), ["breach.exclusion_zone"]),
    (incident(V1), ["breach.no_contact", "incident.new"]),
], ids=["by-condition-id", "by-bail-ref-and-kind", "by-kind-and-person", "by-kind-and-place", "em-zone-entry",
        "incident-naming-protected-victim"])
def test_breach_of_an_active_condition_is_critical(report, expected):
    """A report, zone entry or incident matching an active condition raises the breach of its kind."""
    state, _ = run(subject(), bail(NO_CONTACT_V1, ZONE_EXCLUSION))
    _, alerts = run(state, report)
    assert rules(alerts) == expected
    assert {a.severity.value for a in alerts if a.rule.startswith("breach.")} == {"CRITICAL"}


def test_contact_after_the_condition_ended_is_not_a_breach():
    """A no-contact condition that ended an hour before the contact is not breached."""
    ended = condition("C1", NC, person=V1, end=T0 - HOUR)
    state, _ = run(subject(), bail(ended))
    _, alerts = run(state, breach_report(NC, protected_person_ref=V1), incident(V1))
    assert "breach.no_contact" not in rules(alerts)


def test_contact_before_the_condition_started_is_not_a_breach():
    """A condition starting after the contact is not breached by it."""
    future = condition("C1", NC, person=V1, start=T0 + HOUR)
    state, _ = run(subject(), bail(future))
    _, alerts = run(state, breach_report(NC, protected_person_ref=V1))
    assert alerts == []


def test_the_condition_end_instant_itself_is_not_covered():
    """A contact exactly when the condition ends is after it."""
    state, _ = run(subject(), bail(condition("C1", NC, person=V1, end=T0)))
    _, alerts = run(state, breach_report(NC, condition_id="C1"))
    assert alerts == []


def _discharge(at):
    return event(CourtEventType.ORDER_DISCHARGED, OrderDischarged(order_ref="DVPO-1", order_type=OrderType.DVPO),
                 at=at)


def test_a_condition_of_a_discharged_order_is_not_breached():
    """Contact after the order was discharged is not a breach of its condition."""
    state, _ = run(subject(), order(NO_CONTACT_V1), _discharge(T0 - DAY))
    _, alerts = run(state, breach_report(NC, order_ref="DVPO-1"))
    assert alerts == []


def test_a_late_report_of_contact_before_the_discharge_is_still_a_breach():
    """Judged at event time: a contact before the discharge breached the order even if reported after it."""
    state, _ = run(subject(), order(NO_CONTACT_V1), _discharge(T0))
    _, alerts = run(state, breach_report(NC, order_ref="DVPO-1", at=T0 - DAY), now=T0 + HOUR)
    assert rules(alerts) == ["breach.no_contact"]


def test_a_condition_removed_by_variation_is_not_breached_afterwards():
    """BAIL_VARIED dropping a condition ends it at the variation."""
    varied = event(BailEventType.BAIL_VARIED, BailVaried(bail_ref="BAIL-1", previous_conditions=(NO_CONTACT_V1,),
                                                         conditions=()), at=T0 - DAY)
    state, _ = run(subject(), bail(NO_CONTACT_V1), varied)
    _, alerts = run(state, breach_report(NC, bail_ref="BAIL-1"))
    assert alerts == []


def test_breach_of_a_victims_condition_reaches_only_that_victims_idva():
    """A no-contact breach about victim 1 goes to the case manager and IDVA 1 only."""
    state, _ = run(subject(), bail(NO_CONTACT_V1, NO_CONTACT_V2))
    _, [alert] = run(state, breach_report(NC, condition_id="C1"))
    assert [(r.staff_id, r.victim_ref) for r in alert.recipients] == [(CM, None), (IDVA1, V1)]


def test_breach_protecting_a_victims_child_reaches_that_victims_idva():
    """A condition protecting victim 1's child concerns victim 1."""
    state, _ = run(subject(), bail(condition("C9", NC, person=CHILD_OF_V1)))
    _, [alert] = run(state, breach_report(NC, protected_person_ref=CHILD_OF_V1))
    assert {r.staff_id for r in alert.recipients} == {CM, IDVA1}


def test_curfew_breach_is_perpetrator_wide():
    """A curfew protects no one in particular, so its breach reaches every IDVA."""
    curfew = condition("C5", ConditionKind.CURFEW, loc=LocationRef(kind=LocationKind.UPRN, value="1000"))
    state, _ = run(subject(), bail(curfew))
    _, [alert] = run(state, breach_report(ConditionKind.CURFEW, bail_ref="BAIL-1"))
    assert alert.rule == "breach.curfew"
    assert {r.staff_id for r in alert.recipients} == {CM, IDVA1, IDVA2}


def test_em_zone_entry_into_a_school_zone_is_a_school_breach():
    """An EM zone equal to a no-approach-school condition's zone is a school breach."""
    school = condition("C6", ConditionKind.NO_APPROACH_SCHOOL, loc=LocationRef(kind=LocationKind.EM_ZONE,
                                                                              value="ZONE-SCH"))
    state, _ = run(subject(), order(school))
    _, alerts = run(state, zone_entry(T0, zone="ZONE-SCH"))
    assert rules(alerts) == ["breach.school"]


def test_em_zone_entry_into_another_zone_is_not_a_breach():
    """A zone no condition names raises no breach (it waits as an unmatched report)."""
    state, _ = run(subject(), bail(ZONE_EXCLUSION))
    state, alerts = run(state, zone_entry(T0, zone="ZONE-OTHER"))
    assert alerts == [] and len(state.pending) == 1


def test_incident_naming_an_unprotected_victim_is_not_a_breach():
    """An incident about victim 2 does not breach a no-contact condition protecting victim 1."""
    state, _ = run(subject(), bail(NO_CONTACT_V1))
    _, alerts = run(state, incident("VIC-B2"))
    assert "breach.no_contact" not in rules(alerts)


@pytest.mark.parametrize("details, expected", [
    (EmTagTamper(device_ref="TAG-1"), ["breach.em_tamper"]),
    (EmSignalLoss(device_ref="TAG-1", restored=False), ["breach.em_tamper"]),
    (EmSignalLoss(device_ref="TAG-1", restored=True), []),
], ids=["tamper", "signal-lost", "signal-restored"])
def test_em_tamper_and_signal_loss(details, expected):
    """Tamper and an unrestored signal loss are HIGH alerts; a restored signal is not."""
    event_type = BreachEventType.EM_TAG_TAMPER if isinstance(details, EmTagTamper) else BreachEventType.EM_SIGNAL_LOSS
    _, alerts = run(subject(), event(event_type, details))
    assert rules(alerts) == expected


def test_contract_samples_give_a_no_contact_breach():
    """The contract's sample case, bail and breach report flow through to a breach for the sample IDVA."""
    case = from_sample("case", "CASE_OPENED")
    bail_granted = from_sample("bail", "BAIL_GRANTED", occurred_at="2026-11-20T14:00:00Z")
    report = from_sample("breach", "BREACH_REPORTED")
    state, _ = run(subject(), case)
    _, alerts = run(state, bail_granted, report)
    breach = [a for a in alerts if a.rule == "breach.no_contact"]
    assert [(r.staff_id, r.victim_ref) for r in breach[0].recipients] == [("staff-cm-01", None),
                                                                         ("staff-idva-07", "VIC-0001")]


def test_breach_naming_the_bail_and_a_victim_reaches_only_that_victims_idva():
    """A report naming the bail and VIC-2 breaches V2's no-contact condition only: V1's IDVA is not told."""
    state, _ = run(subject(), bail(NO_CONTACT_V1, NO_CONTACT_V2))
    _, alerts = run(state, breach_report(NC, bail_ref="BAIL-1", protected_person_ref=V2))
    [alert] = [a for a in alerts if a.rule == "breach.no_contact"]
    assert {(r.staff_id, r.victim_ref) for r in alert.recipients} == {(CM, None), (IDVA2, V2)}
