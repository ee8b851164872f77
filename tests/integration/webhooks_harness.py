"""Test harness for the webhooks: a migrated ledger filled by the real dispatcher and sender, the real app on 127.0.0.1."""
from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator

from consumers.acks.links import ack_link
from consumers.acks.webhooks import WebhookDeps, make_app
from consumers.delivery.channels import EMAIL, SMS
from consumers.delivery.channels.build import build_channels
from consumers.delivery.channels.sms import TwilioSms
from consumers.delivery.dispatch import dispatch_alert, parse_channel_plan
from consumers.delivery.sender import Sender
from consumers.ledger.directory import upsert_staff
from consumers.ledger.models import LedgerAlert
from migrations import upgrade
from runtime.db import make_engine
from schemas.events import DeliveryEvent
from tests.fakes.delivery_harness import START, SimClock
from tests.fakes.delivery_samples import CM, DM, IDVA, alert, staff_member

AUTH_TOKEN = "test-auth-token"
PUBLIC_BASE = "https://alerts.drive.example.org/hooks"
NOW = START


@dataclass
class Harness:
    """The running webhooks app, its ledger and what it published."""

    settings: Any
    server: TestServer
    client: aiohttp.ClientSession
    sessions: sessionmaker[Session]
    sender: Sender
    clock: SimClock
    published: list[DeliveryEvent] = field(default_factory=list)

    def sign(self, path: str, params: dict[str, str], url_base: str = PUBLIC_BASE) -> str:
        """The X-Twilio-Signature the real validator computes for this external URL and form."""
        return RequestValidator(AUTH_TOKEN).compute_signature(url_base + path, params)

    async def post_twilio(self, path: str, params: dict[str, str], signature: str | None = "sign"
                          ) -> aiohttp.ClientResponse:
        """POST a form to the app, signed over the external URL unless a signature (or None) is given."""
        headers = {}
        if signature == "sign":
            signature = self.sign(path, params)
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        async with self.client.post(self.server.make_url(path), data=params, headers=headers) as response:
            await response.read()
            return response

    def dispatch(self, **overrides: Any) -> LedgerAlert:
        """Record a sample alert through the real dispatcher and send its deliveries through the real sender."""
        typed = alert(**overrides)
        with self.sessions.begin() as session:
            dispatch_alert(session, typed, parse_channel_plan(self.settings.channels_by_severity), self.clock())
        self.sender.send_due()
        with self.sessions() as session:
            row = session.get(LedgerAlert, typed.alert_id)
            session.expunge(row)
            return row

    def ack_url_path(self, alert_id: str, staff_id: str, now: datetime | None = None) -> str:
        """The path of the ack link the e-mail renderer would give this staff member."""
        url = ack_link(alert_id, staff_id, settings=self.settings, now=now or self.clock())
        return url.removeprefix(PUBLIC_BASE)


def seed_registry(sessions: sessionmaker[Session]) -> None:
    """The case manager, IDVA and the on-call duty manager, as STAFF_UPDATED would register them."""
    with sessions.begin() as session:
        for staff_id in (CM, IDVA, DM):
            upsert_staff(session, staff_member(staff_id), f"evt-{staff_id}", NOW, now=NOW)


@asynccontextmanager
async def running_webhooks(settings_factory: Callable[..., Any], database_url: str, twilio: Any,
                           **overrides: Any) -> AsyncIterator[Harness]:
    """The app on a real loopback socket, the ledger filled by the real dispatcher/sender talking to fake Twilio."""
    settings = settings_factory(database_url=database_url, public_base_url=PUBLIC_BASE,
                                twilio_account_sid=twilio.account_sid, twilio_auth_token=SecretStr(AUTH_TOKEN),
                                twilio_from_number="+447700900000", twilio_base_url=twilio.base_url,
                                ack_link_secret=SecretStr("webhook-test-ack-secret"), **overrides)
    upgrade(database_url)
    engine = make_engine(database_url)
    sessions = sessionmaker(engine)
    seed_registry(sessions)
    clock = SimClock()
    channels = {**build_channels(settings), SMS: TwilioSms.from_settings(settings)}
    assert EMAIL in channels
    sender = Sender(sessions, channels, settings, now=clock)
    harness_published: list[DeliveryEvent] = []
    deps = WebhookDeps(settings=settings, engine=engine, publish=harness_published.extend, now=clock)
    server = TestServer(make_app(deps), host="127.0.0.1")
    await server.start_server(access_log=None)  # as `drive-alerts webhooks` runs it: no request paths logged
    try:
        async with aiohttp.ClientSession() as client:
            yield Harness(settings, server, client, sessions, sender, clock, harness_published)
    finally:
        await server.close()
        engine.dispose()
