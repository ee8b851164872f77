"""What is in force for one recipient, in alert words: the conditions protecting their client, custody, hearings, EM.

An IDVA's detail speaks only of their own client: the conditions that protect them (by person or by place) and the
perpetrator-wide ones (curfew, residence, ... protecting no one in particular); never a condition that protects
another victim. Only kinds, codes and dates: never a place, a person or a condition's text.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from schemas.alert_text import CUSTODY_WORDS, DETAIL_WORDS
from schemas.enums import StaffRole
from streams.rules.facts import protected_victims
from streams.rules.routing import Target
from streams.rules.state import ActiveCondition, SubjectState
from streams.rules.text import kinds_text, uk_day

EM_ZONE_PREFIX = "EM_ZONE:"


@dataclass(frozen=True, slots=True)
class Protection:
    """The conditions in force at one time: those protecting each linked victim, and the perpetrator-wide ones
    (protecting no linked victim, naming no person: curfew, residence, ...). Worked out once per alert."""

    in_force: tuple[ActiveCondition, ...]
    by_victim: dict[str, tuple[ActiveCondition, ...]]
    perpetrator_wide: tuple[ActiveCondition, ...]

    def of(self, victim_ref: str) -> tuple[ActiveCondition, ...]:
        """The conditions that protect this victim (by person or by place)."""
        return self.by_victim.get(victim_ref, ())


def protection(state: SubjectState, at: datetime) -> Protection:
    """What is in force at `at`, and whom each condition protects."""
    force = tuple(c for c in state.conditions if c.active_at(at))
    by_victim: dict[str, list[ActiveCondition]] = {}
    general = []
    for c in force:
        victims = protected_victims(state.case, c)
        for v in victims:
            by_victim.setdefault(v, []).append(c)
        if not victims and c.protected_person_ref is None:
            general.append(c)
    return Protection(force, {v: tuple(cs) for v, cs in by_victim.items()}, tuple(general))


def under_em(state: SubjectState, force: tuple[ActiveCondition, ...]) -> bool:
    """EM evidence: an EM zone condition in force, or an EM event within state retention (pruned after it)."""
    return state.em_seen_at is not None or any(c.location and c.location.startswith(EM_ZONE_PREFIX) for c in force)


def release_detail(state: SubjectState, *, base: str | None, at: datetime) -> Callable[[Target], str]:
    """Per recipient, what protects their client after a release (to the case manager: every kind, and who has
    none), prefixed by the release's own detail."""
    p = protection(state, at)
    victims = state.case.victims if state.case else ()
    unprotected = [v.victim_ref for v in victims if not p.of(v.victim_ref)]

    def detail(target: Target) -> str:
        if target.role == StaffRole.IDVA and target.victim_ref:
            rest = _client_release(p, target.victim_ref)
        else:
            rest = _manager_release(p, unprotected)
        return f"{base}; {rest}" if base else rest
    return detail


def _client_release(p: Protection, victim_ref: str) -> str:
    own, general = p.of(victim_ref), p.perpetrator_wide
    if own:
        return f"{DETAIL_WORDS['in_force']}: {kinds_text(c.kind for c in own + general)}"
    none = DETAIL_WORDS["none_for_client"]
    return f"{none}; {kinds_text(c.kind for c in general)} {DETAIL_WORDS['in_force']}" if general else none


def _manager_release(p: Protection, unprotected: list[str]) -> str:
    if not p.in_force:
        return DETAIL_WORDS["none_in_force"]
    text = f"{DETAIL_WORDS['in_force']}: {kinds_text(c.kind for c in p.in_force)}"
    return f"{text}; {DETAIL_WORDS['none_for_victims']} {', '.join(unprotected)}" if unprotected else text


def summary_detail(state: SubjectState, *, at: datetime) -> Callable[[Target], str | None]:
    """Per IDVA, the position for their client: custody; conditions protecting them (kinds, end dates); next
    hearing; EM."""
    p = protection(state, at)
    upcoming = next((h for h in state.hearings if h.at >= at), None)
    tail = [f"{DETAIL_WORDS['next_hearing']} {uk_day(upcoming.at)}"] if upcoming is not None else []
    tail.append(DETAIL_WORDS["em" if under_em(state, p.in_force) else "no_em"])

    def detail(target: Target) -> str | None:
        if target.victim_ref is None:
            return None
        own, general = p.of(target.victim_ref), p.perpetrator_wide
        parts = [CUSTODY_WORDS[state.custody.status.value]]
        if not own:
            parts.append(DETAIL_WORDS["none_for_client"])
        if own or general:
            parts.append(with_end_dates(own + general))
        return "; ".join(parts + tail)
    return detail


def with_end_dates(conditions: Iterable[ActiveCondition]) -> str:
    """Kinds grouped by their end date: "no contact, exclusion zone to 20/12, curfew" (open-ended last)."""
    by_end: dict[datetime | None, list[ActiveCondition]] = {}
    for c in conditions:
        by_end.setdefault(c.end, []).append(c)
    ends = sorted((e for e in by_end if e is not None)) + ([None] if None in by_end else [])
    return ", ".join(kinds_text(c.kind for c in by_end[e]) + ("" if e is None else f" {DETAIL_WORDS['until']} "
                                                                 f"{uk_day(e)}") for e in ends)
