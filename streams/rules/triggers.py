"""Which checks run for which event type: each rule module marks its checks with @triggered_by; collect() gathers.

A check is a pure function (state, event, context) -> alert drafts. collect() imports every module of this package
(so a new rule module needs no central entry) and returns {event type: checks}, modules in name order and checks
in their declaration order within a module.
"""
from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from enum import StrEnum

from schemas.events import Event
from streams.rules.drafts import AlertDraft, RuleContext
from streams.rules.state import SubjectState

Check = Callable[[SubjectState, Event, RuleContext], list[AlertDraft]]

_DECLARED: list[tuple[StrEnum, Check]] = []


def triggered_by(*event_types: StrEnum) -> Callable[[Check], Check]:
    """Marks a check to run on every event of these types (the check itself is returned unchanged)."""
    if not event_types:
        raise ValueError("a check needs at least one event type")

    def declare(check: Check) -> Check:
        _DECLARED.extend((event_type, check) for event_type in event_types)
        return check
    return declare


def collect() -> dict[StrEnum, tuple[Check, ...]]:
    """Every declared check by the event type that triggers it, after importing all rule modules."""
    package = importlib.import_module(__package__)  # this package (it may still be initialising)
    for module in sorted(m.name for m in pkgutil.iter_modules(package.__path__)):
        importlib.import_module(f"{__package__}.{module}")
    table: dict[StrEnum, list[Check]] = {}
    declared = sorted(enumerate(_DECLARED), key=lambda item: (item[1][1].__module__, item[0]))
    for _, (event_type, check) in declared:
        if check not in table.setdefault(event_type, []):
            table[event_type].append(check)
    return {event_type: tuple(checks) for event_type, checks in table.items()}
