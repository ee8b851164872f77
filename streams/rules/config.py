"""Tunable windows and limits of the correlation rules (one frozen value the engine is given)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleConfig:
    """Windows and bounds of the rules; every default is the programme's working assumption."""

    escalation_window: timedelta = timedelta(days=28)
    escalation_min_events: int = 3
    flap_window: timedelta = timedelta(minutes=30)
    expiry_horizon: timedelta = timedelta(hours=72)
    late_grace: timedelta = timedelta(hours=24)  # how long an unmatched breach report waits for its record
    state_retention: timedelta = timedelta(days=90)  # how long ended conditions are kept to judge late events
    seen_ids_max: int = 256
