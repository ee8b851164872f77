"""Subject state: the compact dict form round-trips and stays small for a realistic subject."""
from __future__ import annotations

import json
import uuid
from dataclasses import replace

from schemas.details import EmZoneEntry
from schemas.enums import BreachEventType, ConditionKind, LocationKind
from schemas.shared import LocationRef
from streams.rules import SubjectState, empty
from tests.unit.rules_fixtures import (
    DAY,
    HOUR,
    NO_CONTACT_V1,
    NO_CONTACT_V2,
    T0,
    V1,
    ZONE,
    bail,
    breach_report,
    condition,
    event,
    incident,
    order,
    run,
    subject,
)


def _uuid_event(e):
    """The event with a realistic 36-character agency id."""
    return replace(e, event_id=str(uuid.uuid4()))


def realistic() -> SubjectState:
    """2 victims, 6 conditions (bail + order), 10 incidents, a pending report, a flap group, custody known."""
    curfew = condition("C4", ConditionKind.CURFEW, loc=LocationRef(kind=LocationKind.UPRN, value="100070345678"))
    school = condition("C5", ConditionKind.NO_APPROACH_SCHOOL, loc=LocationRef(kind=LocationKind.UPRN,
                                                                              value="100070999001"))
    zone = condition("C6", ConditionKind.EXCLUSION_ZONE, loc=ZONE, end=T0 + 60 * DAY)
    events = [bail(NO_CONTACT_V1, NO_CONTACT_V2, curfew, ref="WM-BAIL-3321", expires=T0 + 90 * DAY),
              order(school, zone, condition("C7", ConditionKind.NO_CONTACT, person=V1), ref="DVPO-2026-0091")]
    events += [incident(V1, at=T0 - 60 * DAY + i * 5 * DAY, injury=i % 2 == 0) for i in range(10)]
    events += [breach_report(ConditionKind.OTHER, bail_ref="WM-BAIL-9999"),
               event(BreachEventType.EM_ZONE_ENTRY, EmZoneEntry(device_ref="TAG-00991", zone_ref=ZONE.value))]
    state, _ = run(subject(), *(_uuid_event(e) for e in events), now=T0 + HOUR)
    return state


def test_a_realistic_state_round_trips_through_its_dict():
    """from_dict(to_dict(state)) is the same state."""
    state = realistic()
    assert SubjectState.from_dict(json.loads(json.dumps(state.to_dict()))) == state


def test_a_realistic_state_fits_in_2_kb():
    """The JSON of a realistic subject (2 victims, 6 conditions, 10 incidents, alerts raised) is at most 2 KB."""
    state = realistic()
    assert len(state.conditions) == 6 and len(state.incidents) >= 10 and state.seen_alerts
    assert len(json.dumps(state.to_dict(), separators=(",", ":"))) <= 2048


def test_the_dict_holds_no_none_values():
    """The compact form leaves out absent values at every level."""
    def walk(value):
        if isinstance(value, dict):
            return all(v is not None and walk(v) for v in value.values())
        if isinstance(value, list):
            return all(v is not None and walk(v) for v in value)
        return True
    assert walk(realistic().to_dict())


def test_an_empty_state_round_trips():
    """The empty state of a subject has only its id."""
    state = empty("DRV-9")
    assert state.to_dict() == {"s": "DRV-9"} and SubjectState.from_dict({"s": "DRV-9"}) == state
