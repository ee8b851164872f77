"""expiry.upcoming (timer): a bail, order or licence's conditions end within the horizon; warned once per end."""
from __future__ import annotations

from datetime import datetime

from schemas.enums import Severity
from streams.rules.catalogue import Recipients, rule
from streams.rules.config import RuleConfig
from streams.rules.drafts import AlertDraft
from streams.rules.facts import victims_of
from streams.rules.state import ActiveCondition, SubjectState

EXPIRY_UPCOMING = rule("expiry.upcoming", Severity.MEDIUM, Recipients.VICTIM, "a bail, order or licence condition "
                       "ends within the expiry horizon (timer, once per item)")


def warning_key(c: ActiveCondition) -> str:
    """One warning per source and end instant: "KIND:ref:epoch"."""
    return f"{c.source_kind.value}:{c.source_ref}:{int(c.end.timestamp())}"


def upcoming(state: SubjectState, now: datetime, config: RuleConfig) -> tuple[SubjectState, list[AlertDraft]]:
    """Warnings for conditions ending in [now, now + horizon) not yet warned about; remembers their keys."""
    due: dict[str, list[ActiveCondition]] = {}
    for c in state.conditions:
        if c.end is not None and now <= c.end < now + config.expiry_horizon and c.starts_at < c.end:
            due.setdefault(warning_key(c), []).append(c)
    fresh = {key: conds for key, conds in due.items() if key not in state.warned}
    if not fresh:
        return state, []
    drafts = [AlertDraft(EXPIRY_UPCOMING, (), conds[0].end, victims_of(state.case, conds), dedupe_key=key,
                         detail=_item(conds[0])) for key, conds in fresh.items()]
    return state.evolve(warned=state.warned + tuple(fresh)), drafts


def _item(c: ActiveCondition) -> str:
    """"bail", "order" or "licence": the agency's ref stays out of the text (the alert ref finds it)."""
    return c.source_kind.value.lower()


def forget_passed(warned: tuple[str, ...], now: datetime) -> tuple[str, ...]:
    """Drops warning keys whose end has passed (they can never be due again)."""
    return tuple(k for k in warned if int(k.rsplit(":", 1)[1]) >= int(now.timestamp()))
