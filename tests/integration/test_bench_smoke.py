"""Smoke test of `drive-alerts bench` in its quickest form on the embedded broker (never a speed check)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"ceiling_events_per_s", "pipeline_events_per_s", "ratio", "latency_ms", "bytes_per_subject", "replay_1m_s"}


@pytest.mark.integration
@pytest.mark.timeout(240)
def test_quick_bench_exits_zero_with_every_json_key(tmp_path: Path) -> None:
    """`bench --quick --json` exits 0 and its last line is JSON with every documented key and each offered rate."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIVE_")}
    env["DRIVE_DATA_DIR"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-m", "entrypoints.cli", "bench", "--quick", "--json"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=230)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert KEYS <= figures.keys()
    assert set(figures["latency_ms"]) == {"50", "200", "1000"}
    for rate in figures["latency_ms"].values():
        assert {"p50", "p95", "p99", "events", "measured"} <= set(rate)
    assert "drive-alerts bench" in done.stdout
