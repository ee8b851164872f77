"""`drive-alerts replay SCENARIO.jsonl`: the scenario's alerts as JSON lines, delivered into the ledger as they come."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from entrypoints.replay.run import DEFAULT_TIMEOUT_S, replay
from runtime.logging import configure_logging
from runtime.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `replay`."""
    parser.add_argument("scenario", type=Path, help="scenario file (JSON lines: events, clock advances, acks)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S,
                        help=f"longest wait, in seconds, for the pipeline to settle after a step (default {DEFAULT_TIMEOUT_S:g})")
    parser.add_argument("--no-deliver", dest="deliver", action="store_false",
                        help="only print the alerts; do not record, send or acknowledge (ledger, outbox, chronology)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Quiet logs unless DRIVE_LOG_LEVEL is set; replay, delivering into the settings' database and outbox."""
    if "DRIVE_LOG_LEVEL" not in os.environ:  # stdout is the product; stderr only for what matters

        configure_logging(settings.model_copy(update={"log_level": "ERROR"}), force=True)
    return replay(args.scenario, settings, timeout_s=args.timeout, deliver_to=settings if args.deliver else None)
