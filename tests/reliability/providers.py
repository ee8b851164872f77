"""Chaotic providers: a Twilio-shaped server failing a share of POSTs at random, and SMTP outages.

A provider timeout here is the realistic kind: Twilio ACCEPTS the message, then answers too late, so the
client cannot know it was sent. Messages accepted that way are marked, so duplicates they cause are counted
apart ("duplicates_after_timeout").
"""
from __future__ import annotations

import io
import random
import threading
import time
from http.server import ThreadingHTTPServer
from typing import Any

from tests.fakes.twilio_server import FakeTwilio, _Handler, _message_json


class FaultDice:
    """Stands in for FakeTwilio.faults: every POST draws a fault (5xx or timeout) with the given odds, else None."""

    def __init__(self, seed: int, error_rate: float, timeout_rate: float) -> None:
        self.rng = random.Random(seed)
        self.error_rate, self.timeout_rate = error_rate, timeout_rate
        self.enabled = True

    def __bool__(self) -> bool:
        return True

    def pop(self, _index: int = 0) -> str | None:
        """The fault for this POST, or None to accept it."""
        if not self.enabled:
            return None
        roll = self.rng.random()
        if roll < self.timeout_rate:
            return "timeout"
        if roll < self.timeout_rate + self.error_rate:
            return self.rng.choice(("500", "503"))
        return None


class _ChaoticHandler(_Handler):
    def _answer_fault(self, fault: str | int) -> None:
        if fault != "timeout":
            super()._answer_fault(fault)
            return
        message = _message_json(self.state, getattr(self, "_form", {}))
        message["accepted_before_timeout"] = True
        with self.state.lock:
            self.state.messages.append(message)
        time.sleep(self.state.timeout_sleep_s)
        try:
            self._send_json(201, message)
        except OSError:
            pass  # the client gave up: exactly the ambiguity a timeout leaves

    def do_POST(self) -> None:  # noqa: N802 - keep the form for a timeout that accepts
        from urllib.parse import parse_qs

        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        self._form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        self.rfile = io.BytesIO(body)
        super().do_POST()


def start_chaotic_twilio(seed: int, error_rate: float = 0.25, timeout_rate: float = 0.05,
                         timeout_sleep_s: float = 3.0) -> tuple[FakeTwilio, FaultDice]:
    """The fake Twilio on a free port, failing error_rate + timeout_rate (30% by default) of POSTs."""
    state = FakeTwilio(account_sid="AC" + "c" * 32, auth_token="chaos-token", timeout_sleep_s=timeout_sleep_s)
    dice = FaultDice(seed, error_rate, timeout_rate)
    state.faults = dice  # type: ignore[assignment]
    handler = type("ChaoticHandler", (_ChaoticHandler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    state.server = server
    threading.Thread(target=server.serve_forever, name="chaotic-twilio", daemon=True).start()
    return state, dice


def smtp_outage(smtp: Any, after_s: float, for_s: float, stop: threading.Event, log: list[str]) -> threading.Thread:
    """A thread that stops the SMTP server after `after_s` and starts it again `for_s` later."""

    def run() -> None:
        if stop.wait(after_s):
            return
        smtp.stop()
        log.append(f"smtp down for {for_s:.0f}s")
        stop.wait(for_s)
        smtp.start()
        log.append("smtp up")

    thread = threading.Thread(target=run, name="smtp-outage", daemon=True)
    thread.start()
    return thread
