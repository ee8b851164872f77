"""Wires the real ledger, dispatcher, sender and channels to a migrated database and the fake providers."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from consumers import ledger
from consumers.delivery.channels.build import build_channels
from consumers.delivery.dispatch import dispatch_alert, parse_channel_plan
from consumers.delivery.sender import Sender
from consumers.ledger.models import Delivery
from migrations import upgrade
from runtime.db import make_engine
from runtime.settings import Settings
from schemas.events import Alert
from tests.fakes import delivery_samples as samples
from tests.fakes.smtp_server import FakeSmtp
from tests.fakes.twilio_server import FakeTwilio

START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@dataclass
class SimClock:
    """Simulated time: only moves when told."""

    at: datetime = START

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


def provider_settings(data_dir: Path, twilio: FakeTwilio | None, smtp: FakeSmtp | None, **overrides: Any) -> Settings:
    """Settings pointing SMS at the fake Twilio and e-mail at the fake SMTP server (each optional: outbox)."""
    values: dict[str, Any] = {"data_dir": data_dir, "delivery_max_attempts": 3, "twilio_timeout_s": 0.5,
                              "smtp_from": "alerts@drive.example.org", "smtp_timeout_s": 5.0}
    if twilio is not None:
        values.update(twilio_account_sid=twilio.account_sid, twilio_auth_token=twilio.auth_token,
                      twilio_from_number="+447700900999", twilio_base_url=twilio.base_url,
                      twilio_status_callback_url="http://127.0.0.1:1/twilio/status")
    if smtp is not None:
        values.update(smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none")
    values.update(overrides)
    return Settings(**values)


@dataclass
class DeliveryHarness:
    """A migrated database, a sender on simulated time, and helpers to seed staff and dispatch alerts."""

    settings: Settings
    database_url: str
    clock: SimClock = field(default_factory=SimClock)
    publisher: Any = None
    ack_link: Any = None

    def __post_init__(self) -> None:
        upgrade(self.database_url)
        self.engine = make_engine(self.database_url)
        self.sessions: sessionmaker[Session] = sessionmaker(self.engine)
        self.channels = build_channels(self.settings)
        self.sender = Sender(self.sessions, self.channels, self.settings, publisher=self.publisher, now=self.clock,
                             jitter=lambda: 1.0, ack_link=self.ack_link)

    def close(self) -> None:
        self.engine.dispose()

    def seed_staff(self, *staff_ids: str, **details: Any) -> None:
        """Registry entries for sample staff (details override, e.g. phone_e164=None)."""
        with self.sessions() as session:
            for staff_id in staff_ids:
                ledger.upsert_staff(session, samples.staff_member(staff_id, **details), f"ev-{staff_id}",
                                    self.clock(), self.clock())
            session.commit()

    def dispatch(self, alert: Alert) -> bool:
        """Record and plan an alert as the dispatcher does; committed."""
        with self.sessions() as session:
            created = dispatch_alert(session, alert, parse_channel_plan(self.settings.channels_by_severity),
                                     self.clock())
            session.commit()
            return created

    def deliveries(self, alert_id: str) -> list[Delivery]:
        with self.sessions() as session:
            rows = ledger.deliveries_of(session, alert_id)
            session.expunge_all()
            return rows

    def states(self, alert_id: str) -> dict[tuple[str, str, int], str]:
        """{(staff_id, channel, level): state} of an alert's deliveries."""
        return {(d.staff_id, d.channel, d.level): d.state for d in self.deliveries(alert_id)}

    def actions(self, alert_id: str) -> list[str]:
        with self.sessions() as session:
            return [e.action for e in ledger.audit_entries(session, alert_id=alert_id)]

    def run_until_settled(self, max_rounds: int = 20) -> None:
        """Send what is due, jumping the clock to the next retry, until nothing is pending."""
        for _ in range(max_rounds):
            self.sender.send_due()
            with self.sessions() as session:
                upcoming = session.scalar(sa.select(sa.func.min(Delivery.next_attempt_at))
                                          .where(Delivery.state == ledger.PENDING))
            if upcoming is None:
                return
            if upcoming.tzinfo is None:
                upcoming = upcoming.replace(tzinfo=UTC)
            self.clock.at = max(self.clock.at, upcoming)
        raise AssertionError("deliveries did not settle")
