"""Smoke test of `drive-alerts bench` in its quickest form on the embedded broker (never a speed check)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"ceiling_events_per_s", "pipeline_events_per_s", "ratio", "latency_ms", "bytes_per_subject", "replay_1m_s",
        "engine_events_per_s", "engine_ratio", "subjects_scaling", "restart_s", "rss_mb_100k", "replay_measured_events"}


@pytest.mark.integration
@pytest.mark.timeout(420)
def test_quick_bench_exits_zero_with_every_json_key(tmp_path: Path) -> None:
    """`bench --quick --json` exits 0 and its last line is JSON with every documented key and each offered rate."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIVE_")}
    env["DRIVE_DATA_DIR"] = str(tmp_path)
    page = tmp_path / "bench.html"
    done = subprocess.run([sys.executable, "-m", "entrypoints.cli", "bench", "--quick", "--json", "--html", str(page)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-2000:] + done.stdout[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert KEYS <= figures.keys()
    assert set(figures["latency_ms"]) == {"5", "50"}
    for rate in figures["latency_ms"].values():
        assert {"p50", "p95", "p99", "events", "measured", "no_sms_by_design"} <= set(rate)
    assert set(figures["subjects_scaling"]) == {"100", "1000"} and set(figures["restart_s"]) == {"300"}
    assert figures["rss_mb_100k"] is None  # the quick run never holds 100,000 subjects: null, never a made-up 0
    assert "drive-alerts bench" in done.stdout and "<svg" in page.read_text()
