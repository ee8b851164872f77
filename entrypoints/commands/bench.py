"""`drive-alerts bench`: capacity check (raw ceiling, engine, pipeline, subjects, latency, restart, state, replay)."""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory

from entrypoints.bench.parts import Parts
from entrypoints.bench.report import json_line, write_html
from runtime.kafka import broker_for, with_bootstrap
from runtime.logging import configure_logging
from runtime.settings import Settings

QUICK = {"events": 1000, "subjects": 100, "latency_seconds": 1.0, "settle_seconds": 2.0, "state_subjects": "1000",
         "replay_events": 1000, "scaling_subjects": "100,1000", "scaling_events": 500, "restart_history": "300",
         "rates": "5,50"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `bench` (each shortens or lengthens one part)."""
    parser.add_argument("--events", type=int, default=30_000, help="backlog for the ceiling, engine and pipeline parts (default 30000)")
    parser.add_argument("--subjects", type=int, default=2_000, help="registered subjects of those parts (default 2000)")
    parser.add_argument("--scaling-subjects", default="1000,100000", help="subject counts compared at the same backlog (default 1000,100000)")
    parser.add_argument("--scaling-events", type=int, default=20_000, help="backlog of each subject count (default 20000)")
    parser.add_argument("--latency-seconds", type=float, default=20.0, help="seconds each latency rate is offered (default 20)")
    parser.add_argument("--rates", default="5,50,200,1000", help="offered rates for latency, events/s (default 5,50,200,1000)")
    parser.add_argument("--restart-history", default="2000,20000", help="histories of the restart part, records (default 2000,20000)")
    parser.add_argument("--state-subjects", default="10000,100000", help="subject counts for the state part (default 10000,100000)")
    parser.add_argument("--replay-events", type=int, default=50_000,
                        help="replay size; below 1000000 the 1M time is extrapolated and the output says so (default 50000)")
    parser.add_argument("--replay-only", action="store_true", help="only the replay part (e.g. --replay-events 1000000)")
    parser.add_argument("--settle-seconds", type=float, default=8.0,
                        help="latency: a rate is done when no offered event got its SMS for this long (default 8)")
    parser.add_argument("--quick", action="store_true", help="the smallest run of every part (smoke test)")
    parser.add_argument("--json", action="store_true", help="print a final JSON line with the figures")
    parser.add_argument("--html", type=Path, default=None, help="also write the figures with a latency chart to this HTML file")


def _say(message: str) -> None:
    print(message, flush=True)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Runs the parts in order, printing progress, then the table (and the JSON line, the HTML file)."""
    if args.quick:
        for name, value in QUICK.items():
            setattr(args, name, value)
    if "DRIVE_LOG_LEVEL" not in os.environ:
        configure_logging(settings.model_copy(update={"log_level": "ERROR"}), force=True)
    started = time.monotonic()
    with TemporaryDirectory(prefix="drive-bench-") as tmp, broker_for(settings.model_copy(
            update={"data_dir": Path(tmp)})) as bootstrap:
        parts = Parts(args, with_bootstrap(settings, bootstrap), Path(tmp), _say)
        if args.replay_only:
            parts.replay()
            results = parts.results
        else:
            results = parts.everything()
    results.seconds = time.monotonic() - started
    _say(results.table())
    _say(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; whole run {results.seconds:,.0f} s")
    if args.html is not None:
        write_html(results, args.html)
        _say(f"figures and latency chart written to {args.html}")
    if args.json:
        print(json_line(results), flush=True)
    return 0
