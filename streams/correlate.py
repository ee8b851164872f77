"""Correlator: subject-events records -> rules applied to each subject's state; alerts out before state is saved."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import structlog

from schemas.codec import AvroCodec
from schemas.events import Alert, Event, event_from_datum
from schemas.subject_events import KIND_EVENT, KIND_POSSIBLE_MATCH, KIND_TICK, header, parse_iso
from streams.clock import StreamClock
from streams.metrics import ALERTS
from streams.publish import StreamFailure, StreamOutput
from streams.rules import RuleConfig, SubjectState, apply, apply_possible_match, empty, next_due, on_tick

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


def put(table: Any, partition: int, key: str, value: Any) -> None:
    """Sets a table key with its changelog record on `partition`: a batch spans partitions, so faust's
    current-event partition would be wrong for all but one of its records."""
    table.data[key] = value
    table.send_changelog(partition, key, value)


@dataclass
class Pending:
    """What a batch will write, read before the tables so later records see earlier ones' effects."""

    states: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)  # subject -> (partition, stored)
    due: dict[int, dict[str, float]] = field(default_factory=dict)  # partition -> whole due index
    alerts: list[Alert] = field(default_factory=list)


class Correlator:
    """Applies subject-events records to the state table; the due table says which subjects a tick must visit."""

    def __init__(self, states: Any, due: Any, codec: AvroCodec, clock: StreamClock, config: RuleConfig,
                 publisher: StreamOutput) -> None:
        self.states = states
        self.due = due
        self.codec = codec
        self.clock = clock
        self.config = config
        self.publisher = publisher

    async def handle(self, record: Record) -> list[Alert]:
        """Handles one record of any kind; returns the alerts it published."""
        [outcome] = await self.handle_batch([record])
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def handle_batch(self, records: list[Record]) -> list[list[Alert] | Exception]:
        """Handles records in order: every alert is published (acknowledged) before any state is written, so a
        crash or a refused publish re-raises the same alert ids (deduped downstream) instead of losing one.
        Per record: its alerts, or the exception that makes it a dead letter. Raises StreamFailure
        STREAM_PUBLISH_FAILED when the alerts cannot be published (nothing is written then)."""
        pending = Pending()
        outcomes: list[list[Alert] | Exception] = []
        for record in records:
            try:
                outcomes.append(self._step(pending, record))
            except Exception as exc:  # noqa: BLE001 - one bad record is dead-lettered by the caller
                outcomes.append(exc)
        await self._publish(pending.alerts)
        for subject, (partition, stored) in pending.states.items():
            put(self.states, partition, subject, stored)
        for partition, due in pending.due.items():
            put(self.due, partition, str(partition), due)
        return outcomes

    def _step(self, pending: Pending, record: Record) -> list[Alert]:
        kind = header(record.headers, "kind")
        if kind == KIND_TICK:
            return self._tick(pending, record.partition,
                              parse_iso(header(record.headers, "now") or (record.value or b"").decode()))
        if kind not in (KIND_EVENT, KIND_POSSIBLE_MATCH):
            raise StreamFailure("STREAM_UNKNOWN_KIND")
        if not record.key:
            raise StreamFailure("STREAM_NO_SUBJECT")
        event = decode_event(self.codec, header(record.headers, "topic"), record.value)
        subject = record.key.decode()
        now = self.clock.for_event(event)
        state = self._load(pending, subject)
        step = apply if kind == KIND_EVENT else apply_possible_match
        new, alerts = step(state, event, now, self.config)
        if new is not state:
            self._stage(pending, record.partition, subject, new, now)
        pending.alerts += alerts
        return alerts

    def _tick(self, pending: Pending, partition: int, at: datetime) -> list[Alert]:
        """Runs the timers of the subjects of this partition that are due at the clock's now."""
        now = self.clock.for_tick(at)
        due = self._due_of(pending, partition, copy=False)
        fired = sorted(s for s, when in due.items() if when <= now.timestamp())
        raised: list[Alert] = []
        for subject in fired:
            stored = self._stored(pending, subject)
            state = SubjectState.from_dict(stored) if stored is not None else None
            new, alerts = self._timers(subject, state, now)
            if new is None:
                self._due_of(pending, partition).pop(subject, None)
                continue
            self._stage(pending, partition, subject, new, now, write_state=new != state)
            raised += alerts
        pending.alerts += raised
        return raised

    def _timers(self, subject: str, state: SubjectState | None,
                now: datetime) -> tuple[SubjectState | None, list[Alert]]:
        """on_tick for one subject; (None, []) when it has no state or its timers fail (logged, dropped from the
        index: one broken subject must not stop the others' timers)."""
        if state is None:
            return None, []
        try:
            return on_tick(state, now, self.config)
        except Exception as exc:  # noqa: BLE001 - see docstring
            log.error("subject_timer_failed", subject_id=subject, error=type(exc).__name__)
            return None, []

    def _stored(self, pending: Pending, subject: str) -> dict[str, Any] | None:
        """The subject's stored state as this batch leaves it."""
        staged = pending.states.get(subject)
        return staged[1] if staged is not None else self.states.get(subject)

    def _load(self, pending: Pending, subject: str) -> SubjectState:
        """The subject's state as this batch leaves it, or the empty state."""
        stored = self._stored(pending, subject)
        return SubjectState.from_dict(stored) if stored is not None else empty(subject)

    def _stage(self, pending: Pending, partition: int, subject: str, new: SubjectState, now: datetime,
               write_state: bool = True) -> None:
        if write_state:
            pending.states[subject] = (partition, new.to_dict())
        when = next_due(new, now, self.config)
        value = when.timestamp() if when is not None else None
        if self._due_of(pending, partition, copy=False).get(subject) == value:
            return
        due = self._due_of(pending, partition)
        if value is None:
            due.pop(subject, None)
        else:
            due[subject] = value

    def _due_of(self, pending: Pending, partition: int, copy: bool = True) -> dict[str, float]:
        """The partition's due index as this batch leaves it; `copy` stages a private copy for changing it."""
        if partition in pending.due:
            return pending.due[partition]
        stored = self.due.get(str(partition)) or {}
        if not copy:
            return stored
        pending.due[partition] = dict(stored)
        return pending.due[partition]

    async def _publish(self, alerts: list[Alert]) -> None:
        if not alerts:
            return
        try:
            await self.publisher.publish_alerts(alerts)
        except Exception as exc:
            raise StreamFailure("STREAM_PUBLISH_FAILED", exc) from exc
        for alert in alerts:
            ALERTS.labels(alert.rule).inc()
