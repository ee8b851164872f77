"""What is in force for one recipient, in alert words: the conditions protecting their client, custody, hearings, EM.

An IDVA's detail speaks only of their own client: the conditions that protect them (by person or by place) and the
perpetrator-wide ones (curfew, residence, ... protecting no one in particular); never a condition that protects
another victim. Only kinds, codes and dates: never a place, a person or a condition's text.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from schemas.alert_text import CUSTODY_WORDS, DETAIL_WORDS
from schemas.enums import StaffRole
from streams.rules.facts import protected_victims
from streams.rules.routing import Target
from streams.rules.state import ActiveCondition, SubjectState
from streams.rules.text import kinds_text, uk_day

EM_ZONE_PREFIX = "EM_ZONE:"


def in_force(state: SubjectState, at: datetime) -> tuple[ActiveCondition, ...]:
    """The conditions in force at `at`."""
    return tuple(c for c in state.conditions if c.active_at(at))


def protecting(state: SubjectState, victim_ref: str, at: datetime) -> tuple[ActiveCondition, ...]:
    """The conditions in force at `at` that protect this victim (by person or by place)."""
    return tuple(c for c in in_force(state, at) if victim_ref in protected_victims(state.case, c))


def perpetrator_wide(state: SubjectState, at: datetime) -> tuple[ActiveCondition, ...]:
    """The conditions in force at `at` that protect no linked victim and name no person (curfew, residence, ...)."""
    return tuple(c for c in in_force(state, at)
                 if c.protected_person_ref is None and not protected_victims(state.case, c))


def under_em(state: SubjectState, at: datetime) -> bool:
    """EM evidence: an EM zone condition in force, or an EM event within state retention (pruned after it)."""
    zoned = any(c.location and c.location.startswith(EM_ZONE_PREFIX) for c in in_force(state, at))
    return zoned or state.em_seen_at is not None


def release_detail(state: SubjectState, target: Target, *, base: str | None, at: datetime) -> str:
    """What protects the recipient's client after a release (to the case manager: every kind, and who has none)."""
    if target.role == StaffRole.IDVA and target.victim_ref:
        rest = _client_release(state, target.victim_ref, at)
    else:
        rest = _manager_release(state, at)
    return f"{base}; {rest}" if base else rest


def _client_release(state: SubjectState, victim_ref: str, at: datetime) -> str:
    own, general = protecting(state, victim_ref, at), perpetrator_wide(state, at)
    if own:
        return f"{DETAIL_WORDS['in_force']}: {kinds_text(c.kind for c in own + general)}"
    none = DETAIL_WORDS["none_for_client"]
    return f"{none}; {kinds_text(c.kind for c in general)} {DETAIL_WORDS['in_force']}" if general else none


def _manager_release(state: SubjectState, at: datetime) -> str:
    everything = in_force(state, at)
    if not everything:
        return DETAIL_WORDS["none_in_force"]
    text = f"{DETAIL_WORDS['in_force']}: {kinds_text(c.kind for c in everything)}"
    victims = state.case.victims if state.case else ()
    unprotected = [v.victim_ref for v in victims if not protecting(state, v.victim_ref, at)]
    return f"{text}; {DETAIL_WORDS['none_for_victims']} {', '.join(unprotected)}" if unprotected else text


def summary_detail(state: SubjectState, target: Target, *, at: datetime) -> str | None:
    """The position for an IDVA's client: custody; conditions protecting them (kinds, end dates); next hearing; EM."""
    if target.victim_ref is None:
        return None
    own, general = protecting(state, target.victim_ref, at), perpetrator_wide(state, at)
    parts = [CUSTODY_WORDS[state.custody.status.value]]
    if not own:
        parts.append(DETAIL_WORDS["none_for_client"])
    if own or general:
        parts.append(with_end_dates(own + general))
    upcoming = next((h for h in state.hearings if h.at >= at), None)
    if upcoming is not None:
        parts.append(f"{DETAIL_WORDS['next_hearing']} {uk_day(upcoming.at)}")
    parts.append(DETAIL_WORDS["em" if under_em(state, at) else "no_em"])
    return "; ".join(parts)


def with_end_dates(conditions: Iterable[ActiveCondition]) -> str:
    """Kinds grouped by their end date: "no contact, exclusion zone to 20/12, curfew" (open-ended last)."""
    by_end: dict[datetime | None, list[ActiveCondition]] = {}
    for c in conditions:
        by_end.setdefault(c.end, []).append(c)
    ends = sorted((e for e in by_end if e is not None)) + ([None] if None in by_end else [])
    return ", ".join(kinds_text(c.kind for c in by_end[e]) + ("" if e is None else f" {DETAIL_WORDS['until']} "
                                                                 f"{uk_day(e)}") for e in ends)
