"""conditions.weakened and expiry.upcoming: protection removed or ending, told to the IDVAs it protected."""
from __future__ import annotations

import pytest

from schemas.details import BailExpired, ChargeDecision, OrderDischarged, OrderExpired, OrderVaried
from schemas.enums import (
    BailEventType,
    ChargeOutcome,
    ConditionKind,
    CourtEventType,
    IncidentEventType,
    OffenceCategory,
    OrderType,
)
from tests.unit.rules_fixtures import (
    CM,
    CONFIG,
    DAY,
    HOUR,
    IDVA1,
    IDVA2,
    NO_CONTACT_V1,
    NO_CONTACT_V2,
    T0,
    V2,
    ZONE_EXCLUSION,
    bail,
    bail_varied,
    condition,
    event,
    order,
    rules,
    run,
    subject,
    tick,
)


def _order_end(cls, event_type, ref="DVPO-1"):
    return event(event_type, cls(order_ref=ref, order_type=OrderType.DVPO))


def _charge(decision):
    return event(IncidentEventType.CHARGE_DECISION, ChargeDecision(force_area="WM", decision=decision,
                                                                   offence_category=OffenceCategory.ASSAULT))


LATER_END = condition("C2", ConditionKind.NO_CONTACT, person=V2, end=T0 + 60 * DAY)
EARLIER_END = condition("C2", ConditionKind.NO_CONTACT, person=V2, end=T0 + 5 * DAY)


@pytest.mark.parametrize("before, e, expected", [
    ([bail(NO_CONTACT_V1, NO_CONTACT_V2)], bail_varied((NO_CONTACT_V1, NO_CONTACT_V2), (NO_CONTACT_V1,)),
     {CM, IDVA2}),
    ([bail(NO_CONTACT_V1, LATER_END)], bail_varied((NO_CONTACT_V1, LATER_END), (NO_CONTACT_V1, EARLIER_END)),
     {CM, IDVA2}),
    ([bail(NO_CONTACT_V1, EARLIER_END)], bail_varied((NO_CONTACT_V1, EARLIER_END), (NO_CONTACT_V1, LATER_END)),
     None),
    ([bail(NO_CONTACT_V1)], bail_varied((NO_CONTACT_V1,), (NO_CONTACT_V1,), expires=T0 + DAY), {CM, IDVA1}),
    ([order(NO_CONTACT_V1, ZONE_EXCLUSION)], event(CourtEventType.ORDER_VARIED, OrderVaried(
        order_ref="DVPO-1", order_type=OrderType.DVPO, previous_conditions=(NO_CONTACT_V1, ZONE_EXCLUSION),
        conditions=(ZONE_EXCLUSION,))), {CM, IDVA1}),
    ([order(NO_CONTACT_V1)], _order_end(OrderDischarged, CourtEventType.ORDER_DISCHARGED), {CM, IDVA1}),
    ([order(NO_CONTACT_V2)], _order_end(OrderExpired, CourtEventType.ORDER_EXPIRED), {CM, IDVA2}),
    ([], _order_end(OrderDischarged, CourtEventType.ORDER_DISCHARGED, ref="UNKNOWN"), {CM, IDVA1, IDVA2}),
    ([bail(NO_CONTACT_V1)], event(BailEventType.BAIL_EXPIRED, BailExpired(bail_ref="BAIL-1")), {CM, IDVA1}),
    ([order(condition("C1", ConditionKind.NO_CONTACT, person="VIC-A1", end=T0 - DAY))],
     _order_end(OrderExpired, CourtEventType.ORDER_EXPIRED), None),
    ([], _charge(ChargeOutcome.NO_FURTHER_ACTION), {CM, IDVA1, IDVA2}),
    ([], _charge(ChargeOutcome.CHARGED), None),
], ids=["bail-condition-removed", "end-moved-earlier", "end-moved-later", "bail-expiry-earlier",
        "order-condition-removed", "order-discharged", "order-expired", "unknown-order-discharged", "bail-expired",
        "already-ended", "nfa", "charged"])
def test_conditions_weakened_reaches_the_idvas_of_the_victims_it_protected(before, e, expected):
    """Protection removed or ended alerts the case manager and the IDVAs of the victims it protected."""
    state, _ = run(subject(), *before)
    _, alerts = run(state, e)
    weakened = [a for a in alerts if a.rule == "conditions.weakened"]
    if expected is None:
        assert weakened == []
    else:
        [alert] = weakened
        assert {r.staff_id for r in alert.recipients} == expected and alert.severity.value == "HIGH"


def test_expiry_warning_is_sent_once():
    """A bail ending within the horizon warns once, however many ticks follow."""
    state, _ = run(subject(), bail(NO_CONTACT_V1, expires=T0 + 2 * DAY))
    state, first = tick(state, T0)
    state, second = tick(state, T0 + HOUR)
    assert rules(first) == ["expiry.upcoming"] and second == []
    assert {r.staff_id for r in first[0].recipients} == {CM, IDVA1}


def test_no_expiry_warning_beyond_the_horizon():
    """An end further away than expiry_horizon is not yet warned about."""
    state, _ = run(subject(), bail(NO_CONTACT_V1, expires=T0 + CONFIG.expiry_horizon + HOUR))
    _, alerts = tick(state, T0)
    assert alerts == []


def test_one_expiry_warning_per_source_not_per_condition():
    """Two conditions of one bail ending together give one warning, for both victims."""
    state, _ = run(subject(), bail(NO_CONTACT_V1, NO_CONTACT_V2, expires=T0 + DAY))
    _, [alert] = tick(state, T0)
    assert {r.staff_id for r in alert.recipients} == {CM, IDVA1, IDVA2}


def test_a_new_expiry_after_variation_is_warned_again():
    """When a variation moves the end, the new end gets its own warning."""
    state, _ = run(subject(), bail(NO_CONTACT_V1, expires=T0 + 2 * DAY))
    state, first = tick(state, T0)
    state, _ = run(state, bail_varied((NO_CONTACT_V1,), (NO_CONTACT_V1,), expires=T0 + DAY))
    _, second = tick(state, T0 + HOUR)
    assert rules(first) == rules(second) == ["expiry.upcoming"]
    assert first[0].alert_id != second[0].alert_id


def test_a_discharged_order_is_not_warned_about():
    """An order already ended by discharge does not get an expiry warning."""
    state, _ = run(subject(), order(NO_CONTACT_V1, expires=T0 + DAY),
                   _order_end(OrderDischarged, CourtEventType.ORDER_DISCHARGED))
    _, alerts = tick(state, T0 + HOUR)
    assert alerts == []
