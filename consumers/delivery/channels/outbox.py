"""The embedded default channel: each message is appended as a JSON line to the outbox file and printed."""
from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from consumers.delivery.channels import OutgoingMessage


class Outbox:
    """outbox.jsonl (the message as sent) plus a line on stdout per message naming it, not its text; always 'sent'."""

    def __init__(self, path: Path, stream: IO[str] | None = None) -> None:
        self.path = path
        self.stream = stream
        self._lock = threading.Lock()

    def for_channel(self, name: str) -> OutboxChannel:
        """The outbox standing in for one channel."""
        return OutboxChannel(name=name, outbox=self)

    def write(self, message: OutgoingMessage) -> str:
        """Append the message and print it; the outbox id is derived from the delivery id."""
        outbox_id = f"outbox-{message.delivery_id}"
        line = {"outbox_id": outbox_id, "at": datetime.now(UTC).isoformat(), "delivery_id": message.delivery_id,
                "alert_id": message.alert_id, "staff_id": message.staff_id, "channel": message.channel,
                "to": message.destination, "subject": message.subject, "body": message.body,
                "message_id": message.message_id}
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(line, ensure_ascii=False) + "\n")
        # The staff id and the alert, never the number, address or text: stdout ends up in the dispatcher's log.
        print(f"[outbox] {message.channel} to {message.staff_id}: alert {message.alert_id} (delivery "
              f"{message.delivery_id}), text in {self.path.name}", file=self.stream or sys.stdout, flush=True)
        return outbox_id

    def find(self, delivery_id: int) -> str | None:
        """The outbox id of a delivery already written, or None."""
        if not self.path.exists():
            return None
        with self.path.open(encoding="utf-8") as handle:
            for raw in handle:
                if raw.strip() and json.loads(raw).get("delivery_id") == delivery_id:
                    return f"outbox-{delivery_id}"
        return None


@dataclass
class OutboxChannel:
    """One channel's view of the outbox."""

    name: str
    outbox: Outbox
    can_reconcile: bool = True

    def send(self, message: OutgoingMessage) -> str:
        """Write the message to the outbox."""
        return self.outbox.write(message)

    def find_sent(self, message: OutgoingMessage, since: datetime) -> str | None:
        """The outbox knows exactly what it wrote."""
        return self.outbox.find(message.delivery_id)
