"""`drive-alerts sqlpoll`: poll agency SQL tables and views declared in the feed mappings."""
from __future__ import annotations

import argparse

import sqlalchemy as sa

from entrypoints import bootstrap
from runtime.logging import get_logger
from runtime.settings import Settings

log = get_logger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `drive-alerts sqlpoll`."""
    parser.add_argument("--once", action="store_true", help="poll every source until it has nothing new, then exit")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Poll every SQL feed every DRIVE_SQLPOLL_INTERVAL_S until stopped (or one round with --once)."""
    stop = bootstrap.signal_stop()
    with bootstrap.sqlpoll(settings, once=bool(args.once)) as pollers:
        while True:
            for poller in pollers:
                try:
                    poller.poll_all()
                except sa.exc.SQLAlchemyError as exc:  # source down: try again next interval
                    log.error("sqlpoll.error", source=poller.source.name, error=type(exc).__name__)
            for intake in {id(p.intake): p.intake for p in pollers}.values():
                intake.flush()  # also the journal's housekeeping (retention) when no row came
            if args.once or stop.wait(settings.sqlpoll_interval_s):
                break
    return 0
