"""`drive-alerts dispatcher`: deliver alerts (ledger, SMS and e-mail or the outbox, retries, failover, escalation)."""
from __future__ import annotations

import argparse

from entrypoints import bootstrap
from runtime.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`drive-alerts dispatcher` has only the global options (settings come from DRIVE_* variables)."""


def run(_args: argparse.Namespace, settings: Settings) -> int:
    """Run until SIGTERM/SIGINT, then shut down cleanly."""
    stop = bootstrap.signal_stop()
    with bootstrap.dispatcher(settings) as process:
        process.service.serve(stop, process.companions)
    return 0
