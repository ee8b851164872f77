"""Where the stream agents' output goes: forwards to subject-events, alerts, dead letters (injectable for tests)."""
from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime
from typing import Any, Protocol

from schemas.codec import AvroCodec
from schemas.errors import CodecError, FieldError
from schemas.events import Alert, DeadLetter, DeadLetterSource
from schemas.subject_events import forward_headers

CONNECTOR = "streams"


class StreamFailure(Exception):
    """A record the streams cannot process; `reason` is the dead letter's machine code."""

    def __init__(self, reason: str, cause: BaseException | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.cause = cause


class StreamOutput(Protocol):
    """The agents' only way out: each call returns once the broker has the record (or raises)."""

    async def forward(self, subject_id: str, raw: bytes, kind: str, topic: str) -> None:
        """Send a source record's bytes to subject-events, keyed by subject (kind and origin topic as headers)."""
        ...

    async def publish_alerts(self, alerts: list[Alert]) -> None:
        """Send alerts to the alert topic, keyed by subject, and wait for the broker's acknowledgement."""
        ...

    async def dead_letter(self, letter: DeadLetter) -> None:
        """Send a dead letter and wait for the broker's acknowledgement."""
        ...


class KafkaStreamOutput:
    """StreamOutput over the faust app's producer (sends bypass faust's wait-for-ack attachments)."""

    def __init__(self, subject_events: Any, alert_topic: Any, dead_letter_topic: Any, codec: AvroCodec) -> None:
        self.subject_events = subject_events
        self.alert_topic = alert_topic
        self.dead_letter_topic = dead_letter_topic
        self.codec = codec

    async def forward(self, subject_id: str, raw: bytes, kind: str, topic: str) -> None:
        """Queued in the producer; faust flushes the producer before it commits the source offset."""
        await self.subject_events.send(key=subject_id.encode(), value=raw, headers=forward_headers(kind, topic),
                                       force=True)

    async def publish_alerts(self, alerts: list[Alert]) -> None:
        """All alerts sent, then every acknowledgement awaited."""
        pending = [await self.alert_topic.send(key=a.subject_id.encode(), value=self.codec.encode("alert", a.to_datum()),
                                               force=True) for a in alerts]
        await asyncio.gather(*pending)

    async def dead_letter(self, letter: DeadLetter) -> None:
        """Sent keyed connector/agency, acknowledgement awaited."""
        value = self.codec.encode("dead-letter", letter.to_datum())
        await (await self.dead_letter_topic.send(key=f"{CONNECTOR}/".encode(), value=value, force=True))


def dead_letter_of(failure: BaseException, *, topic: str, partition: int, offset: int, raw: bytes | None,
                   intended_topic: str | None) -> DeadLetter:
    """The dead letter of a record that failed; its id is stable for the same record (deduped downstream)."""
    reason = failure.reason if isinstance(failure, StreamFailure) else "STREAM_PROCESSING_FAILED"
    cause = failure.cause if isinstance(failure, StreamFailure) and failure.cause else failure
    # Exception text can quote record content: only codec errors (about bytes and schema ids) are kept.
    message = f"{type(cause).__name__}: {cause}" if isinstance(cause, CodecError) else type(cause).__name__
    location = f"{topic}[{partition}]@{offset}"
    return DeadLetter(
        dead_letter_id=f"{CONNECTOR}-{hashlib.sha256(location.encode()).hexdigest()[:24]}",
        source=DeadLetterSource(connector=CONNECTOR, agency=None, location=location),
        intended_topic=intended_topic, raw=raw or b"", content_type="application/vnd.drive.avro",
        reason=reason, errors=(FieldError(path="", message=message[:500]),), refused_at=datetime.now(UTC))
