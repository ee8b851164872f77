"""A crash in the middle of a dropped file loses no row and publishes none twice (real broker, real journal)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connectors.filedrop.watcher import FileDrop
from connectors.mappings.config import default_mappings_dir, load_mappings
from runtime.kafka import make_producer
from tests.integration.intake_wiring import read_records, real_intake
from tests.integration.test_filedrop import HEADER, drop, incident_line

pytestmark = pytest.mark.integration


class ProcessDied(BaseException):
    """Stands for the process dying: not an Exception, so nothing in the connector catches it."""


class DyingProducer:
    """A real producer that waits for each send's acknowledgement, and dies on send number `die_at`."""

    def __init__(self, real: Any, die_at: int) -> None:
        self.real, self.die_at, self.sends = real, die_at, 0

    def send(self, *args: Any, **kwargs: Any) -> Any:
        self.sends += 1
        if self.sends == self.die_at:
            raise ProcessDied()
        future = self.real.send(*args, **kwargs)
        self.real.flush()
        return future

    def flush(self, timeout: float | None = None) -> None:
        self.real.flush(timeout=timeout)

    def close(self) -> None:
        self.real.close()


def test_crash_after_row_k_then_fresh_filedrop_publishes_each_row_once(settings: Any, sqlite_url: str,
                                                                       tmp_path: Path) -> None:
    """The process dies sending row 4 of 7; a fresh intake and FileDrop finish: 7 records, each exactly once.
    The file's rows were journaled in one commit before the first send, so rows 4 to 7 are re-sent from the journal
    and the second pass finds every row a duplicate."""
    root = tmp_path / "drop"
    mappings = load_mappings(default_mappings_dir())
    refs = [f"L-01{i:02d}" for i in range(1, 8)]
    drop(root, "met", "incidents_crash.csv", HEADER + "".join(incident_line(ref) for ref in refs))

    with real_intake(settings, sqlite_url, DyingProducer(make_producer(settings), die_at=4)) as intake:
        with pytest.raises(ProcessDied):
            FileDrop(root, intake, mappings, poll_s=0.1).run_once()
    assert (root / "met" / "incoming" / "incidents_crash.csv").exists()
    assert len(read_records(settings, "incident", 7, timeout=5)) == 3

    with real_intake(settings, sqlite_url) as intake:
        assert intake.republish_pending() == 4  # rows 4 to 7: journaled (one batch) before the producer died
        [report] = FileDrop(root, intake, mappings, poll_s=0.1).run_once()

    assert [r["status"] for r in report.rows] == ["duplicate"] * 7
    assert report.status == "done"
    published = sorted(d["event_id"] for _, d in read_records(settings, "incident", 8, timeout=8))
    assert published == [f"met:incidents:{ref}" for ref in refs]
