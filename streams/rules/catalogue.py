"""The rule catalogue: each rule module declares its rules with `rule(...)`; RULES collects them, by id."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from schemas.alert_text import RULE_PHRASES
from schemas.enums import Severity


class Recipients(StrEnum):
    """Who a rule's alert goes to (always from the registry, never from an event)."""

    VICTIM = "VICTIM"  # the named linked victims' IDVAs + case manager; perpetrator-wide when none is named
    PERPETRATOR = "PERPETRATOR"  # case manager + every linked victim's IDVA
    CASE_MANAGER = "CASE_MANAGER"  # case manager only
    IDVA = "IDVA"  # the named linked victims' IDVAs only (nobody when none is named)


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


RULES: dict[str, Rule] = {}  # filled as the rule modules are imported (streams.rules.triggers.collect imports all)


def rule(rule_id: str, severity: Severity, recipients: Recipients, description: str) -> Rule:
    """Declares a rule of the catalogue (in the module that raises it); an id is declared once."""
    if rule_id in RULES:
        raise ValueError(f"rule {rule_id} is declared twice")
    declared = Rule(rule_id, severity, recipients, description)
    RULES[rule_id] = declared
    return declared
