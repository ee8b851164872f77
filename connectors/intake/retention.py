"""How long the intake journal keeps what: payloads until covered and DRIVE_JOURNAL_KEEP_S, ids for the dedupe window."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog

from connectors.intake.journal import Journal
from connectors.intake.publisher import DEAD_LETTER_TOPIC
from runtime.settings import Settings

log = structlog.get_logger("connectors.intake")
PRUNE_EVERY_S = 30.0


@dataclass
class Retention:
    """The journal's retention policy, applied at most every PRUNE_EVERY_S by the process that writes it."""

    keep: timedelta = timedelta(hours=1)
    dedupe: timedelta = timedelta(days=30)
    covered_on_publish: bool = False  # a real cluster holds what it acknowledged; Tansu (memory only) does not
    _next_prune: float = field(default=0.0, repr=False)

    @classmethod
    def of(cls, settings: Settings) -> Retention:
        """The policy the settings give (embedded profile: rows wait for `up`'s broker copy to cover them)."""
        return cls(keep=timedelta(seconds=settings.journal_keep_s), dedupe=timedelta(days=settings.intake_dedupe_days),
                   covered_on_publish=not settings.embedded_workarounds)

    def maybe_prune(self, journal: Journal, now: datetime | None = None) -> tuple[int, int] | None:
        """Prunes when due; (erased, deleted) or None when it was not yet time."""
        if time.monotonic() < self._next_prune:
            return None
        self._next_prune = time.monotonic() + min(PRUNE_EVERY_S, self.keep.total_seconds() / 2)
        try:
            erased, deleted = journal.prune(now or datetime.now(UTC), self.keep, self.dedupe,
                                            excluding=[DEAD_LETTER_TOPIC])
        except Exception as exc:  # noqa: BLE001 - housekeeping: a failed prune is tried again later, never fatal
            log.warning("intake.journal_prune_failed", error=type(exc).__name__)
            return None
        if erased or deleted:
            log.info("intake.journal_pruned", erased=erased, deleted=deleted)
        return erased, deleted
