"""The streams' notion of now: the wall clock, or a simulated clock driven only by ticks and events (replay)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

from schemas.events import Event

ClockMode = Literal["wall", "simulated"]


def wall_now() -> datetime:
    """The current UTC time."""
    return datetime.now(UTC)


class StreamClock:
    """wall: now is the real time; simulated: now is the latest of the tick times and event recorded_at seen."""

    def __init__(self, mode: ClockMode = "wall", wall: Callable[[], datetime] = wall_now) -> None:
        if mode not in ("wall", "simulated"):
            raise ValueError(f"unknown clock mode {mode!r}")
        self.mode: ClockMode = mode
        self._wall = wall
        self.latest: datetime | None = None  # simulated time so far (None before anything was seen)

    @property
    def simulated(self) -> bool:
        """True when time comes only from the data."""
        return self.mode == "simulated"

    def for_event(self, event: Event) -> datetime:
        """Now, for applying an event (in simulated mode the event's recorded_at moves the clock forward)."""
        return self._advance(event.recorded_at)

    def for_tick(self, tick_at: datetime) -> datetime:
        """Now, for a tick sent at tick_at (in simulated mode the tick moves the clock forward)."""
        return self._advance(tick_at)

    def _advance(self, seen: datetime) -> datetime:
        if not self.simulated:
            return self._wall()
        if self.latest is None or seen > self.latest:
            self.latest = seen
        return self.latest
