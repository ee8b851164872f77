"""Correlator: one subject-events record -> rules applied to the subject's state; alerts out before state is saved."""
from __future__ import annotations

from collections.abc import MutableMapping
from datetime import datetime
from typing import Any

import structlog

from schemas.codec import AvroCodec
from schemas.events import Alert, Event, event_from_datum
from streams.clock import StreamClock
from streams.messages import KIND_EVENT, KIND_POSSIBLE_MATCH, KIND_TICK, header, parse_iso
from streams.metrics import ALERTS
from streams.publish import AlertPublisher, StreamFailure
from streams.rules import RuleConfig, SubjectState, apply, apply_possible_match, empty, next_due, on_tick

log = structlog.get_logger(__name__)


def decode_event(codec: AvroCodec, topic: str | None, raw: bytes | None) -> Event:
    """The typed event of a source record's bytes; StreamFailure STREAM_DECODE_FAILED when it cannot be read."""
    try:
        return event_from_datum(str(topic), codec.decode(raw or b"", topic))
    except Exception as exc:  # noqa: BLE001 - any failure to read is the same outcome: dead letter
        raise StreamFailure("STREAM_DECODE_FAILED", exc) from exc


class Correlator:
    """Applies subject-events records to the state table; the due table says which subjects a tick must visit."""

    def __init__(self, states: MutableMapping[str, Any], due: MutableMapping[str, Any], codec: AvroCodec,
                 clock: StreamClock, config: RuleConfig, publisher: AlertPublisher) -> None:
        self.states = states
        self.due = due
        self.codec = codec
        self.clock = clock
        self.config = config
        self.publisher = publisher

    async def handle(self, key: bytes | None, raw: bytes | None, headers: Any, partition: int) -> list[Alert]:
        """Handles one record of any kind; returns the alerts it published."""
        kind = header(headers, "kind")
        if kind == KIND_TICK:
            return await self.tick(partition, parse_iso(header(headers, "now") or (raw or b"").decode()))
        if kind not in (KIND_EVENT, KIND_POSSIBLE_MATCH):
            raise StreamFailure("STREAM_UNKNOWN_KIND")
        if not key:
            raise StreamFailure("STREAM_NO_SUBJECT")
        event = decode_event(self.codec, header(headers, "topic"), raw)
        subject = key.decode()
        now = self.clock.for_event(event)
        state = self.load(subject)
        step = apply if kind == KIND_EVENT else apply_possible_match
        new, alerts = step(state, event, now, self.config)
        await self.save(partition, subject, state, new, alerts, now)
        return alerts

    async def tick(self, partition: int, at: datetime) -> list[Alert]:
        """Runs the timers of the subjects of this partition that are due at the clock's now."""
        now = self.clock.for_tick(at)
        due = dict(self.due.get(str(partition)) or {})
        fired = sorted(s for s, when in due.items() if when <= now.timestamp())
        raised: list[Alert] = []
        for subject in fired:
            stored = self.states.get(subject)
            if stored is None:
                due.pop(subject)
                continue
            try:
                state = SubjectState.from_dict(stored)
                new, alerts = on_tick(state, now, self.config)
            except Exception as exc:  # noqa: BLE001 - one broken subject must not stop the others' timers
                log.error("subject_timer_failed", subject_id=subject, error=type(exc).__name__)
                due.pop(subject)
                continue
            await self._publish(alerts)
            if new != state:
                self.states[subject] = new.to_dict()
            _set_due(due, subject, next_due(new, now, self.config))
            raised += alerts
        if fired:
            self.due[str(partition)] = due
        return raised

    def load(self, subject: str) -> SubjectState:
        """The subject's stored state, or the empty state."""
        stored = self.states.get(subject)
        return SubjectState.from_dict(stored) if stored is not None else empty(subject)

    async def save(self, partition: int, subject: str, old: SubjectState, new: SubjectState, alerts: list[Alert],
                   now: datetime) -> None:
        """Alerts first (acknowledged), then the state, then the due index: a crash in between re-raises the same
        alert ids (deduped downstream) instead of losing an alert."""
        await self._publish(alerts)
        if new is old:
            return
        self.states[subject] = new.to_dict()
        due = dict(self.due.get(str(partition)) or {})
        if _set_due(due, subject, next_due(new, now, self.config)):
            self.due[str(partition)] = due

    async def _publish(self, alerts: list[Alert]) -> None:
        if not alerts:
            return
        try:
            await self.publisher.publish_alerts(alerts)
        except Exception as exc:
            raise StreamFailure("STREAM_PUBLISH_FAILED", exc) from exc
        for alert in alerts:
            ALERTS.labels(alert.rule).inc()


def _set_due(due: dict[str, float], subject: str, when: datetime | None) -> bool:
    """Records (or clears) the subject's next due time; True if the index changed."""
    value = when.timestamp() if when is not None else None
    if due.get(subject) == value:
        return False
    if value is None:
        due.pop(subject, None)
    else:
        due[subject] = value
    return True
