"""Delivery channels: the message a channel sends, the channel protocol, and the channels the settings ask for."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

SMS, EMAIL = "SMS", "EMAIL"


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One message to one destination; `body` is exactly what the ledger recorded as disclosed."""

    delivery_id: int
    alert_id: str
    staff_id: str
    channel: str
    destination: str
    body: str
    ack_code: str
    subject: str | None = None  # e-mail only
    html: str | None = None  # e-mail only
    message_id: str | None = None  # e-mail only: stable per delivery, so a re-send threads with the first


class Channel(Protocol):
    """A way to send messages. send returns the provider's message id or raises a retry.DeliveryFault."""

    name: str
    can_reconcile: bool  # True when find_sent can tell whether a message left before a crash

    def send(self, message: OutgoingMessage) -> str: ...

    def find_sent(self, message: OutgoingMessage, since: datetime) -> str | None: ...
