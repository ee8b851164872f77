"""The rule catalogue: every rule's id, severity, recipients policy and wording, in one reviewable table."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from schemas.alert_text import RULE_PHRASES
from schemas.enums import ConditionKind, Severity


class Recipients(StrEnum):
    """Who a rule's alert goes to (always from the registry, never from an event)."""

    VICTIM = "VICTIM"  # the named linked victims' IDVAs + case manager; perpetrator-wide when none is named
    PERPETRATOR = "PERPETRATOR"  # case manager + every linked victim's IDVA
    CASE_MANAGER = "CASE_MANAGER"  # case manager only


@dataclass(frozen=True, slots=True)
class Rule:
    """One correlation rule: id, severity, recipients policy, what it means, and its phrase in alert texts."""

    rule_id: str
    severity: Severity
    recipients: Recipients
    description: str

    @property
    def phrase(self) -> str:
        """What happened in a few words, no personal data (the wording contract: schemas.alert_text)."""
        return RULE_PHRASES[self.rule_id]


C, H, M = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM
V, P, CM = Recipients.VICTIM, Recipients.PERPETRATOR, Recipients.CASE_MANAGER

BREACH_NO_CONTACT = Rule("breach.no_contact", C, V, "contact with a person protected by an active no-contact "
                         "condition (breach report or a domestic incident naming them)")
BREACH_EXCLUSION_ZONE = Rule("breach.exclusion_zone", C, V, "presence in an actively excluded place (breach report "
                             "or EM zone entry)")
BREACH_CURFEW = Rule("breach.curfew", C, V, "breach of an active curfew")
BREACH_SCHOOL = Rule("breach.school", C, V, "approach to a school named by an active condition")
BREACH_OTHER = Rule("breach.other", C, V, "breach of another active condition (residence, other)")
BREACH_UNVERIFIED = Rule("breach.unverified", H, CM, "a breach report matched no condition on record within the "
                         "late grace")
BREACH_EM_TAMPER = Rule("breach.em_tamper", H, P, "EM tag tamper, or signal lost (not restored)")
RELEASE_CUSTODY = Rule("release.custody", H, P, "released from police custody (bailed, RUI, NFA, other)")
RELEASE_BAIL = Rule("release.bail", H, P, "bail granted, or released under investigation from custody")
RELEASE_PRISON = Rule("release.prison", H, P, "released from prison")
RELEASE_REMAND_ENDED = Rule("release.remand_ended", H, P, "remand ended: bail granted, released, acquitted or "
                            "case dismissed while remanded")
INCIDENT_NEW = Rule("incident.new", H, V, "a new domestic abuse incident")
INCIDENT_POSSIBLE_NEW_VICTIM = Rule("incident.possible_new_victim", H, CM, "an incident names a victim not "
                                    "linked to the case (serial pattern)")
CONDITIONS_WEAKENED = Rule("conditions.weakened", H, V, "a protective condition removed, shortened or ended "
                           "(variation, discharge, expiry, NFA)")
COURT_OUTCOME = Rule("court.outcome", M, P, "a court outcome")
COURT_HEARING_LISTED = Rule("court.hearing_listed", M, P, "a hearing was listed")
ESCALATION_FREQUENCY = Rule("escalation.frequency", H, P, "incidents and breaches reach the threshold within the "
                            "escalation window (once per window)")
ESCALATION_SEVERITY = Rule("escalation.severity", H, P, "an incident more severe than every earlier one in the "
                           "window (e.g. first weapon or injury)")
WARRANT_ISSUED = Rule("warrant.issued", H, P, "a warrant was issued (failed to appear, breach)")
ACTIVITY_OTHER_FORCE_AREA = Rule("activity.other_force_area", H, CM, "activity recorded by a force other than "
                                 "the case's home force")
EXPIRY_UPCOMING = Rule("expiry.upcoming", M, V, "a bail, order or licence condition ends within the expiry "
                       "horizon (timer, once per item)")
IDENTITY_POSSIBLE_MATCH = Rule("identity.possible_match", H, CM, "an agency event matches the case's name hash "
                               "and date of birth but no identifier")

BREACH_RULE_BY_KIND: dict[ConditionKind, Rule] = {
    ConditionKind.NO_CONTACT: BREACH_NO_CONTACT,
    ConditionKind.EXCLUSION_ZONE: BREACH_EXCLUSION_ZONE,
    ConditionKind.CURFEW: BREACH_CURFEW,
    ConditionKind.NO_APPROACH_SCHOOL: BREACH_SCHOOL,
    ConditionKind.RESIDENCE: BREACH_OTHER,
    ConditionKind.OTHER: BREACH_OTHER,
}

RULES: dict[str, Rule] = {rule.rule_id: rule for rule in (
    BREACH_NO_CONTACT, BREACH_EXCLUSION_ZONE, BREACH_CURFEW, BREACH_SCHOOL, BREACH_OTHER, BREACH_UNVERIFIED,
    BREACH_EM_TAMPER, RELEASE_CUSTODY, RELEASE_BAIL, RELEASE_PRISON, RELEASE_REMAND_ENDED, INCIDENT_NEW,
    INCIDENT_POSSIBLE_NEW_VICTIM, CONDITIONS_WEAKENED, COURT_OUTCOME, COURT_HEARING_LISTED, ESCALATION_FREQUENCY,
    ESCALATION_SEVERITY, WARRANT_ISSUED, ACTIVITY_OTHER_FORCE_AREA, EXPIRY_UPCOMING, IDENTITY_POSSIBLE_MATCH,
)}
