"""Pure correlation logic: identity resolution, per-subject state, the rule catalogue, routing, dedupe and texts."""
from streams.rules.catalogue import RULES, Recipients, Rule
from streams.rules.config import RuleConfig
from streams.rules.engine import apply, apply_possible_match, on_tick
from streams.rules.identity import (
    IdentityIndex,
    NotASubject,
    PossibleMatch,
    Resolution,
    Resolved,
    index_case,
    possible_match_alert,
    resolve,
)
from streams.rules.schedule import next_due
from streams.rules.state import SubjectState, empty

__all__ = [
    "RULES", "IdentityIndex", "NotASubject", "PossibleMatch", "Recipients", "Resolution", "Resolved", "Rule",
    "RuleConfig", "SubjectState", "apply", "apply_possible_match", "empty", "index_case", "next_due", "on_tick",
    "possible_match_alert", "resolve",
]
