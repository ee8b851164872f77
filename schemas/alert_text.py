"""The wording of alert texts: the phrase of each rule and what to do, by role and severity.

The streams write alert texts only from these words (plus codes, references and times); the delivery
side's guard allows only these words in what it sends. Changing a phrase here changes both sides.
"""
from __future__ import annotations

from schemas.enums import Severity

RULE_PHRASES: dict[str, str] = {
    "breach.no_contact": "no-contact breach",
    "breach.exclusion_zone": "exclusion zone breach",
    "breach.curfew": "curfew breach",
    "breach.school": "school exclusion breach",
    "breach.other": "condition breach",
    "breach.unverified": "breach reported, condition not on record",
    "breach.em_tamper": "EM tag tamper or signal loss",
    "release.custody": "released from police custody",
    "release.bail": "released on bail or RUI",
    "release.prison": "released from prison",
    "release.remand_ended": "remand ended, released",
    "incident.new": "new DA incident",
    "incident.possible_new_victim": "incident names a victim not linked to the case",
    "conditions.weakened": "protective conditions removed or ended",
    "conditions.varied": "protective conditions varied",
    "court.outcome": "court outcome",
    "court.hearing_listed": "court hearing listed",
    "escalation.frequency": "incidents/breaches becoming more frequent",
    "escalation.severity": "incident severity rising",
    "warrant.issued": "warrant issued",
    "activity.other_force_area": "activity in another force area",
    "expiry.upcoming": "protective conditions end soon",
    "identity.possible_match": "possible identity match",
    "summary.victim_linked": "current position for your client",
}

# The words a rule may add to its phrase (what is in force, what changed); only these, codes and dates.
CONDITION_KIND_WORDS: dict[str, str] = {
    "NO_CONTACT": "no contact",
    "EXCLUSION_ZONE": "exclusion zone",
    "CURFEW": "curfew",
    "RESIDENCE": "residence",
    "NO_APPROACH_SCHOOL": "school",
    "OTHER": "other condition",
}

CUSTODY_WORDS: dict[str, str] = {
    "IN_CUSTODY": "in custody",
    "REMANDED": "remanded",
    "IN_COMMUNITY": "in community",
    "UNKNOWN": "custody not known",
}

DETAIL_WORDS: dict[str, str] = {
    "in_force": "in force",
    "none_for_client": "NO conditions protecting your client",
    "none_in_force": "NO conditions in force",
    "none_for_victims": "NO protection for",
    "until": "to",
    "next_hearing": "next hearing",
    "em": "on EM",
    "no_em": "no EM on record",
}

# How a condition was weakened or otherwise varied (streams.rules.weaker decides which applies).
CHANGE_WORDS: dict[str, str] = {
    "removed": "removed",
    "ends_earlier": "ends earlier",
    "starts_later": "starts later",
    "narrowed": "narrowed",
    "person_changed": "no longer for the same person",
    "place_changed": "moved or made smaller",
    "hours_cut": "hours cut",
    "ended": "ended",
    "added": "added",
    "changed": "changed",
}

MANAGER_ACTION: dict[Severity, str] = {
    Severity.CRITICAL: "Act now: check victim safety with police",
    Severity.HIGH: "Review risk and safety plans today",
    Severity.MEDIUM: "Review at next contact",
}

IDVA_ACTION: dict[Severity, str] = {
    Severity.CRITICAL: "Contact client now",
    Severity.HIGH: "Contact client today, review safety plan",
    Severity.MEDIUM: "Review safety plan",
}

RULE_ACTION: dict[str, str] = {
    "identity.possible_match": "Confirm or reject the match",
    "breach.unverified": "Check the conditions with police",
}


DEFAULT_MANAGER_ACTION = "Review the case"
DEFAULT_IDVA_ACTION = "Review safety plan"


def phrases() -> list[str]:
    """Every phrase of the wording contract (for the outgoing-text guard)."""
    return [*RULE_PHRASES.values(), *MANAGER_ACTION.values(), *IDVA_ACTION.values(), *RULE_ACTION.values(),
            DEFAULT_MANAGER_ACTION, DEFAULT_IDVA_ACTION, *CONDITION_KIND_WORDS.values(), *CUSTODY_WORDS.values(),
            *DETAIL_WORDS.values(), *CHANGE_WORDS.values()]
