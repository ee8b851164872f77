"""`drive-alerts filedrop`: read agency CSV / JSON-lines extracts dropped in the file-drop folders."""
from __future__ import annotations

import argparse

from entrypoints import bootstrap
from runtime.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `drive-alerts filedrop`."""
    parser.add_argument("--once", action="store_true", help="process the files waiting now, then exit")
    parser.add_argument("--dir", dest="filedrop_dir", default=None, help="root of the file drop (env DRIVE_FILEDROP_DIR)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Watch the file drop until stopped (or one pass with --once)."""
    with bootstrap.filedrop(settings, once=bool(args.once)) as drop:
        if args.once:
            drop.run_once()
        else:
            drop.run(bootstrap.signal_stop())
    return 0
