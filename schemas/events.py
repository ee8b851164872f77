"""Typed events for the rest of the code: the source-topic envelope, alerts, delivery events and dead letters."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from schemas._dataconv import from_datum, to_datum_value
from schemas.catalogue import EVENT_TYPES
from schemas.details import *  # noqa: F401,F403  (re-exported: one import place for every event type)
from schemas.details import DETAILS_CLASSES, Details
from schemas.enums import (
    BailEventType,
    BreachEventType,
    CaseEventType,
    Channel,
    CourtEventType,
    DeliveryKind,
    IncidentEventType,
    Severity,
    StaffRole,
)
from schemas.errors import FieldError
from schemas.shared import Condition, CurfewHours, LocationRef, PersonId, Record, Source

EventType = IncidentEventType | BailEventType | CourtEventType | BreachEventType | CaseEventType
EVENT_TYPE_ENUMS: dict[str, type] = {
    "incident": IncidentEventType, "bail": BailEventType, "court": CourtEventType,
    "breach": BreachEventType, "case": CaseEventType,
}
_TOPIC_OF_ENUM = {enum: topic for topic, enum in EVENT_TYPE_ENUMS.items()}


@dataclass(frozen=True, slots=True, kw_only=True)
class Event(Record):
    """The envelope of every source-topic event; `details` is the record named by `event_type`."""

    event_id: str
    event_type: EventType
    source: Source
    person_ids: tuple[PersonId, ...] = ()
    name_hash: str | None = None
    date_of_birth: date | None = None
    occurred_at: datetime
    recorded_at: datetime
    schema_version: int
    details: Details

    @property
    def topic(self) -> str:
        """The source topic the event belongs on (from its event type's enum)."""
        return _TOPIC_OF_ENUM[type(self.event_type)]

    @classmethod
    def from_datum(cls, datum: dict[str, Any]) -> Event:  # type: ignore[override]
        """Not available: the topic is needed to read event_type; use event_from_datum(topic, datum)."""
        raise TypeError("use event_from_datum(topic, datum)")


def event_from_datum(topic: str, datum: dict[str, Any]) -> Event:
    """The typed Event of a source-topic datum (as from_json or AvroCodec.decode return it)."""
    event_type = EVENT_TYPE_ENUMS[topic](str(datum["event_type"]))
    details = datum["details"]
    if isinstance(details, tuple):  # fastavro tuple notation (name, record)
        details = details[1]
    details_cls = DETAILS_CLASSES[EVENT_TYPES[topic][event_type.value]]
    base = from_datum(_EnvelopeFields, {k: v for k, v in datum.items() if k not in ("event_type", "details")})
    return Event(event_type=event_type, details=details_cls.from_datum(details),
                 **{name: getattr(base, name) for name in _EnvelopeFields.__dataclass_fields__})


@dataclass(frozen=True, slots=True, kw_only=True)
class _EnvelopeFields:
    """The envelope fields other than event_type and details (their conversion does not depend on the topic)."""

    event_id: str
    source: Source
    person_ids: tuple[PersonId, ...] = ()
    name_hash: str | None = None
    date_of_birth: date | None = None
    occurred_at: datetime
    recorded_at: datetime
    schema_version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertRecipient(Record):
    """One recipient of an alert and the minimised text they get."""

    staff_id: str
    role: StaffRole
    victim_ref: str | None = None
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert(Record):
    """An alert raised by a rule about one Drive subject."""

    alert_id: str
    rule: str
    severity: Severity
    subject_id: str
    trigger_event_ids: tuple[str, ...] = ()
    raised_at: datetime
    group_key: str | None = None
    recipients: tuple[AlertRecipient, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryEvent(Record):
    """A change in the delivery of an alert to one recipient."""

    delivery_event_id: str
    alert_id: str
    kind: DeliveryKind
    staff_id: str | None = None
    channel: Channel | None = None
    at: datetime
    code: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetterSource(Record):
    """Where a refused record came from."""

    connector: str
    agency: str | None = None
    location: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetter(Record):
    """A refused input record, where it came from and why."""

    dead_letter_id: str
    source: DeadLetterSource
    intended_topic: str | None = None
    raw: bytes
    content_type: str
    reason: str
    errors: tuple[FieldError, ...] = ()
    refused_at: datetime


RECORD_CLASSES: dict[str, type[Record]] = {"alert": Alert, "delivery": DeliveryEvent, "dead-letter": DeadLetter}

__all__ = [
    "Alert", "AlertRecipient", "Condition", "CurfewHours", "DeadLetter", "DeadLetterSource", "DeliveryEvent",
    "Event", "EventType", "EVENT_TYPE_ENUMS", "FieldError", "LinkedVictim", "LocationRef", "OnCallShift", "PersonId", "RECORD_CLASSES", "Source",
    "event_from_datum", "to_datum_value", *DETAILS_CLASSES,
]
