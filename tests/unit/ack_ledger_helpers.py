"""Helpers for the acknowledgement/escalation tests: a migrated ledger seeded with staff, an alert and its deliveries."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from consumers.ledger.directory import upsert_staff
from consumers.ledger.models import EMAIL, SMS, LedgerAlert, add_delivery, record_alert
from migrations import upgrade
from runtime.db import make_engine
from tests.fakes.delivery_samples import CM, DM, EMAILS, IDVA, PHONES, alert, staff_member

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)  # inside the sample duty manager's shift (08:00-20:00)


@contextmanager
def ledger_session(url: str) -> Iterator[Session]:
    """A session on a freshly migrated ledger at `url`."""
    upgrade(url)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def seed_staff(session: Session, *staff_ids: str, **details: object) -> None:
    """Register staff members (default: case manager, IDVA, duty manager) as STAFF_UPDATED would."""
    for staff_id in staff_ids or (CM, IDVA, DM):
        upsert_staff(session, staff_member(staff_id, **details), f"evt-{staff_id}", T0, now=T0)


def seed_alert(session: Session, severity: str = "CRITICAL", received_at: datetime = T0) -> LedgerAlert:
    """Record a sample alert (case manager + IDVA) with SMS and e-mail deliveries at level 0, as the dispatcher does."""
    typed = alert(severity=severity)
    assert record_alert(session, typed, now=received_at)
    for staff_id in (CM, IDVA):
        for channel, destination in ((SMS, PHONES[staff_id]), (EMAIL, EMAILS[staff_id])):
            add_delivery(session, alert_id=typed.alert_id, staff_id=staff_id, channel=channel, level=0,
                         purpose="ALERT", destination=destination, body="DRIVE test body", now=received_at)
    row = session.get(LedgerAlert, typed.alert_id)
    assert row is not None
    return row
