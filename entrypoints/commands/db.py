"""`drive-alerts db upgrade [--revision REV] | db current`: run or inspect the Alembic migrations."""
from __future__ import annotations

import argparse

from migrations import current_revision, upgrade
from runtime.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `db`."""
    actions = parser.add_subparsers(dest="db_action", metavar="ACTION", required=True)
    upgrade = actions.add_parser("upgrade", help="migrate the database to the newest (or the given) revision")
    upgrade.add_argument("--revision", default="head", help="target revision (default head)")
    actions.add_parser("current", help="print the revision the database is at")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Upgrade, then print the revision reached (never the URL: it may hold a password)."""

    url = settings.resolved_database_url
    if args.db_action == "upgrade":
        upgrade(url, args.revision)
    print(f"database at revision {current_revision(url) or '(none)'}")
    return 0
