"""Correlator: subject-events records -> the pure rules applied to each subject's state, a batch at a time."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import structlog

from schemas.codec import AvroCodec
from schemas.events import Alert, Event, event_from_datum
from schemas.subject_events import KIND_EVENT, KIND_POSSIBLE_MATCH, KIND_TICK, header, parse_iso
from streams.clock import StreamClock
from streams.publish import StreamFailure
from streams.rules import RuleConfig, SubjectState, apply, apply_possible_match, empty, next_due, on_tick
from streams.subject_states import SubjectStates

log = structlog.get_logger(__name__)


class Record(Protocol):
    """The parts of a subject-events message the correlator reads (a faust Message has them)."""

    key: bytes | None
    value: bytes | None
    headers: Any
    partition: int


def decode_event(codec: AvroCodec, topic: str | None, raw: bytes | None) -> Event:
    """The typed event of a source record's bytes; StreamFailure STREAM_DECODE_FAILED when it cannot be read."""
    try:
        return event_from_datum(str(topic), codec.decode(raw or b"", topic))
    except Exception as exc:  # noqa: BLE001 - any failure to read is the same outcome: dead letter
        raise StreamFailure("STREAM_DECODE_FAILED", exc) from exc


class Correlator:
    """Applies subject-events records in order; the caller publishes the alerts, then writes the staged states."""

    def __init__(self, states: SubjectStates, codec: AvroCodec, clock: StreamClock, config: RuleConfig) -> None:
        self.states = states
        self.codec = codec
        self.clock = clock
        self.config = config

    def step(self, record: Record) -> list[Alert]:
        """One record's alerts; its state change is staged in `states`. Raises for a record to dead-letter."""
        kind = header(record.headers, "kind")
        if kind == KIND_TICK:
            return self._tick(record.partition,
                              parse_iso(header(record.headers, "now") or (record.value or b"").decode()))
        if kind not in (KIND_EVENT, KIND_POSSIBLE_MATCH):
            raise StreamFailure("STREAM_UNKNOWN_KIND")
        if not record.key:
            raise StreamFailure("STREAM_NO_SUBJECT")
        event = decode_event(self.codec, header(record.headers, "topic"), record.value)
        subject = record.key.decode()
        now = self.clock.for_event(event)
        state = self.states.get(subject) or empty(subject)
        rule = apply if kind == KIND_EVENT else apply_possible_match
        new, alerts = rule(state, event, now, self.config)
        if new is not state:
            self.states.stage(subject, new, self._due(new, now))
        return alerts

    def _tick(self, partition: int, at: datetime) -> list[Alert]:
        """Runs the timers of this partition's subjects that are due at the clock's now."""
        now = self.clock.for_tick(at)
        raised: list[Alert] = []
        for subject in self.states.due(partition, now.timestamp()):
            state = self.states.get(subject)
            new, alerts = self._timers(subject, state, now)
            if new is None:
                self.states.drop_timer(subject)
                continue
            self.states.stage(subject, new, self._due(new, now), changed=new != state)
            raised += alerts
        return raised

    def _timers(self, subject: str, state: SubjectState | None,
                now: datetime) -> tuple[SubjectState | None, list[Alert]]:
        """on_tick for one subject; (None, []) when it has no state or its timers fail (logged, its timer dropped:
        one broken subject must not stop the others' timers)."""
        if state is None:
            return None, []
        try:
            return on_tick(state, now, self.config)
        except Exception as exc:  # noqa: BLE001 - see docstring
            log.error("subject_timer_failed", subject_id=subject, error=type(exc).__name__)
            return None, []

    def _due(self, state: SubjectState, now: datetime) -> float | None:
        when = next_due(state, now, self.config)
        return when.timestamp() if when is not None else None
