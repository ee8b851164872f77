"""Publishes journaled records and dead letters to Kafka with kafka-python (the codec frames the Avro)."""
from __future__ import annotations

from typing import Any, Protocol

DEAD_LETTER_TOPIC = "dead-letter"


class Codec(Protocol):
    def encode(self, topic: str, datum: Any) -> bytes: ...


def dead_letter_key(source: dict[str, Any]) -> str:
    """Key of a dead letter: `connector/agency` (agency `-` when unknown), as the catalogue says."""
    return f"{source['connector']}/{source.get('agency') or '-'}"


class RecordPublisher:
    """Thin, blocking-client wrapper: short topic names in, prefixed Kafka topics out."""

    def __init__(self, producer: Any, codec: Codec, prefix: str = "drive.") -> None:
        self.producer = producer
        self.codec = codec
        self.prefix = prefix
        self._last_send_failed = False

    def topic(self, short_name: str) -> str:
        """Full Kafka topic name of a catalogue short name."""
        return f"{self.prefix}{short_name}"

    def publish(self, topic: str, key: str, value: bytes) -> Any:
        """Send one framed value under a string key; returns kafka-python's FutureRecordMetadata."""
        try:
            future = self.producer.send(self.topic(topic), value=value, key=key.encode("utf-8"))
        except Exception:
            self._last_send_failed = True
            raise
        future.add_callback(self._sent)
        future.add_errback(self._not_sent)
        return future

    def _sent(self, _metadata: Any) -> None:
        self._last_send_failed = False

    def _not_sent(self, _exc: BaseException) -> None:
        self._last_send_failed = True

    def encode_dead_letter(self, dead_letter: dict[str, Any]) -> bytes:
        """Avro (framed) bytes of a DeadLetter datum."""
        return self.codec.encode(DEAD_LETTER_TOPIC, dead_letter)

    def publish_dead_letter(self, dead_letter: dict[str, Any]) -> Any:
        """Encode and send one DeadLetter datum keyed by its source."""
        return self.publish(DEAD_LETTER_TOPIC, dead_letter_key(dead_letter["source"]),
                            self.encode_dead_letter(dead_letter))

    def flush(self, timeout: float | None = None) -> None:
        """Block until every sent record is acknowledged (or failed)."""
        self.producer.flush(timeout=timeout)

    def connected(self) -> bool:
        """True unless the latest send failed (idle producers drop their connections, so a live socket is no test;
        the process reached the cluster at start-up when it created its topics)."""
        return not self._last_send_failed
