"""A real HTTP server on 127.0.0.1 speaking enough of Twilio's Messages REST API for the real twilio SDK.

It records every request, keeps the messages it accepted (for the list call reconciliation uses), and
answers programmed faults for the next POSTs: 429/20429, 500, 503, a timeout before taking the message
("timeout": sleeps past the client's timeout, keeps nothing), a timeout after taking it ("timeout_after_accept":
keeps the message, then answers too late) and permanent error codes (21211, 21614, 21610, ...); and for the
next list GETs ("429", "500", "503", "timeout").
"""
from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_PREFIX = "/2010-04-01/Accounts/"
PERMANENT_MESSAGES = {21211: "The 'To' number is not a valid phone number.", 21614: "'To' number is not a valid mobile number",
                      21610: "Attempt to send to unsubscribed recipient", 21408: "Permission to send an SMS has not been enabled",
                      21612: "The 'To' phone number is not currently reachable"}


@dataclass
class RecordedRequest:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    account_sid: str | None


@dataclass
class FakeTwilio:
    """State shared with the handler: accepted messages, requests seen, faults to answer next."""

    account_sid: str
    auth_token: str
    timeout_sleep_s: float = 2.0
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    requests: list[RecordedRequest] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    faults: list[str | int] = field(default_factory=list)
    list_faults: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        """What to put in settings.twilio_base_url."""
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def fail_next(self, fault: str | int, times: int = 1) -> None:
        """Answer the next `times` POSTs with a fault: "429", "500", "503", "timeout" or a Twilio error code."""
        with self.lock:
            self.faults.extend([fault] * times)

    def fail_next_list(self, fault: str, times: int = 1) -> None:
        """Answer the next `times` message-list GETs with a fault: "429", "500", "503" or "timeout"."""
        with self.lock:
            self.list_faults.extend([fault] * times)

    def sent_to(self, number: str) -> list[dict[str, Any]]:
        """Accepted messages to one number, in order."""
        with self.lock:
            return [m for m in self.messages if m["to"] == number]

    def posts(self) -> list[RecordedRequest]:
        """Every POST seen (accepted or faulted)."""
        with self.lock:
            return [r for r in self.requests if r.method == "POST"]


def _message_json(state: FakeTwilio, form: dict[str, str]) -> dict[str, Any]:
    now = format_datetime(state.clock().astimezone(UTC), usegmt=True)
    sid = "SM" + uuid.uuid4().hex
    return {"sid": sid, "account_sid": state.account_sid, "to": form.get("To"), "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"), "body": form.get("Body", ""),
            "status": "queued", "num_segments": "1", "num_media": "0", "direction": "outbound-api",
            "api_version": "2010-04-01", "price": None, "price_unit": "USD", "error_code": None, "error_message": None,
            "date_created": now, "date_updated": now, "date_sent": now,
            "uri": f"{API_PREFIX}{state.account_sid}/Messages/{sid}.json", "subresource_uris": {},
            "status_callback": form.get("StatusCallback")}


class _Handler(BaseHTTPRequestHandler):
    state: FakeTwilio  # set on the per-server subclass

    def log_message(self, *args: Any) -> None:  # keep pytest output quiet
        pass

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _account(self) -> str | None:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user if (user, password) == (self.state.account_sid, self.state.auth_token) else None

    def _record(self, form: dict[str, str]) -> tuple[RecordedRequest, str]:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        recorded = RecordedRequest(self.command, url.path, query, form, self._account())
        with self.state.lock:
            self.state.requests.append(recorded)
        return recorded, url.path

    def _route_ok(self, path: str, recorded: RecordedRequest) -> bool:
        if recorded.account_sid is None:
            self._send_json(401, {"code": 20003, "message": "Authenticate", "status": 401})
            return False
        if path != f"{API_PREFIX}{self.state.account_sid}/Messages.json":
            self._send_json(404, {"code": 20404, "message": "Not found", "status": 404})
            return False
        return True

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length", 0))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        recorded, path = self._record(form)
        if not self._route_ok(path, recorded):
            return
        with self.state.lock:
            fault = self.state.faults.pop(0) if self.state.faults else None
        if fault == "timeout_after_accept":
            self._accept_late(form)
        elif fault is not None:
            self._answer_fault(fault)
        else:
            self._send_json(201, self._accept(form))

    def _accept(self, form: dict[str, str]) -> dict[str, Any]:
        message = _message_json(self.state, form)
        with self.state.lock:
            self.state.messages.append(message)
        return message

    def _accept_late(self, form: dict[str, str]) -> None:
        """Keep the message, then answer after the client gave up: it cannot know the SMS went."""
        message = self._accept(form)
        time.sleep(self.state.timeout_sleep_s)
        try:
            self._send_json(201, message)
        except OSError:
            pass

    def _answer_fault(self, fault: str | int) -> None:
        if fault == "timeout":
            time.sleep(self.state.timeout_sleep_s)
            try:
                self._send_json(503, {"code": 20503, "message": "late", "status": 503})
            except OSError:
                pass  # the client gave up long ago
        elif fault == "429":
            self._send_json(429, {"code": 20429, "message": "Too Many Requests", "status": 429})
        elif fault in ("500", "503"):
            self._send_json(int(fault), {"code": 20500, "message": "Internal error", "status": int(fault)})
        else:
            code = int(fault)
            self._send_json(400, {"code": code, "message": PERMANENT_MESSAGES.get(code, "Bad request"), "status": 400,
                                  "more_info": f"https://www.twilio.com/docs/errors/{code}"})

    def do_GET(self) -> None:  # noqa: N802
        recorded, path = self._record({})
        if not self._route_ok(path, recorded):
            return
        with self.state.lock:
            fault = self.state.list_faults.pop(0) if self.state.list_faults else None
        if fault is not None:
            self._answer_fault(fault)
            return
        to, after = recorded.query.get("To"), recorded.query.get("DateSent>")
        since = datetime.fromisoformat(after.replace("Z", "+00:00")) if after else None
        with self.state.lock:
            found = [m for m in self.state.messages if (to is None or m["to"] == to)
                     and (since is None or _parsed(m["date_sent"]) >= since)]
        uri = f"{API_PREFIX}{self.state.account_sid}/Messages.json"
        self._send_json(200, {"messages": list(reversed(found)), "end": max(len(found) - 1, 0), "start": 0, "page": 0,
                              "page_size": 50, "first_page_uri": uri, "next_page_uri": None,
                              "previous_page_uri": None, "uri": uri})


def _parsed(rfc2822: str) -> datetime:
    from email.utils import parsedate_to_datetime

    return parsedate_to_datetime(rfc2822)


def start_fake_twilio(account_sid: str = "AC" + "0" * 32, auth_token: str = "test-auth-token",
                      **kwargs: Any) -> FakeTwilio:
    """Start the server on a free loopback port in a daemon thread."""
    state = FakeTwilio(account_sid=account_sid, auth_token=auth_token, **kwargs)
    handler = type("BoundHandler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    state.server = server
    threading.Thread(target=server.serve_forever, name="fake-twilio", daemon=True).start()
    return state


def stop_fake_twilio(state: FakeTwilio) -> None:
    """Stop serving and close the socket."""
    if state.server is not None:
        state.server.shutdown()
        state.server.server_close()
