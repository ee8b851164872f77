"""The rule catalogue, collected from the rule modules: every rule has its phrase and its README row, every check
its triggering event types, and an id is declared once."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from schemas.alert_text import RULE_PHRASES
from schemas.enums import BailEventType, BreachEventType, CaseEventType, CourtEventType, IncidentEventType, Severity
from streams.rules import RULES, Recipients
from streams.rules.catalogue import rule
from streams.rules.engine import TRIGGERS

README = Path(__file__).resolve().parents[2] / "README.md"
EVENT_TYPES = {t for enum in (IncidentEventType, BailEventType, CourtEventType, BreachEventType, CaseEventType)
               for t in enum if t.value != "UNKNOWN"}


def test_every_rule_has_a_phrase_and_every_phrase_a_rule() -> None:
    """Adding a rule without its phrase in schemas/alert_text.py fails here (and so does a phrase left over)."""
    assert set(RULES) - set(RULE_PHRASES) == set()
    assert set(RULE_PHRASES) - set(RULES) == set()


def test_every_trigger_is_an_event_type_of_the_contract() -> None:
    """Checks are triggered only by real event types, and each runs for at least one."""
    assert set(TRIGGERS) <= EVENT_TYPES
    assert all(checks for checks in TRIGGERS.values())


def test_a_rule_id_is_declared_once() -> None:
    """Declaring an existing id again is refused."""
    with pytest.raises(ValueError, match="declared twice"):
        rule("breach.no_contact", Severity.CRITICAL, Recipients.VICTIM, "again")


def test_every_rule_has_a_row_in_the_readme_rule_table() -> None:
    """The README's rule table names every rule with its severity, and no rule that does not exist."""
    rows = dict(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \| ([A-Z]+) \|", README.read_text(), re.M))
    assert rows == {rule_id: r.severity.value for rule_id, r in RULES.items()}
