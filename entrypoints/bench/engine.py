"""The pure engine over the bench's events: the same rules with no Kafka and no faust, in this process, one core.

Per agency event: decode the Confluent-framed Avro into the typed event, resolve it through the identity index,
apply the rules to the subject's state (kept as an object, as the worker's cache keeps it) and encode the new
state once — the work the pipeline does per event, without the broker, the batching or faust. The pipeline's
ratio to this figure is its framework overhead.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from entrypoints.bench.data import Encoded
from schemas.case_details import CaseSnapshot
from schemas.codec import AvroCodec
from schemas.events import Event
from streams.rules import (
    IdentityIndex,
    PossibleMatch,
    Resolved,
    RuleConfig,
    SubjectState,
    apply,
    apply_possible_match,
    empty,
    index_case,
    resolve,
)
from streams.subject_states import encode_state


@dataclass(frozen=True)
class EngineResult:
    """The pure engine over the agency events (the registry applied first, untimed)."""

    events: int
    seconds: float
    alerts: int

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


class PureEngine:
    """Registry index and subject states in memory; `step` is one agency event's whole pure path."""

    def __init__(self, config: RuleConfig, codec: AvroCodec) -> None:
        self.config = config
        self.codec = codec
        self.index = IdentityIndex()
        self.states: dict[str, SubjectState] = {}

    def learn(self, record: Encoded, now: datetime) -> None:
        """A case-topic record: into the index and, for a case snapshot, into its subject's state."""
        event = self.codec.decode_typed(record.value, "case")
        index_case(self.index, event)
        if isinstance(event.details, CaseSnapshot):
            self._apply(event.details.subject_id, event, now)

    def step(self, record: Encoded, now: datetime) -> int:
        """One agency event through decode, resolve, rules and state encoding; the number of alerts it raised."""
        event = self.codec.decode_typed(record.value, record.topic)
        resolution = resolve(self.index, event)
        if isinstance(resolution, Resolved):
            return self._apply(resolution.subject_id, event, now)
        if isinstance(resolution, PossibleMatch):
            return sum(self._apply(s, event, now, possible=True) for s in resolution.subject_ids)
        return 0

    def _apply(self, subject: str, event: Event, now: datetime, possible: bool = False) -> int:
        state = self.states.get(subject) or empty(subject)
        new, alerts = (apply_possible_match if possible else apply)(state, event, now, self.config)
        if new is not state:
            self.states[subject] = new
            encode_state(new)
        return len(alerts)


def measure_engine(registry: Sequence[Encoded], events: Sequence[Encoded], config: RuleConfig,
                   now: datetime) -> EngineResult:
    """Applies the registry, then times the agency events."""
    engine = PureEngine(config, AvroCodec())
    for record in registry:
        engine.learn(record, now)
    start = time.process_time()
    alerts = sum(engine.step(record, now) for record in events)
    return EngineResult(len(events), time.process_time() - start, alerts)
