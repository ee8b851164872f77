"""What protects each client: release texts ("NO conditions protecting your client" or the kinds in force) and
variations (weakened in content to the IDVAs it protected, or only varied to the case manager)."""
from __future__ import annotations

import pytest

from schemas.details import (
    Arrest,
    CustodyRelease,
    OrderDischarged,
    PrisonRelease,
    ReleasedUnderInvestigation,
)
from schemas.enums import (
    BailEventType,
    ConditionKind,
    CourtEventType,
    CustodyReleaseType,
    IncidentEventType,
    LocationKind,
    OffenceCategory,
    OrderType,
    PrisonReleaseType,
    StaffRole,
)
from schemas.shared import Condition, CurfewHours, LocationRef
from tests.unit.rules_fixtures import (
    CM,
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
    bail_varied,
    condition,
    event,
    order,
    order_varied,
    run,
    subject,
)

NONE_FOR_CLIENT = "NO conditions protecting your client"
ADDRESS = LocationRef(kind=LocationKind.UPRN, value="100070345678")


def curfew(hours: tuple[str, str] = ("19:00", "07:00"), cid: str = "C9") -> Condition:
    return Condition(condition_id=cid, kind=ConditionKind.CURFEW, location_ref=ADDRESS,
                     curfew=CurfewHours(start=hours[0], end=hours[1]), starts_at=T0 - 10 * DAY)


def _custody(kind=CustodyReleaseType.NO_FURTHER_ACTION):
    return event(IncidentEventType.CUSTODY_RELEASE, CustodyRelease(custody_ref="C-1", force_area="WM",
                                                                   release_type=kind))


def _rui():
    return event(BailEventType.RELEASED_UNDER_INVESTIGATION, ReleasedUnderInvestigation(force_area="WM",
                                                                                         bail_ref="BAIL-1"))


def _arrest():
    return event(IncidentEventType.ARREST, Arrest(force_area="WM", offence_category=OffenceCategory.ASSAULT),
                 at=T0 - HOUR)


def _prison(*conds):
    return event(CourtEventType.PRISON_RELEASE, PrisonRelease(prison_code="BMI", release_type=PrisonReleaseType.LICENCE,
                                                              licence_conditions=conds))


def texts(alert) -> dict[str | None, str]:
    """Each recipient's text by victim ref (None: the case manager)."""
    return {r.victim_ref: r.text for r in alert.recipients}


@pytest.mark.parametrize("before, release, v1, v2, manager", [
    ([], bail(at=T0), NONE_FOR_CLIENT, NONE_FOR_CLIENT, "NO conditions in force"),
    ([], bail(NO_CONTACT_V1, at=T0), "in force: no contact", NONE_FOR_CLIENT,
     "in force: no contact; NO protection for VIC-B2"),
    ([], bail(NO_CONTACT_V1, NO_CONTACT_V2, ZONE_EXCLUSION, at=T0), "in force: no contact", "in force: no contact",
     "in force: no contact, exclusion zone)"),
    ([], bail(condition("C5", ConditionKind.EXCLUSION_ZONE, loc=HOME_V1), at=T0), "in force: exclusion zone",
     NONE_FOR_CLIENT, "NO protection for VIC-B2"),
    ([], bail(curfew(), at=T0), f"{NONE_FOR_CLIENT}; curfew in force", f"{NONE_FOR_CLIENT}; curfew in force",
     "in force: curfew; NO protection for VIC-A1, VIC-B2"),
    ([order(NO_CONTACT_V2)], _custody(), NONE_FOR_CLIENT, "in force: no contact", "NO protection for VIC-A1"),
    ([bail(NO_CONTACT_V1, at=T0 - DAY), _arrest()], _rui(), NONE_FOR_CLIENT, NONE_FOR_CLIENT, "NO conditions in force"),
    ([order(condition("C1", ConditionKind.NO_CONTACT, person=V1, end=T0 - DAY))], _custody(), NONE_FOR_CLIENT,
     NONE_FOR_CLIENT, "NO conditions in force"),
    ([order(condition("C1", ConditionKind.NO_CONTACT, person=V1, start=T0 + DAY))], _custody(), NONE_FOR_CLIENT,
     NONE_FOR_CLIENT, "NO conditions in force"),
    ([bail(NO_CONTACT_V2, at=T0 - DAY)], _prison(NO_CONTACT_V1), "in force: no contact", "in force: no contact",
     "in force: no contact)"),
    ([], _prison(), NONE_FOR_CLIENT, NONE_FOR_CLIENT, "NO conditions in force"),
], ids=["bail-none-at-all", "bail-protects-v1", "bail-protects-both", "zone-at-v1-home", "curfew-only",
        "custody-order-protects-v2", "rui-ends-the-bail", "ended-before", "starts-after", "licence-and-bail",
        "licence-none"])
def test_a_release_says_what_protects_each_client(before, release, v1, v2, manager):
    """Each IDVA is told the kinds protecting their client, or that none does; the case manager who has none."""
    state, _ = run(subject(), *before)
    _, alerts = run(state, release)
    [alert] = [a for a in alerts if a.rule.startswith("release.")]
    said = texts(alert)
    assert alert.severity.value == "HIGH" and set(said) == {None, V1, V2}
    assert v1 in said[V1] and v2 in said[V2] and manager in said[None]


def test_an_idva_is_never_told_of_a_condition_protecting_another_victim():
    """Victim 2's IDVA hears nothing of the no-contact and the exclusion zone that protect victim 1."""
    v1_home = condition("C5", ConditionKind.EXCLUSION_ZONE, loc=HOME_V1)
    _, [alert] = run(subject(), bail(NO_CONTACT_V1, v1_home, at=T0))
    said = texts(alert)
    assert said[V2].count("no contact") == 0 and "exclusion zone" not in said[V2] and V1 not in said[V2]


V1_ZONE = condition("C5", ConditionKind.EXCLUSION_ZONE, loc=HOME_V1)
V1_ZONE_MOVED = condition("C5", ConditionKind.EXCLUSION_ZONE, loc=LocationRef(kind=LocationKind.UPRN,
                                                                              value="100070000001"))
V2_NARROWED = condition("C2", ConditionKind.OTHER, person=V2)
ENDING = condition("C1", ConditionKind.NO_CONTACT, person=V1, end=T0 + 30 * DAY)
CUT, WIDER = ("21:00", "06:00"), ("18:00", "08:00")
LONGER = condition("C1", ConditionKind.NO_CONTACT, person=V1, end=T0 + 90 * DAY)


@pytest.mark.parametrize("before, variation, rule, to, words", [
    (bail(NO_CONTACT_V1, curfew()), bail_varied((NO_CONTACT_V1, curfew()), (NO_CONTACT_V1, curfew(CUT))),
     "conditions.weakened", {CM, IDVA1, IDVA2}, "curfew hours cut; bail varied"),
    (order(V1_ZONE), order_varied((V1_ZONE,), (V1_ZONE_MOVED,)), "conditions.weakened", {CM, IDVA1},
     "exclusion zone moved or made smaller; DVPO varied"),
    (order(NO_CONTACT_V2), order_varied((NO_CONTACT_V2,), (V2_NARROWED,)), "conditions.weakened", {CM, IDVA2},
     "no contact narrowed"),
    (bail(NO_CONTACT_V1, curfew()), bail_varied((NO_CONTACT_V1, curfew()), (curfew(),)), "conditions.weakened",
     {CM, IDVA1}, "no contact removed"),
    (bail(NO_CONTACT_V1), bail_varied((NO_CONTACT_V1,), (NO_CONTACT_V1, curfew())), "conditions.varied", {CM},
     "curfew added; bail varied"),
    (bail(NO_CONTACT_V1, curfew()), bail_varied((NO_CONTACT_V1, curfew()), (NO_CONTACT_V1, curfew(WIDER))),
     "conditions.varied", {CM}, "bail varied"),
    (bail(ENDING), bail_varied((ENDING,), (LONGER,)), "conditions.varied", {CM}, "bail varied"),
    (bail(NO_CONTACT_V1), bail_varied((NO_CONTACT_V1,), (NO_CONTACT_V1,)), None, set(), ""),
], ids=["curfew-hours-cut", "zone-moved", "no-contact-narrowed", "no-contact-removed", "condition-added",
        "curfew-longer", "end-later", "unchanged"])
def test_a_variation_is_weakened_to_those_it_protected_or_only_varied(before, variation, rule, to, words):
    """Weaker in any condition: HIGH to the IDVAs it protected, saying which kind and how; tighter: MEDIUM to the
    case manager; the same: nothing."""
    state, _ = run(subject(), before)
    _, alerts = run(state, variation)
    if rule is None:
        assert alerts == []
        return
    [alert] = alerts
    assert alert.rule == rule and {r.staff_id for r in alert.recipients} == to
    assert all(words in r.text for r in alert.recipients)
    assert alert.severity.value == ("HIGH" if rule == "conditions.weakened" else "MEDIUM")


def test_a_discharge_says_which_kinds_ended():
    """An order discharged: the kinds its conditions were, ended."""
    state, _ = run(subject(), order(NO_CONTACT_V1, V1_ZONE))
    _, [alert] = run(state, event(CourtEventType.ORDER_DISCHARGED, OrderDischarged(order_ref="DVPO-1",
                                                                                   order_type=OrderType.DVPO)))
    idva = next(r for r in alert.recipients if r.role == StaffRole.IDVA)
    assert "no contact, exclusion zone ended; DVPO discharged" in idva.text
