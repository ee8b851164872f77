"""`drive-alerts demo` as a newcomer runs it: a real subprocess in a temporary data folder, exit 0, a readable story."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from entrypoints.up.demo_data import EXPECTED_ALERTS

pytestmark = pytest.mark.integration
DRIVE = [sys.executable, "-c", "from entrypoints.cli import main; raise SystemExit(main())"]


def test_demo_delivers_every_expected_alert_and_prints_it(tmp_path: Path) -> None:
    """The demo exits 0, shows the 422 and the file drop, prints each expected alert, and the outbox holds them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIVE_")}
    env["DRIVE_DATA_DIR"] = str(tmp_path)
    done = subprocess.run([*DRIVE, "demo"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    out = done.stdout
    assert "422 rejected" in out and "occurred_at:" in out
    assert "em_demo_extract.jsonl -> done/ (2 accepted, 0 refused" in out
    for _subject, rule in EXPECTED_ALERTS:
        assert f" {rule}   subject " in out
    assert "dropped as not a Drive subject 1" in out
    assert "every expected alert was delivered" in out
    outbox = [json.loads(line) for line in (tmp_path / "demo" / "outbox.jsonl").read_text().splitlines()]
    keys = [(m["alert_id"], m["staff_id"], m["channel"]) for m in outbox]
    assert len(keys) == len(set(keys))
    assert {m["staff_id"] for m in outbox} == {"staff-cm-01", "staff-cm-02", "staff-idva-07", "staff-idva-09",
                                               "staff-idva-11"}
    assert "+4477" not in out and "@drive.example.org" not in out  # staff ids are printed, never numbers or addresses
