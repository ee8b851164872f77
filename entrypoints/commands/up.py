"""`drive-alerts up`: run the whole pipeline on this machine until Ctrl-C / SIGTERM, with a live status line."""
from __future__ import annotations

import argparse
import os
import signal
import sys

from entrypoints.up.banner import banner
from entrypoints.up.status import StatusLine
from entrypoints.up.supervisor import PipelineError, Refused, Supervisor
from runtime.logging import configure_logging
from runtime.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `up` (each port option overrides its DRIVE_* setting)."""
    parser.add_argument("--intake-port", dest="intake_port", type=int, default=None,
                        help="port of the HTTP intake (env DRIVE_INTAKE_PORT)")
    parser.add_argument("--webhooks-port", dest="webhooks_port", type=int, default=None,
                        help="port of the webhooks service (env DRIVE_WEBHOOKS_PORT)")
    parser.add_argument("--web-port", dest="web_port", type=int, default=None,
                        help="port of the staff web app (env DRIVE_WEB_PORT)")
    parser.add_argument("--ready-timeout", type=float, default=180.0,
                        help="longest wait (s) for every component to answer /readyz before the banner")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Claim the data folder, start everything, print the banner, show the status until stopped, stop in order."""

    if "DRIVE_LOG_LEVEL" not in os.environ:  # the banner and status are the supervisor's output; components log to files

        configure_logging(settings.model_copy(update={"log_level": "WARNING"}), force=True)
    supervisor = Supervisor(settings)
    try:
        supervisor.claim()
    except Refused as exc:
        print(f"drive-alerts up: {exc}", file=sys.stderr, flush=True)
        return exc.exit_code
    assert supervisor.lock is not None
    if supervisor.lock.stale:
        print(f"drive-alerts up: taking over the data folder from a run that ended without stopping"
              f" ({supervisor.lock.stale})", flush=True)
    print("drive-alerts up: starting the broker, re-seeding it from the journal, starting the components ...",
          flush=True)
    signal.signal(signal.SIGTERM, _interrupt)  # while starting, SIGTERM stops in order like Ctrl-C; then supervised
    code = 0
    try:
        supervisor.start()
        states = supervisor.wait_ready(args.ready_timeout)
        print(banner(supervisor, states), flush=True)
        status = StatusLine(supervisor.settings)
        try:
            status.tick()
            supervisor.run_until_stopped(on_tick=status.tick)
        finally:
            status.close()
    except PipelineError as exc:
        print(f"drive-alerts up: {exc}", file=sys.stderr, flush=True)
        code = exc.exit_code
    finally:
        print("drive-alerts up: stopping (input first, broker last) ...", flush=True)
        supervisor.stop(out=sys.stdout)
    return code


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt
