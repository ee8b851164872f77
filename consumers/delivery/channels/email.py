"""E-mail through smtplib: STARTTLS, implicit TLS or plain; optional login; multipart/alternative; stable Message-ID.

SMTP cannot say whether a message was accepted before a crash, so find_sent always answers None and
reconciliation re-sends with the same Message-ID (mail clients thread or merge the two).
"""
from __future__ import annotations

import hashlib
import smtplib
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate

from consumers.delivery.channels import EMAIL, OutgoingMessage
from consumers.delivery.retry import DeliveryFault, PermanentFault, TransientFault
from runtime.settings import Settings


def message_id_for(delivery_id: int, alert_id: str, sender: str) -> str:
    """The Message-ID of a delivery: the same on every attempt, domain from the sender address."""
    domain = sender.rsplit("@", 1)[-1] if "@" in sender else "drive-alerts.local"
    digest = hashlib.sha256(alert_id.encode()).hexdigest()[:12]
    return f"<delivery-{delivery_id}.{digest}@{domain}>"


def classify(exc: BaseException) -> DeliveryFault:
    """SMTP 4xx and connection problems are transient; 5xx permanent."""
    code: int | None = None
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code = min((c for c, _ in exc.recipients.values()), default=None)
    elif isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
    if code is not None and 500 <= code < 600:
        return PermanentFault(f"SMTP_{code}")
    if code is not None:
        return TransientFault(f"SMTP_{code}")
    if isinstance(exc, socket.timeout | TimeoutError):
        return TransientFault("TIMEOUT")
    return TransientFault("NETWORK")


@dataclass
class SmtpEmail:
    """The e-mail channel: one SMTP conversation per message."""

    host: str
    port: int
    security: str  # starttls | ssl | none
    sender: str
    username: str | None = None
    password: str | None = None
    timeout_s: float = 10.0
    ca_file: str | None = None
    name: str = EMAIL
    can_reconcile: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpEmail:
        """A channel from DRIVE_SMTP_* settings."""
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        return cls(host=settings.smtp_host, port=settings.smtp_port, security=settings.smtp_security,
                   sender=settings.smtp_from, username=settings.smtp_username, password=password,
                   timeout_s=settings.smtp_timeout_s,
                   ca_file=str(settings.smtp_ca_file) if settings.smtp_ca_file else None)

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_s,
                                                    context=self._tls())
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
            if self.security == "starttls":
                client.starttls(context=self._tls())
        if self.username:
            client.login(self.username, self.password or "")
        return client

    def compose(self, message: OutgoingMessage) -> EmailMessage:
        """The MIME message: plain text and HTML alternatives, headers from the delivery."""
        mime = EmailMessage()
        mime["From"] = self.sender
        mime["To"] = message.destination
        mime["Subject"] = message.subject or "[DRIVE] alert"
        mime["Date"] = formatdate(localtime=False, usegmt=True)
        mime["Message-ID"] = message.message_id or message_id_for(message.delivery_id, message.alert_id, self.sender)
        mime.set_content(message.body)
        if message.html:
            mime.add_alternative(message.html, subtype="html")
        return mime

    def send(self, message: OutgoingMessage) -> str:
        """Send one message; its Message-ID, or a classified DeliveryFault."""
        mime = self.compose(message)
        try:
            client = self._connect()
            try:
                client.send_message(mime)
            finally:
                try:
                    client.quit()
                except (smtplib.SMTPException, OSError):
                    pass
        except (smtplib.SMTPException, OSError) as exc:
            raise classify(exc) from None  # server replies may quote the address: not chained into logs
        return str(mime["Message-ID"])

    def find_sent(self, message: OutgoingMessage, since: datetime) -> str | None:
        """SMTP cannot tell: always None (the caller re-sends with the same Message-ID)."""
        return None
