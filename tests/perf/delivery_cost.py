"""Benchmark (not a pytest test): the dispatcher's cost per alert recorded and per delivery sent, on SQLite.

Run:  .venv/bin/python -m tests.perf.delivery_cost --alerts 300
Records --alerts CRITICAL alerts (case manager + IDVA, SMS only) into a fresh ledger in one transaction, then lets
the Sender send every due row through an in-memory channel, and prints milliseconds per alert and per delivery:
the database and ORM work of the dispatcher without any provider or broker in the way. Before that, --cases case
snapshots (the case registry's catch-up when a dispatcher starts) are applied as the dispatcher applies a polled
batch of them, and the milliseconds per snapshot printed.
"""
from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory

from sqlalchemy.orm import sessionmaker

from consumers.delivery.bulk import record_alerts
from consumers.delivery.channels import OutgoingMessage
from consumers.delivery.dispatch import parse_channel_plan
from consumers.delivery.sender import Sender
from consumers.delivery.service import RECORD_BATCH
from consumers.ledger import directory
from migrations import upgrade
from runtime.db import make_engine
from runtime.settings import Settings
from schemas.events import event_from_datum
from schemas.jsonform import from_json
from tests.fakes.delivery_samples import CM, DM, IDVA, alert, staff_event
from tests.samples.events import sample


class InstantChannel:
    """A channel that accepts every message at once."""

    can_reconcile = False

    def send(self, message: OutgoingMessage) -> str:
        return f"SM{message.delivery_id}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=300)
    parser.add_argument("--cases", type=int, default=2000)
    args = parser.parse_args()
    with TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/ledger.db"
        upgrade(url)
        sessions = sessionmaker(make_engine(url))
        settings = Settings(data_dir=Path(tmp), channels_by_severity="CRITICAL=SMS,HIGH=SMS,MEDIUM=SMS,LOW=SMS")
        plan, now = parse_channel_plan(settings.channels_by_severity), datetime.now(UTC)
        with sessions.begin() as session:
            for staff_id in (CM, IDVA, DM):
                directory.apply_case_event(session, event_from_datum("case", from_json("case", staff_event(staff_id))),
                                           now)
        snapshots = [event_from_datum("case", from_json("case", sample("case", "CASE_OPENED",
                                                                     details__subject_id=f"DRV-{n:05d}")))
                     for n in range(args.cases)]
        start = time.perf_counter()
        for start_at in range(0, len(snapshots), RECORD_BATCH):  # as the dispatcher polls them: one transaction each
            with sessions.begin() as session:
                directory.apply_case_events(session, snapshots[start_at:start_at + RECORD_BATCH], now)
        cases_s = time.perf_counter() - start
        alerts = [alert(severity="CRITICAL") for _ in range(args.alerts)]
        start = time.perf_counter()
        with sessions.begin() as session:
            for start_at in range(0, len(alerts), 50):  # as the dispatcher records them: 50 per transaction
                record_alerts(session, alerts[start_at:start_at + 50], plan, now)
        recorded_s = time.perf_counter() - start
        sender = Sender(sessions, {"SMS": InstantChannel(), "EMAIL": InstantChannel()}, settings)
        start, sent = time.perf_counter(), 0
        while batch := sender.send_due(50):
            sent += batch
        sent_s = time.perf_counter() - start
    print(f"applied {args.cases} case snapshots: {1000 * cases_s / max(args.cases, 1):.2f} ms per snapshot")
    print(f"recorded {args.alerts} alerts: {1000 * recorded_s / args.alerts:.2f} ms per alert")
    print(f"sent {sent} deliveries: {1000 * sent_s / max(sent, 1):.2f} ms per delivery")


if __name__ == "__main__":
    main()
