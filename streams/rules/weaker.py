"""What makes a varied condition weaker than it was, per condition kind, in one place.

A variation lists the conditions after it; each one in force before is compared with the condition of the same id
after it (None: gone). The answer is a key of schemas.alert_text.CHANGE_WORDS, or None when the new condition
protects at least as much. Whatever the kind: gone, another kind, ending earlier or starting later is weaker. Then:

- NO_CONTACT: another (or no) protected person. "Except via solicitor" is not in the contract's codes: an agency
  expresses it by varying the condition to kind OTHER (same id) or replacing it, which is "narrowed" / "removed".
- EXCLUSION_ZONE, NO_APPROACH_SCHOOL: another (or no) place. Codes say nothing about containment, so a zone moved
  and a zone made smaller look the same and both are weaker; a wider zone is added as a condition of its own.
- CURFEW: fewer hours (some minute of the old hours is no longer covered), or another curfew address.
- RESIDENCE: another (or no) address.
- OTHER (e.g. a reporting requirement): nothing to compare; gone or ending earlier only.
"""
from __future__ import annotations

from collections.abc import Callable

from schemas.enums import ConditionKind
from streams.rules.facts import end_later
from streams.rules.state import ActiveCondition

_DAY_MINUTES = 24 * 60


def weakening(old: ActiveCondition, new: ActiveCondition | None) -> str | None:
    """How `new` weakens `old` (a CHANGE_WORDS key), or None when it protects at least as much."""
    if new is None:
        return "removed"
    if new.kind != old.kind:
        return "narrowed" if old.kind == ConditionKind.NO_CONTACT else "removed"
    if end_later(old.end, new.end):
        return "ends_earlier"
    if new.starts_at > old.starts_at:
        return "starts_later"
    return WEAKER_BY_KIND.get(old.kind, _nothing)(old, new)


def _nothing(old: ActiveCondition, new: ActiveCondition) -> str | None:
    return None


def _person(old: ActiveCondition, new: ActiveCondition) -> str | None:
    return "person_changed" if new.protected_person_ref != old.protected_person_ref else None


def _zone(old: ActiveCondition, new: ActiveCondition) -> str | None:
    return "place_changed" if new.location != old.location else None


def _address(old: ActiveCondition, new: ActiveCondition) -> str | None:
    return "moved" if new.location != old.location else None


def _curfew(old: ActiveCondition, new: ActiveCondition) -> str | None:
    if not covers(new.curfew, old.curfew):
        return "hours_cut"
    return _address(old, new)


WEAKER_BY_KIND: dict[ConditionKind, Callable[[ActiveCondition, ActiveCondition], str | None]] = {
    ConditionKind.NO_CONTACT: _person,
    ConditionKind.EXCLUSION_ZONE: _zone,
    ConditionKind.NO_APPROACH_SCHOOL: _zone,
    ConditionKind.CURFEW: _curfew,
    ConditionKind.RESIDENCE: _address,
}


def covers(new: str | None, old: str | None) -> bool:
    """The curfew hours `new` ("HH:MM-HH:MM") cover every minute of `old` (unreadable hours: only if the same)."""
    if old is None:
        return True
    old_spans, new_spans = curfew_spans(old), curfew_spans(new) if new is not None else ()
    if old_spans is None or new_spans is None:
        return new == old
    return all(any(ns <= os and oe <= ne for ns, ne in new_spans) for os, oe in old_spans)


def curfew_spans(hours: str) -> tuple[tuple[int, int], ...] | None:
    """The minutes of the day a curfew covers as [start, end) spans within one day (overnight wraps into two;
    start == end is all day); None if unreadable."""
    try:
        start, end = (_minute(part) for part in hours.split("-"))
    except ValueError:
        return None
    if start < end:
        return ((start, end),)
    if start == end:
        return ((0, _DAY_MINUTES),)
    return ((start, _DAY_MINUTES), (0, end)) if end else ((start, _DAY_MINUTES),)


def _minute(hhmm: str) -> int:
    hh, mm = hhmm.strip().split(":")
    minute = int(hh) * 60 + int(mm)
    if not (0 <= int(mm) < 60 and 0 <= minute <= _DAY_MINUTES):
        raise ValueError(hhmm)
    return minute % _DAY_MINUTES
