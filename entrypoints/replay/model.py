"""The reference semantics of a replay, in memory with the pure rule engine: what the real pipeline must print."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import SecretStr

from connectors.intake.pseudonymise import NameHasher, reduce_record
from connectors.intake.submit import canonical_json
from entrypoints.replay.scenario import Ack, Advance, Publish, SimulatedClock, Step
from runtime.settings import Settings
from schemas.admission import Refused, admit
from schemas.details import CaseSnapshot
from schemas.events import Alert, Event, event_from_datum
from schemas.jsonform import FieldError
from streams.app import rule_config
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
    on_tick,
    resolve,
)


@dataclass(frozen=True, slots=True)
class Refusal:
    """A scenario line the intake would refuse (or had already taken), and why."""

    line: int
    status: str  # "rejected" | "conflict" | "duplicate"
    errors: tuple[FieldError, ...] = ()


@dataclass
class StepResult:
    """What one step did: the alerts it raised and, for a refused line, the refusal."""

    alerts: list[Alert] = field(default_factory=list)
    refusal: Refusal | None = None


class EngineReplay:
    """Runs scenario steps through identity resolution and the rule engine, with the replay's simulated clock."""

    def __init__(self, name_hash_key: str | SecretStr, config: RuleConfig | None = None) -> None:
        self.hasher = NameHasher(name_hash_key)
        self.config = config or RuleConfig()
        self.clock = SimulatedClock()
        self.index = IdentityIndex()
        self.states: dict[str, SubjectState] = {}
        # (agency, event_id) -> (topic, content): the intake's dedupe (each agency numbers its own events)
        self._journal: dict[tuple[str, str], tuple[str, bytes]] = {}

    @classmethod
    def for_settings(cls, settings: Settings) -> EngineReplay:
        """The model with the name-hash key and rule windows the worker of these settings uses."""

        return cls(settings.name_hash_key, rule_config(settings))

    def run(self, step: Step) -> StepResult:
        """The result of one step; an acknowledgement raises nothing (it is the delivery side's, not the rules')."""
        if isinstance(step, Ack):
            return StepResult()
        if isinstance(step, Advance):
            return StepResult(self.tick(self.clock.advance(step.by)))
        return self.publish(step)

    def publish(self, step: Publish) -> StepResult:
        """Validate like the intake (names hashed, contract, dedupe); an accepted event goes through the engine."""
        event_or_refusal = self._admit(step)
        if isinstance(event_or_refusal, Refusal):
            return StepResult(refusal=event_or_refusal)
        event = event_or_refusal
        return StepResult(self.apply(event, self.clock.saw(event.recorded_at)))

    def apply(self, event: Event, now: datetime) -> list[Alert]:
        """Identity resolution, then the rules for the subject (or a possible-match question to candidates)."""
        if isinstance(event.details, CaseSnapshot):
            index_case(self.index, event)
        resolution = resolve(self.index, event)
        alerts: list[Alert] = []
        if isinstance(resolution, Resolved):
            alerts += self._update(resolution.subject_id, apply, event, now)
        elif isinstance(resolution, PossibleMatch):
            for subject_id in resolution.subject_ids:
                alerts += self._update(subject_id, apply_possible_match, event, now)
        return alerts

    def tick(self, now: datetime) -> list[Alert]:
        """Timers of every subject at `now`."""
        alerts: list[Alert] = []
        for subject_id in sorted(self.states):
            self.states[subject_id], raised = on_tick(self.states[subject_id], now, self.config)
            alerts += raised
        return alerts

    def _update(self, subject_id: str, rule_fn: Any, event: Event, now: datetime) -> list[Alert]:
        state = self.states.get(subject_id) or empty(subject_id)
        self.states[subject_id], raised = rule_fn(state, event, now, self.config)
        return raised

    def _admit(self, step: Publish) -> Event | Refusal:
        """The event of a line as the intake would accept it (the same contract checks), or the refusal."""
        record = step.value
        reduced = reduce_record(record, self.hasher) if isinstance(record, dict) else record
        try:
            datum = admit(step.topic, record, reduced)
        except Refused as refused:
            return Refusal(step.line, "rejected", refused.errors)
        content = (step.topic, canonical_json(datum))
        key = (datum["source"]["agency"], datum["event_id"])
        known = self._journal.get(key)
        if known is not None:
            if known != content:
                return Refusal(step.line, "conflict", (FieldError("event_id", "already used by a different record"),))
            return Refusal(step.line, "duplicate")
        self._journal[key] = content
        return event_from_datum(step.topic, datum)
