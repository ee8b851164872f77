"""A real aiosmtpd server on a free 127.0.0.1 port that records messages and can refuse (451/550) or go away."""
from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    """A free loopback port (aiosmtpd's port=0 fails its readiness check, see BROKER-NOTES)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ReceivedMail:
    """One accepted message: envelope and the parsed MIME message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    login: str | None


@dataclass
class _Handler:
    owner: FakeSmtp

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's naming
        with self.owner.lock:
            self.owner.data_attempts += 1
            reply = self.owner.replies.pop(0) if self.owner.replies else None
            if reply is not None:
                return reply
            login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
            message = message_from_bytes(envelope.content, policy=policy.default)
            self.owner.received.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message, login))
        return "250 OK"


@dataclass
class FakeSmtp:
    """The server and what it saw; stop() and start() simulate an outage on the same port."""

    port: int = field(default_factory=free_port)
    credentials: tuple[str, str] | None = None
    received: list[ReceivedMail] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    data_attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    controller: Controller | None = None

    def refuse_next(self, code: int, times: int = 1) -> None:
        """Answer DATA of the next `times` messages with `code` (e.g. 451 transient, 550 permanent)."""
        text = "Requested action aborted: try again later" if code < 500 else "Mailbox unavailable"
        with self.lock:
            self.replies.extend([f"{code} {text}"] * times)

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and self.credentials is not None and (
            auth_data.login.decode(), auth_data.password.decode()) == self.credentials
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    def start(self) -> None:
        """Listen on self.port (again, after stop())."""
        kwargs: dict[str, Any] = {}
        if self.credentials is not None:
            kwargs.update(authenticator=self._authenticate, auth_require_tls=False)
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()

    def stop(self) -> None:
        """Stop listening (connections are then refused)."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def messages_to(self, address: str) -> list[EmailMessage]:
        """Accepted messages addressed to one recipient, in order."""
        with self.lock:
            return [m.message for m in self.received if address in m.rcpt_tos]
