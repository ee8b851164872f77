"""Publishes DeliveryEvent records (SENT, DELIVERED, FAILED, ACKNOWLEDGED, ESCALATED) on the delivery topic."""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from runtime.codec import codec_for
from runtime.kafka import make_producer
from runtime.logging import get_logger
from runtime.settings import Settings
from schemas.codec import AvroCodec

log = get_logger(__name__)
DELIVERY_TOPIC = "delivery"


def delivery_event_id(alert_id: str, kind: str, *parts: object) -> str:
    """A deterministic event id, so a re-published event can be deduplicated downstream."""
    seed = "|".join([alert_id, kind, *map(str, parts)])
    return f"dlv-{hashlib.sha256(seed.encode()).hexdigest()[:24]}"


def delivery_datum(kind: str, alert_id: str, at: datetime, *, staff_id: str | None = None,
                   channel: str | None = None, code: str | None = None, event_id: str | None = None) -> dict[str, Any]:
    """The Avro datum of one DeliveryEvent."""
    return {"delivery_event_id": event_id or delivery_event_id(alert_id, kind, staff_id, channel, code, at.isoformat()),
            "alert_id": alert_id, "kind": kind, "staff_id": staff_id, "channel": channel, "at": at, "code": code}


class DeliveryPublisher:
    """Encodes with the project's Avro codec and sends with a kafka-python producer, keyed by alert id."""

    def __init__(self, producer: Any, settings: Settings, codec: AvroCodec | None = None) -> None:
        self.producer = producer
        self.topic = settings.topic(DELIVERY_TOPIC)
        self.codec = codec or codec_for(settings)

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryPublisher:
        """A publisher with its own producer (runtime.kafka.make_producer)."""

        return cls(make_producer(settings), settings)

    def publish(self, kind: str, alert_id: str, at: datetime, *, staff_id: str | None = None,
                channel: str | None = None, code: str | None = None, event_id: str | None = None,
                wait: bool = True) -> None:
        """Send one DeliveryEvent; with wait, block until the broker acknowledged it."""
        datum = delivery_datum(kind, alert_id, at, staff_id=staff_id, channel=channel, code=code, event_id=event_id)
        future = self.producer.send(self.topic, key=alert_id.encode(), value=self.codec.encode(DELIVERY_TOPIC, datum))
        if wait:
            future.get(timeout=30)
        else:
            future.add_errback(lambda exc: log.error("delivery_event_not_published", kind=kind, alert_id=alert_id,
                                                     error=type(exc).__name__))
        log.debug("delivery_event_published", kind=kind, alert_id=alert_id, staff_id=staff_id, channel=channel)

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every event sent without waiting has been acknowledged (or failed)."""
        self.producer.flush(timeout=timeout)

    def close(self) -> None:
        """Flush and close the producer."""
        self.producer.flush()
        self.producer.close()
