"""`drive-alerts replay SCENARIO.jsonl`: the scenario's alerts as JSON lines, then delivered into the ledger."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from entrypoints.bootstrap import deliver_backlog
from entrypoints.replay.run import DEFAULT_TIMEOUT_S, replay
from runtime.logging import configure_logging
from runtime.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `replay`."""
    parser.add_argument("scenario", type=Path, help="scenario file (JSON lines: events and clock advances)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S,
                        help=f"longest wait, in seconds, for the pipeline to settle after a step (default {DEFAULT_TIMEOUT_S:g})")
    parser.add_argument("--no-deliver", dest="deliver", action="store_false",
                        help="only print the alerts; do not record and send them (ledger, outbox, chronology)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Quiet logs unless DRIVE_LOG_LEVEL is set; replay; then deliver into the settings' database and outbox."""
    if "DRIVE_LOG_LEVEL" not in os.environ:  # stdout is the product; stderr only for what matters

        configure_logging(settings.model_copy(update={"log_level": "ERROR"}), force=True)
    return replay(args.scenario, settings, timeout_s=args.timeout, then=_deliverer(settings) if args.deliver else None)


def _deliverer(settings: Settings):  # noqa: ANN202 - a closure over the user's own settings
    """After the scenario: the alerts into the user's ledger (not the replay's temp folder), messages to the outbox."""

    def deliver(replayed: Settings) -> None:

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        target = settings.model_copy(update={"kafka_bootstrap": replayed.kafka_bootstrap,
                                             "topic_prefix": replayed.topic_prefix})
        summary = deliver_backlog(target, out=sys.stderr)
        print(f"drive-alerts replay: {summary.alerts_recorded} alert(s) recorded, {summary.messages_attempted} "
              f"message(s) sent, {summary.chronology_events} agency event(s) in the chronology; ledger "
              f"{settings.resolved_database_url}. See `drive-alerts audit --subject ...` and "
              f"`drive-alerts chronology ...`.", file=sys.stderr)

    return deliver
