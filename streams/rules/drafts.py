"""What a rule returns: an alert draft (rule, triggers, victims concerned), and the context rules are run in."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from streams.rules.catalogue import Rule
from streams.rules.config import RuleConfig
from streams.rules.routing import Target
from streams.rules.state import SubjectState

# each recipient's own detail, from the state the alert is raised in (after the event): e.g. what protects their
# client; called once per alert, the function it returns once per recipient
Describe = Callable[[SubjectState], Callable[[Target], str | None]]


@dataclass(frozen=True, slots=True)
class AlertDraft:
    """An alert before routing: `at` is the event time shown in texts; `detail` is a coded, non-personal word or two."""

    rule: Rule
    trigger_event_ids: tuple[str, ...]
    at: datetime
    victim_refs: tuple[str, ...] = ()
    group_key: str | None = None
    detail: str | None = None
    dedupe_key: str = ""  # distinguishes alerts without trigger events (timers) or several of one event
    describe: Describe | None = None  # per-recipient detail; replaces `detail` when given


@dataclass(frozen=True, slots=True)
class RuleContext:
    """Wall-clock now (raised_at, timers) and the configuration; facts are judged at event time."""

    now: datetime
    config: RuleConfig


def draft(rule: Rule, event_id: str, at: datetime, **kwargs) -> AlertDraft:
    """A draft triggered by one event."""
    return AlertDraft(rule, (event_id,), at, **kwargs)
