"""`drive-alerts audit`: who was told what, when, by subject, alert or recipient (or the raw audit records)."""
from __future__ import annotations

import argparse
import sys

from sqlalchemy.orm import Session

from consumers.ledger.disclosures import (
    acknowledgements,
    audit_log,
    disclosures,
    format_acknowledgements,
    format_audit_log,
    format_json_lines,
    format_table,
)
from entrypoints import bootstrap
from runtime.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `drive-alerts audit`."""
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--subject", help="every disclosure about this Drive subject")
    which.add_argument("--alert", help="every disclosure of this alert (alert id or ack code)")
    which.add_argument("--recipient", help="every disclosure to this staff id")
    parser.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    view = parser.add_mutually_exclusive_group()
    view.add_argument("--events", action="store_true",
                      help="the raw audit records instead (acks, refusals, escalations...)")
    view.add_argument("--acks", action="store_true",
                      help="instead: each recipient's acknowledgement (when, by whom, how) and who never acknowledged")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Print the disclosures (or audit records) asked for."""
    filters = {"subject_id": args.subject, "alert": args.alert, "staff_id": args.recipient}
    with bootstrap.database(settings) as engine, Session(engine) as session:
        if args.events:
            text = format_audit_log(audit_log(session, **filters), args.json)
        elif args.acks:
            text = format_acknowledgements(acknowledgements(session, **filters), args.json)
        else:
            rows = disclosures(session, **filters)
            text = format_json_lines(rows) if args.json else format_table(rows)
    sys.stdout.write(text)
    return 0
