"""Who receives an alert: only staff named by the case registry, and each IDVA only about their own client."""
from __future__ import annotations

from dataclasses import dataclass

from schemas.enums import StaffRole
from streams.rules.catalogue import Recipients, Rule
from streams.rules.state import CaseInfo, VictimLink


@dataclass(frozen=True, slots=True)
class Target:
    """One recipient entry: a member of staff and, for an IDVA, the one client the entry is about."""

    staff_id: str
    role: StaffRole
    victim_ref: str | None = None


def targets(case: CaseInfo | None, rule: Rule, victim_refs: tuple[str, ...] = ()) -> tuple[Target, ...]:
    """The recipients of a rule's alert; none without an open case. One entry per (staff, victim)."""
    if case is None or not case.is_open or not case.case_manager_id:
        return ()
    manager = Target(case.case_manager_id, StaffRole.CASE_MANAGER)
    if rule.recipients == Recipients.CASE_MANAGER:
        return (manager,)
    if rule.recipients == Recipients.IDVA:
        named = [v for v in case.victims if v.victim_ref in victim_refs and v.idva_id]
        return tuple(dict.fromkeys(Target(v.idva_id, StaffRole.IDVA, v.victim_ref) for v in named))
    victims = _concerned(case, rule, victim_refs)
    idvas = [Target(v.idva_id, StaffRole.IDVA, v.victim_ref) for v in victims if v.idva_id]
    unique = dict.fromkeys([manager, *idvas])
    return tuple(unique)


def _concerned(case: CaseInfo, rule: Rule, victim_refs: tuple[str, ...]) -> tuple[VictimLink, ...]:
    """The linked victims an alert concerns: the named linked ones, or all of them (perpetrator-wide)."""
    if rule.recipients == Recipients.VICTIM:
        named = tuple(v for v in case.victims if v.victim_ref in victim_refs)
        if named:
            return named
    return case.victims
