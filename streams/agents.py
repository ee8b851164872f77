"""The faust agents: resolve (agency topics), registry (case topic), correlate (subject-events) and the wall ticker."""
from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import structlog

from schemas.codec import AvroCodec
from schemas.details import CaseSnapshot
from schemas.events import Alert
from schemas.subject_events import KIND_EVENT, KIND_POSSIBLE_MATCH, SUBJECT_EVENTS, header
from streams.case_registry import CASE, RegistryReader
from streams.clock import wall_now
from streams.correlate import Correlator, decode_event
from streams.metrics import DEAD_LETTERS, FORWARDED, NOT_A_SUBJECT, RECORDS, REGISTRY_REFRESHES
from streams.publish import StreamFailure, StreamOutput, dead_letter_of
from streams.rules import NotASubject, PossibleMatch, Resolved, resolve
from streams.ticks import send_ticks_async

if TYPE_CHECKING:
    from streams.app import StreamsApp

log = structlog.get_logger(__name__)
T = TypeVar("T")
AGENCY_TOPICS = ("incident", "bail", "court", "breach")  # resolved by identity; case feeds the registry
REGISTRY_WAIT_S = 2.0  # longest an event about nobody waits for the registry to read case records it may lack


class Resolver:
    """Source record -> the subject(s) it concerns -> forwarded to subject-events (or dropped, keeping nothing)."""

    def __init__(self, registry: RegistryReader, codec: AvroCodec, publisher: StreamOutput,
                 forwarded: Counter[str]) -> None:
        self.registry = registry
        self.codec = codec
        self.publisher = publisher
        self.forwarded = forwarded
        self.primed: set[str] = set()  # subjects whose case snapshot this process has sent ahead of their events

    async def route(self, topic: str, raw: bytes | None, timestamp_s: float | None) -> list[tuple[str, str]]:
        """Forwards an agency record once per subject it concerns; returns [(subject, kind)] ([] for nobody)."""
        event = decode_event(self.codec, topic, raw)
        resolution = resolve(self.registry.index, event)
        if isinstance(resolution, NotASubject) and self.registry.may_be_behind(timestamp_s):
            # A case record published just before this event may not be indexed yet.
            REGISTRY_REFRESHES.inc()
            await self.registry.catch_up(REGISTRY_WAIT_S)
            resolution = resolve(self.registry.index, event)
        if isinstance(resolution, Resolved):
            targets = [(resolution.subject_id, KIND_EVENT)]
        elif isinstance(resolution, PossibleMatch):
            targets = [(subject, KIND_POSSIBLE_MATCH) for subject in resolution.subject_ids]
        else:
            NOT_A_SUBJECT.labels(topic).inc()
            log.info("event_not_about_a_subject", topic=topic, event_id=event.event_id)
            return []
        for subject, kind in targets:
            await self._send_case_first(subject)
            await self._forward(subject, raw or b"", kind, topic)
        return targets

    async def route_case(self, raw: bytes | None) -> list[tuple[str, str]]:
        """Forwards a case snapshot to its subject (staff records are read by the delivery side, not here)."""
        event = decode_event(self.codec, CASE, raw)
        if not isinstance(event.details, CaseSnapshot):
            return []
        subject = event.details.subject_id
        self.primed.add(subject)
        await self._forward(subject, raw or b"", KIND_EVENT, CASE)
        return [(subject, KIND_EVENT)]

    async def _send_case_first(self, subject: str) -> None:
        """The first time this process forwards for a subject, its case snapshot goes ahead (dedupe makes a repeat
        a no-op): the registry agent may not have forwarded it yet, and rules without the case alert nobody."""
        if subject in self.primed:
            return
        raw_case = self.registry.case_record(subject)
        if raw_case is not None:
            await self._forward(subject, raw_case, KIND_EVENT, CASE)
        self.primed.add(subject)

    async def _forward(self, subject: str, raw: bytes, kind: str, topic: str) -> None:
        await self.publisher.forward(subject, raw, kind, topic)
        self.forwarded[topic] += 1
        FORWARDED.labels(kind).inc()


# Unexpected failures (not a known-bad record) are retried in place before the record is dead-lettered:
# a transient fault (e.g. a broker hiccup on send) must not cost an alert.
RETRY_DELAYS_S = (0.5, 2.0, 5.0)
# The correlate agent awaits the broker's ack of a batch's alerts once, not once per record (a broker round
# trip per record); a batch closes when full or after this long without filling.
CORRELATE_BATCH_MAX = 500
CORRELATE_BATCH_WITHIN_S = 0.01


async def guarded(app: StreamsApp, agent_key: str, message: Any, work: Callable[[], Awaitable[list[T]]],
                  intended_topic: str | None, delays: tuple[float, ...] | None = None) -> list[T]:
    """Runs one record's work, retrying unexpected failures; then a failure dead-letters the record. Counts it."""
    try:
        return await _with_retries(agent_key, work, RETRY_DELAYS_S if delays is None else delays)
    except Exception as exc:  # noqa: BLE001 - one bad record must never stop the stream
        await _dead_letter(app, agent_key, message, exc, intended_topic)
        return []
    finally:
        _count(app, agent_key)


async def correlate_batch(app: StreamsApp, messages: list[Any]) -> list[list[Alert]]:
    """A batch of subject-events records through the correlator; each record's alerts, in order. If the batch's
    alerts cannot be published even after retries, record by record (each then published or dead-lettered)."""
    try:
        outcomes = await _with_retries(SUBJECT_EVENTS, lambda: app.correlator.handle_batch(messages), RETRY_DELAYS_S)
    except Exception:  # noqa: BLE001 - nothing of the batch was written: redo it one record at a time
        return [await guarded(app, SUBJECT_EVENTS, m, lambda m=m: app.correlator.handle(m), _origin(m), delays=())
                for m in messages]
    results: list[list[Alert]] = []
    for message, outcome in zip(messages, outcomes, strict=True):
        if isinstance(outcome, Exception):
            await _dead_letter(app, SUBJECT_EVENTS, message, outcome, _origin(message))
            outcome = []
        results.append(outcome)
        _count(app, SUBJECT_EVENTS)
    return results


def _origin(message: Any) -> str | None:
    """The agency topic a subject-events record came from (its dead letter's intended topic)."""
    return header(message.headers, "topic")


def _count(app: StreamsApp, agent_key: str) -> None:
    app.processed[agent_key] += 1
    RECORDS.labels(agent_key).inc()


async def _dead_letter(app: StreamsApp, agent_key: str, message: Any, exc: BaseException,
                       intended_topic: str | None) -> None:
    letter = dead_letter_of(exc, topic=message.topic, partition=message.partition, offset=message.offset,
                            raw=message.value, intended_topic=intended_topic)
    DEAD_LETTERS.labels(letter.reason).inc()
    log.warning("stream_record_dead_lettered", agent=agent_key, reason=letter.reason,
                location=letter.source.location, error=letter.errors[0].message)
    try:
        await app.publisher.dead_letter(letter)
    except Exception as send_exc:  # noqa: BLE001 - logged; the stream must go on
        log.error("dead_letter_not_sent", agent=agent_key, location=letter.source.location,
                  error=type(send_exc).__name__)


async def _with_retries(agent_key: str, work: Callable[[], Awaitable[T]], delays: tuple[float, ...]) -> T:
    for delay in delays:
        try:
            return await work()
        except StreamFailure as failure:
            if failure.reason != "STREAM_PUBLISH_FAILED":
                raise  # a known-bad record: retrying cannot help
            log.warning("stream_record_retry", agent=agent_key, error=failure.reason, in_s=delay)
            await asyncio.sleep(delay)
        except Exception as exc:  # noqa: BLE001 - retried, then dead-lettered by the caller
            log.warning("stream_record_retry", agent=agent_key, error=type(exc).__name__, in_s=delay)
            await asyncio.sleep(delay)
    return await work()


def install_agents(app: StreamsApp) -> None:
    """Registers every agent (and, with the wall clock, the ticker) on the app."""
    app.resolver = Resolver(app.registry, app.codec, app.publisher, app.forwarded)
    app.correlator = Correlator(app.states, app.due, app.codec, app.clock, app.rule_config, app.publisher)
    app.resolve_agents = {short: _resolve_agent(app, short) for short in AGENCY_TOPICS}
    app.registry_agent = _registry_agent(app)
    app.correlate_agent = _correlate_agent(app)
    if not app.clock.simulated:
        _install_ticker(app)


def _resolve_agent(app: StreamsApp, short: str) -> Any:
    topic = app.topic(app.settings.topic(short), key_type=bytes, value_type=bytes)

    async def resolve_records(stream: Any) -> Any:
        """Resolves each agency record to its subject(s); yields one list per record."""
        await app.registry.wait_ready()
        async for event in stream.events():
            m = event.message
            yield await guarded(app, short, m, lambda: app.resolver.route(short, m.value, m.timestamp), short)

    return app.agent(topic, name=f"streams.resolve-{short}")(resolve_records)


def _registry_agent(app: StreamsApp) -> Any:
    topic = app.topic(app.settings.topic(CASE), key_type=bytes, value_type=bytes)

    async def registry_records(stream: Any) -> Any:
        """Forwards each case snapshot to its subject; yields one list per record."""
        async for event in stream.events():
            m = event.message
            yield await guarded(app, CASE, m, lambda: app.resolver.route_case(m.value), CASE)

    return app.agent(topic, name="streams.case_registry")(registry_records)


def _correlate_agent(app: StreamsApp) -> Any:
    async def correlate_records(stream: Any) -> Any:
        """Applies subject-events records, a batch at a time, to their subjects' states; yields each one's alerts."""
        async for events in stream.take_events(CORRELATE_BATCH_MAX, CORRELATE_BATCH_WITHIN_S):
            for alerts in await correlate_batch(app, [event.message for event in events]):
                yield alerts

    return app.agent(app.subject_events, name="streams.correlate")(correlate_records)


def _install_ticker(app: StreamsApp) -> None:
    async def wall_ticker() -> None:
        """Ticks the subject-events partitions this worker owns (each partition's owner ticks it)."""
        name = app.subject_events.get_topic_name()
        owned = [tp.partition for tp in app.consumer.assignment() if tp.topic == name]
        if owned:
            await send_ticks_async(app.subject_events, app.settings, wall_now(), owned)

    app.timer(interval=app.settings.stream_tick_interval_s, name="streams.wall-ticker")(wall_ticker)
