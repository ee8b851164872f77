"""Role-specific minimised alert text: severity, what happened, the case or client ref, when, what to do, the ref."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from schemas.alert_text import (
    CONDITION_KIND_WORDS,
    DEFAULT_IDVA_ACTION,
    DEFAULT_MANAGER_ACTION,
    IDVA_ACTION,
    MANAGER_ACTION,
    RULE_ACTION,
)
from schemas.enums import ConditionKind, StaffRole
from streams.rules.catalogue import Rule
from streams.rules.expiry import EXPIRY_UPCOMING
from streams.rules.routing import Target

MAX_CHARS = 200
_UK = ZoneInfo("Europe/London")
_REF_MAX = 32
_DETAIL_MAX = 80
_KIND_WORDS = {k: CONDITION_KIND_WORDS.get(k.value, CONDITION_KIND_WORDS["OTHER"]) for k in ConditionKind}

def alert_ref(alert_id: str) -> str:
    """The short reference staff quote: the first 8 characters of the alert id, upper-case."""
    return alert_id[:8].upper()


def uk_time(t: datetime) -> str:
    """Event time in UK local time with its zone, HH:MM GMT DD/MM or HH:MM BST DD/MM (short enough for an SMS)."""
    return t.astimezone(_UK).strftime("%H:%M %Z %d/%m")


def uk_day(t: datetime) -> str:
    """A date in UK local time, DD/MM."""
    return t.astimezone(_UK).strftime("%d/%m")


def kind_words(kind: ConditionKind) -> str:
    """A condition kind in the alert vocabulary ("no contact", "exclusion zone", ...)."""
    return _KIND_WORDS[kind]


def kinds_text(kinds: Iterable[ConditionKind]) -> str:
    """Condition kinds, each once, in the contract's order: "no contact, exclusion zone, curfew"."""
    present = set(kinds)
    return ", ".join(words for k, words in _KIND_WORDS.items() if k in present)


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "~"


def render(rule: Rule, target: Target, *, alert_id: str, subject_id: str, at: datetime,
           detail: str | None = None, victim_refs: tuple[str, ...] = ()) -> str:
    """The text one recipient gets; an IDVA's names only their own client and never the case or other victims."""
    what = rule.phrase if not detail else f"{rule.phrase} ({_clip(detail, _DETAIL_MAX)})"
    if target.role == StaffRole.IDVA:
        who = f"Client {_clip(target.victim_ref or '', _REF_MAX)}"
        action = IDVA_ACTION.get(rule.severity, DEFAULT_IDVA_ACTION)
    else:
        who = f"Case {_clip(subject_id, _REF_MAX)}"
        if len(victim_refs) == 1:
            who += f" re {_clip(victim_refs[0], _REF_MAX)}"
        action = RULE_ACTION.get(rule.rule_id) or MANAGER_ACTION.get(rule.severity, DEFAULT_MANAGER_ACTION)
    when = "Ends" if rule is EXPIRY_UPCOMING else "At"
    text = f"DRIVE {rule.severity.value} {alert_ref(alert_id)}: {what}. {who}. {when} {uk_time(at)}. {action}."
    return _clip(text, MAX_CHARS)
