"""Where a batch's output goes: forwards to subject-events, alerts, dead letters, changelog records (injectable)."""
from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from kafka.partitioner import murmur2

from schemas.codec import AvroCodec
from schemas.errors import CodecError, FieldError
from schemas.events import Alert, DeadLetter, DeadLetterSource
from schemas.subject_events import forward_headers

if TYPE_CHECKING:
    from streams.resolve import Forward
    from streams.subject_states import Write

CONNECTOR = "streams"


class StreamFailure(Exception):
    """A record the streams cannot process; `reason` is the dead letter's machine code."""

    def __init__(self, reason: str, cause: BaseException | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.cause = cause


def subject_partition(subject_id: str, partitions: int) -> int:
    """The subject-events (and state changelog) partition of a subject: Kafka's default keyed partitioner."""
    return (murmur2(subject_id.encode()) & 0x7FFFFFFF) % partitions


class StreamOutput(Protocol):
    """A batch's only way out: each call returns once the broker has every record (or raises)."""

    async def publish(self, forwards: Sequence[Forward], alerts: Sequence[Alert],
                      letters: Sequence[DeadLetter]) -> None:
        """Forwards to subject-events (keyed by subject), alerts to the alert topic, dead letters; all acknowledged."""
        ...

    async def write(self, writes: Sequence[Write]) -> dict[tuple[Any, int], int]:
        """Changelog records of table writes, acknowledged; the last offset written per (table, partition)."""
        ...


class KafkaStreamOutput:
    """StreamOutput over the faust app's producer: every record sent, then every acknowledgement awaited."""

    def __init__(self, producer: Any, codec: AvroCodec, *, subject_events: str, alert: str, dead_letter: str,
                 partitions: int) -> None:
        self.producer = producer
        self.codec = codec
        self.subject_events = subject_events
        self.alert = alert
        self.dead_letter = dead_letter
        self.partitions = partitions

    async def publish(self, forwards: Sequence[Forward], alerts: Sequence[Alert],
                      letters: Sequence[DeadLetter]) -> None:
        """All sent (the producer batches them), then all acknowledged."""
        pending: list[Awaitable[Any]] = []
        for f in forwards:
            pending.append(await self.producer.send(
                self.subject_events, f.subject_id.encode(), f.raw, subject_partition(f.subject_id, self.partitions),
                None, forward_headers(f.kind, f.topic)))
        for a in alerts:
            pending.append(await self.producer.send(self.alert, a.subject_id.encode(),
                                                    self.codec.encode("alert", a.to_datum()), None, None, None))
        for letter in letters:
            pending.append(await self.producer.send(self.dead_letter, f"{CONNECTOR}/".encode(),
                                                    self.codec.encode("dead-letter", letter.to_datum()),
                                                    None, None, None))
        await asyncio.gather(*pending)

    async def write(self, writes: Sequence[Write]) -> dict[tuple[Any, int], int]:
        """Changelog records to each write's partition; returns the highest acknowledged offset per partition."""
        pending = [await self.producer.send(w.table.changelog_name, w.key, w.value, w.partition, None, None)
                   for w in writes]
        offsets: dict[tuple[Any, int], int] = {}
        for w, meta in zip(writes, await asyncio.gather(*pending), strict=True):
            slot = (w.table, w.partition)
            offsets[slot] = max(offsets.get(slot, -1), meta.offset)
        return offsets


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
