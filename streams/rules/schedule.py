"""next_due: the earliest time on_tick could change a subject's state or raise an alert (for the timer index)."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from streams.rules.config import RuleConfig
from streams.rules.expiry import warning_key
from streams.rules.state import SubjectState

# prune and expiry tests are strict ("older than", "within the horizon"): one second past the edge is safely in.
_PAST_EDGE = timedelta(seconds=1)


def next_due(state: SubjectState, now: datetime, config: RuleConfig) -> datetime | None:
    """The earliest instant >= now at which on_tick would do something for this subject (None: nothing pending)."""
    times = list(_timer_times(state, now, config))
    return max(min(times), now) if times else None


def _timer_times(state: SubjectState, now: datetime, config: RuleConfig) -> Iterator[datetime]:
    """Every instant at which one of on_tick's timers fires for the state (some may already be past)."""
    for pending in state.pending:
        yield pending.deadline
    for c in state.conditions:
        end = c.end
        if end is None:
            continue
        warn_at = end - config.expiry_horizon + _PAST_EDGE
        if now <= end and c.starts_at < end and warning_key(c) not in state.warned and warn_at <= end:
            yield warn_at
        yield end + config.state_retention + _PAST_EDGE
    for incident in state.incidents:
        yield incident.at + config.escalation_window + _PAST_EDGE
    for flap in state.flaps:
        yield flap.last_seen + config.flap_window + config.late_grace + _PAST_EDGE
    for key in state.warned:
        yield datetime.fromtimestamp(int(key.rsplit(":", 1)[1]), tz=now.tzinfo) + _PAST_EDGE
    for hearing in state.hearings:
        yield hearing.at + _PAST_EDGE
    if state.em_seen_at is not None:
        yield state.em_seen_at + config.state_retention + _PAST_EDGE
    if state.escalated_at is not None:
        yield state.escalated_at + config.escalation_window + _PAST_EDGE
