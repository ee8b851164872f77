"""The live status of `drive-alerts up`: events in, alerts out and deliveries, read from the journal and the ledger."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import IO

import sqlalchemy as sa

from runtime.settings import Settings

NON_TTY_EVERY_S = 10.0


@dataclass(frozen=True)
class Status:
    """Counts from the durable stores (so they survive restarts)."""

    events_in: int
    dead_letters: int
    alerts: int
    sent: int
    failed: int
    pending: int

    def line(self) -> str:
        """One human line."""
        return (f"events in {self.events_in} (refused {self.dead_letters}) | alerts out {self.alerts} | "
                f"deliveries sent {self.sent}, failed {self.failed}, pending {self.pending}")


def read_status(engine: sa.Engine, dead_letter_topic: str = "dead-letter") -> Status:
    """Count journal rows, ledger alerts and deliveries by state."""
    with engine.connect() as conn:
        journal = dict(conn.execute(sa.text(
            "SELECT topic = :dl, COUNT(*) FROM intake_journal GROUP BY topic = :dl"), {"dl": dead_letter_topic}).all())
        alerts = conn.execute(sa.text("SELECT COUNT(*) FROM alerts")).scalar_one()
        states = dict(conn.execute(sa.text("SELECT state, COUNT(*) FROM deliveries GROUP BY state")).all())
    # SQLite answers 0/1, PostgreSQL False/True: equal keys in a dict either way.
    return Status(events_in=int(journal.get(False, 0)), dead_letters=int(journal.get(True, 0)), alerts=int(alerts),
                  sent=int(states.get("sent", 0) + states.get("delivered", 0)), failed=int(states.get("failed", 0)),
                  pending=int(states.get("pending", 0) + states.get("sending", 0)))


class StatusLine:
    """Refreshes one line on a terminal (every tick); elsewhere prints a line every NON_TTY_EVERY_S seconds."""

    def __init__(self, settings: Settings, out: IO[str] | None = None) -> None:
        self.engine = sa.create_engine(settings.resolved_database_url)
        self.out = out or sys.stdout
        self.tty = self.out.isatty()
        self._last = 0.0

    def tick(self) -> None:
        """Show the current status (errors reading the database are shown, never raised)."""
        if not self.tty and time.monotonic() - self._last < NON_TTY_EVERY_S:
            return
        self._last = time.monotonic()
        try:
            text = read_status(self.engine).line()
        except sa.exc.SQLAlchemyError as exc:
            text = f"status unavailable ({type(exc).__name__})"
        if self.tty:
            self.out.write(f"\r\x1b[2K{time.strftime('%H:%M:%S')} {text}")
        else:
            self.out.write(f"{time.strftime('%H:%M:%S')} {text}\n")
        self.out.flush()

    def close(self) -> None:
        """End the refreshed line and release the database."""
        if self.tty:
            self.out.write("\n")
            self.out.flush()
        self.engine.dispose()
