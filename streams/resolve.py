"""Resolver: agency and case records -> the subject(s) they concern -> forwards to subject-events (or nothing)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import structlog

from schemas.case_details import CaseSnapshot
from schemas.codec import AvroCodec
from schemas.events import Event
from schemas.subject_events import KIND_EVENT, KIND_POSSIBLE_MATCH
from streams.case_registry import CASE, RegistryReader
from streams.correlate import decode_event
from streams.metrics import FORWARDED, NOT_A_SUBJECT, REGISTRY_REFRESHES
from streams.rules import NotASubject, PossibleMatch, Resolved, resolve

log = structlog.get_logger(__name__)
REGISTRY_WAIT_S = 2.0  # longest an event about nobody waits for the registry to read case records it may lack


@dataclass(frozen=True, slots=True)
class Forward:
    """A source record's bytes on their way to subject-events, keyed by subject."""

    subject_id: str
    raw: bytes
    kind: str
    topic: str  # short name of the topic the record came from


class Resolver:
    """Resolves a batch of source records in order; keeps nothing of a record about nobody."""

    def __init__(self, registry: RegistryReader, codec: AvroCodec, forwarded: Counter[str]) -> None:
        self.registry = registry
        self.codec = codec
        self.forwarded = forwarded
        self.primed: set[str] = set()  # subjects whose case snapshot this process has sent ahead of their events

    def decode(self, topic: str, raw: bytes | None) -> Event:
        """The record's event (StreamFailure STREAM_DECODE_FAILED when unreadable)."""
        return decode_event(self.codec, topic, raw)

    async def catch_up_if_behind(self, events: list[tuple[str, Event, float | None]]) -> None:
        """Once per batch: when a record about nobody may postdate case records not read yet, wait (bounded)."""
        if any(self.registry.may_be_behind(ts) for topic, e, ts in events
               if topic != CASE and isinstance(resolve(self.registry.index, e), NotASubject)):
            REGISTRY_REFRESHES.inc()
            await self.registry.catch_up(REGISTRY_WAIT_S)

    def route(self, topic: str, event: Event, raw: bytes) -> list[Forward]:
        """The forwards of one agency or case record ([] for a record about nobody, or a staff record)."""
        if topic == CASE:
            return self._route_case(event, raw)
        resolution = resolve(self.registry.index, event)
        if isinstance(resolution, Resolved):
            targets = [(resolution.subject_id, KIND_EVENT)]
        elif isinstance(resolution, PossibleMatch):
            targets = [(subject, KIND_POSSIBLE_MATCH) for subject in resolution.subject_ids]
        else:
            NOT_A_SUBJECT.labels(topic).inc()
            log.info("event_not_about_a_subject", topic=topic, event_id=event.event_id)
            return []
        forwards: list[Forward] = []
        for subject, kind in targets:
            forwards += self._case_first(subject)
            forwards.append(self._forward(subject, raw, kind, topic))
        return forwards

    def _route_case(self, event: Event, raw: bytes) -> list[Forward]:
        """A case snapshot goes to its subject (staff records are read by the delivery side, not here)."""
        if not isinstance(event.details, CaseSnapshot):
            return []
        subject = event.details.subject_id
        self.primed.add(subject)
        return [self._forward(subject, raw, KIND_EVENT, CASE)]

    def _case_first(self, subject: str) -> list[Forward]:
        """The first time this process forwards for a subject, its case snapshot goes ahead (dedupe makes a repeat
        a no-op): the case topic's own forward may not have happened yet, and rules without the case alert nobody."""
        if subject in self.primed:
            return []
        self.primed.add(subject)
        raw_case = self.registry.case_record(subject)
        return [self._forward(subject, raw_case, KIND_EVENT, CASE)] if raw_case is not None else []

    def _forward(self, subject: str, raw: bytes, kind: str, topic: str) -> Forward:
        self.forwarded[topic] += 1
        FORWARDED.labels(kind).inc()
        return Forward(subject, raw, kind, topic)
