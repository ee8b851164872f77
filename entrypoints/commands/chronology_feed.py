"""`drive-alerts chronology-feed`: feed the chronology from the subject-events topic until SIGTERM/SIGINT."""
from __future__ import annotations

import argparse

from entrypoints import bootstrap
from runtime.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`drive-alerts chronology-feed` has only the global options (settings come from DRIVE_* variables)."""


def run(_args: argparse.Namespace, settings: Settings) -> int:
    """Run until SIGTERM/SIGINT; /readyz answers 503 while the feed cannot read."""
    stop = bootstrap.signal_stop()
    with bootstrap.chronology_feed(settings) as feed:
        feed.serve(stop)
    return 0
