"""One fetch of the streams' topics as one batch: resolve, correlate, publish, then write state; never per record.

Order, for at-least-once without loss: a batch's forwards, alerts and dead letters are acknowledged by the broker
first; then its subjects' states (each encoded once) go to their changelogs and, acknowledged, into the stores;
only then does the caller acknowledge the batch's source offsets. A crash anywhere re-reads the batch: the same
events give the same alert ids, deduplicated by the rules' seen sets and downstream by the ledger.
"""
from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from schemas.events import Alert, DeadLetter, Event
from schemas.subject_events import SUBJECT_EVENTS, header
from streams.correlate import Correlator
from streams.metrics import ALERTS, DEAD_LETTERS, RECORDS
from streams.publish import StreamOutput, dead_letter_of
from streams.resolve import Forward, Resolver
from streams.subject_states import SubjectStates

log = structlog.get_logger(__name__)
# A broker that refuses a batch's records is retried: first quickly, then every few seconds until it answers
RETRY_DELAYS_S = (0.2, 1.0, 2.0, 5.0)


@dataclass
class Outputs:
    """What one batch sends."""

    forwards: list[Forward] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    letters: list[DeadLetter] = field(default_factory=list)


class BatchProcessor:
    """Handles a batch of consumer messages of the source topics and subject-events (see the module docstring)."""

    def __init__(self, prefix: str, resolver: Resolver, correlator: Correlator, states: SubjectStates,
                 output: StreamOutput, *, stopping: Callable[[], bool] = lambda: False,
                 delays: Sequence[float] = RETRY_DELAYS_S) -> None:
        self.prefix = prefix
        self.resolver = resolver
        self.correlator = correlator
        self.states = states
        self.output = output
        self.stopping = stopping
        self.delays = tuple(delays)
        self.processed: Counter[str] = Counter()  # records fully handled, by topic short name

    async def handle(self, messages: Sequence[Any]) -> None:
        """Processes the batch; returns once everything it produced is acknowledged (raises only when stopping)."""
        out = Outputs()
        sources = [m for m in messages if self._short(m) != SUBJECT_EVENTS]
        subject_events = [m for m in messages if self._short(m) == SUBJECT_EVENTS]
        if sources:
            await self._resolve(sources, out)
        for message in subject_events:
            try:
                out.alerts += self.correlator.step(message)
            except Exception as exc:  # noqa: BLE001 - one bad record is dead-lettered, the batch goes on
                out.letters.append(self._letter(message, exc, header(message.headers, "topic")))
        try:
            await self._retrying(lambda: self.output.publish(out.forwards, out.alerts, out.letters))
            writes = self.states.take_writes()
            offsets = await self._retrying(lambda: self.output.write(writes)) if writes else {}
        except BaseException:
            self.states.discard_staged()
            raise
        self.states.apply_writes(writes)
        for (table, partition), offset in offsets.items():
            table.store.changelog_written(table.changelog_tp(partition), offset)
        self._count(messages, out)

    async def _resolve(self, sources: Sequence[Any], out: Outputs) -> None:
        decoded: list[tuple[Any, str, Event]] = []
        for message in sources:
            short = self._short(message)
            try:
                decoded.append((message, short, self.resolver.decode(short, message.value)))
            except Exception as exc:  # noqa: BLE001 - an unreadable record is dead-lettered
                out.letters.append(self._letter(message, exc, short))
        await self.resolver.catch_up_if_behind([(short, e, m.timestamp) for m, short, e in decoded])
        for message, short, event in decoded:
            try:
                out.forwards += self.resolver.route(short, event, message.value or b"")
            except Exception as exc:  # noqa: BLE001 - see above
                out.letters.append(self._letter(message, exc, short))

    async def _retrying(self, send: Callable[[], Any]) -> Any:
        """Sends until the broker acknowledges; between tries waits the next delay (the last one repeats)."""
        attempt = 0
        while True:
            try:
                return await send()
            except Exception as exc:  # noqa: BLE001 - a broker fault: nothing is acknowledged, so try again
                if self.stopping():
                    raise
                delay = self.delays[min(attempt, len(self.delays) - 1)]
                log.warning("stream_batch_retry", error=type(exc).__name__, attempt=attempt + 1, in_s=delay,
                            exc_info=attempt == 0)  # the cause once, not every few seconds
                attempt += 1
                await asyncio.sleep(delay)

    def _letter(self, message: Any, exc: BaseException, intended: str | None) -> DeadLetter:
        letter = dead_letter_of(exc, topic=message.topic, partition=message.partition, offset=message.offset,
                                raw=message.value, intended_topic=intended)
        DEAD_LETTERS.labels(letter.reason).inc()
        log.warning("stream_record_dead_lettered", reason=letter.reason, location=letter.source.location,
                    error=letter.errors[0].message)
        return letter

    def _count(self, messages: Sequence[Any], out: Outputs) -> None:
        for message in messages:
            short = self._short(message)
            self.processed[short] += 1
            RECORDS.labels(short).inc()
        for alert in out.alerts:
            ALERTS.labels(alert.rule).inc()

    def _short(self, message: Any) -> str:
        return message.topic[len(self.prefix):]
