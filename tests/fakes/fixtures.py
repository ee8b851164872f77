"""pytest fixtures of the fake providers: `twilio_server` (Twilio REST shape) and `smtp_server` (aiosmtpd)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.smtp_server import FakeSmtp
from tests.fakes.twilio_server import FakeTwilio, start_fake_twilio, stop_fake_twilio


@pytest.fixture
def twilio_server() -> Iterator[FakeTwilio]:
    """A Twilio-shaped HTTP server on a free 127.0.0.1 port for this test."""
    server = start_fake_twilio()
    try:
        yield server
    finally:
        stop_fake_twilio(server)


@pytest.fixture
def smtp_server() -> Iterator[FakeSmtp]:
    """An aiosmtpd server on a free 127.0.0.1 port for this test (stop()/start() for outages)."""
    server = FakeSmtp()
    server.start()
    try:
        yield server
    finally:
        server.stop()
