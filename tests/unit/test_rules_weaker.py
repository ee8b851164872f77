"""What makes a varied condition weaker, per kind (streams/rules/weaker.py): table tests."""
from __future__ import annotations

from dataclasses import replace

import pytest

from schemas.enums import ConditionKind
from streams.rules.state import ActiveCondition, SourceKind
from streams.rules.weaker import covers, curfew_spans, weakening
from tests.unit.rules_fixtures import DAY, T0

K = ConditionKind


def _c(kind: ConditionKind, **fields) -> ActiveCondition:
    base = ActiveCondition(SourceKind.BAIL, "BAIL-1", "C1", kind, starts_at=T0 - DAY, ends_at=T0 + 30 * DAY)
    return replace(base, **fields)


NC = _c(K.NO_CONTACT, protected_person_ref="VIC-A1")
ZONE = _c(K.EXCLUSION_ZONE, location="EM_ZONE:Z-1")
SCHOOL = _c(K.NO_APPROACH_SCHOOL, location="UPRN:100070999001")
CURFEW = _c(K.CURFEW, curfew="19:00-07:00", location="UPRN:100070345678")
RESIDENCE = _c(K.RESIDENCE, location="UPRN:100070345678")
REPORTING = _c(K.OTHER)


@pytest.mark.parametrize("old, new, expected", [
    (NC, None, "removed"),
    (NC, NC, None),
    (NC, replace(NC, kind=K.OTHER), "narrowed"),
    (NC, replace(NC, protected_person_ref="VIC-B2"), "person_changed"),
    (NC, replace(NC, protected_person_ref=None), "person_changed"),
    (NC, replace(NC, ends_at=T0 + 5 * DAY), "ends_earlier"),
    (NC, replace(NC, ends_at=None), None),
    (NC, replace(NC, ends_at=T0 + 60 * DAY), None),
    (NC, replace(NC, source_expires_at=T0 + 5 * DAY), "ends_earlier"),
    (NC, replace(NC, starts_at=T0 + DAY), "starts_later"),
    (NC, replace(NC, starts_at=T0 - 5 * DAY), None),
    (ZONE, replace(ZONE, location="EM_ZONE:Z-2"), "place_changed"),
    (ZONE, replace(ZONE, location=None), "place_changed"),
    (ZONE, ZONE, None),
    (SCHOOL, replace(SCHOOL, location="UPRN:100070999002"), "place_changed"),
    (CURFEW, replace(CURFEW, curfew="21:00-06:00"), "hours_cut"),
    (CURFEW, replace(CURFEW, curfew="20:00-07:00"), "hours_cut"),
    (CURFEW, replace(CURFEW, curfew="18:00-08:00"), None),
    (CURFEW, replace(CURFEW, curfew="20:00-08:00"), "hours_cut"),
    (CURFEW, replace(CURFEW, curfew="00:00-00:00"), None),
    (CURFEW, replace(CURFEW, curfew=None), "hours_cut"),
    (CURFEW, replace(CURFEW, location="UPRN:100070111111"), "moved"),
    (CURFEW, replace(CURFEW, kind=K.OTHER), "removed"),
    (RESIDENCE, None, "removed"),
    (RESIDENCE, replace(RESIDENCE, location="UPRN:100070111111"), "moved"),
    (RESIDENCE, RESIDENCE, None),
    (REPORTING, None, "removed"),
    (REPORTING, replace(REPORTING, location="UPRN:1"), None),
    (REPORTING, replace(REPORTING, ends_at=T0), "ends_earlier"),
], ids=["nc-removed", "nc-same", "nc-except-via-solicitor", "nc-other-person", "nc-no-person", "nc-ends-earlier",
        "nc-open-ended", "nc-ends-later", "nc-source-expires-earlier", "nc-starts-later", "nc-starts-earlier",
        "zone-moved", "zone-no-place", "zone-same", "school-moved", "curfew-cut-both-ends", "curfew-starts-later",
        "curfew-longer", "curfew-shifted", "curfew-all-day", "curfew-no-hours", "curfew-address-moved",
        "curfew-other-kind", "residence-removed", "residence-moved", "residence-same", "reporting-dropped",
        "reporting-content", "reporting-ends-earlier"])
def test_weaker_per_kind(old: ActiveCondition, new: ActiveCondition | None, expected: str | None) -> None:
    """Removed, another kind, shorter, or weaker in its own content is weaker; the same or more is not."""
    assert weakening(old, new) == expected


@pytest.mark.parametrize("new, old, expected", [
    ("19:00-07:00", "19:00-07:00", True),
    ("18:00-08:00", "19:00-07:00", True),
    ("21:00-06:00", "19:00-07:00", False),
    ("19:00-07:00", None, True),
    (None, "19:00-07:00", False),
    ("22:00-23:00", "22:00-24:00", False),
    ("21:00-24:00", "22:00-00:00", True),
    ("00:00-00:00", "13:00-12:00", True),
    ("7pm-7am", "7pm-7am", True),
    ("7pm-6am", "7pm-7am", False),
], ids=["same", "wider", "cut", "no-old-hours", "no-new-hours", "midnight-as-24", "to-midnight", "all-day", "unreadable-same",
        "unreadable-changed"])
def test_covers(new: str | None, old: str | None, expected: bool) -> None:
    """New curfew hours cover the old ones minute by minute (overnight wraps; unreadable: only if unchanged)."""
    assert covers(new, old) is expected


def test_curfew_spans_wrap_overnight() -> None:
    """19:00-07:00 is two spans over midnight; start == end is the whole day; nonsense is unreadable."""
    assert curfew_spans("19:00-07:00") == ((19 * 60, 24 * 60), (0, 7 * 60))
    assert curfew_spans("08:00-20:00") == ((8 * 60, 20 * 60),)
    assert curfew_spans("08:00-08:00") == ((0, 24 * 60),)
    assert curfew_spans("25:00-07:00") is None and curfew_spans("19:00") is None
