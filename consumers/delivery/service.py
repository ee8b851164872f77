"""The dispatcher: alert + case topics -> ledger (then offsets); sender, escalation and reconciliation loop."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from consumers import ledger, metrics
from consumers.acks.links import ack_link
from consumers.delivery.bulk import record_alerts
from consumers.delivery.channels.build import build_channels
from consumers.delivery.dispatch import parse_channel_plan
from consumers.delivery.events import DeliveryPublisher
from consumers.delivery.reconcile import reconcile
from consumers.delivery.sender import InFlight, Sender
from consumers.escalation.runner import run_follow_ups
from consumers.ledger import directory
from runtime.codec import codec_for
from runtime.logging import get_logger
from runtime.settings import Settings
from schemas.errors import CodecError
from schemas.events import Alert, event_from_datum

log = get_logger(__name__)
SEND_BATCH = 50  # due deliveries the sender takes per round
RECORD_BATCH = 50  # alerts recorded per transaction: short ones let the sender claim and record in between
CONSUMED = ("case", "alert")  # case first in every batch: a staff update polled with an alert is applied before it


class DispatcherService:
    """One dispatcher: a consumer thread (the caller's) and a sender thread sharing a stop event."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], *, now: Callable[[], datetime] = ledger.utcnow,
                 publisher: DeliveryPublisher | None = None, consumer: Any = None, poll_ms: int = 200,
                 channels: dict[str, Any] | None = None, ready: threading.Event | None = None) -> None:
        self.settings = settings
        self.sessions = sessions
        self.now = now
        self.publisher = publisher
        self.plan = parse_channel_plan(settings.channels_by_severity)
        self.codec = codec_for(settings)
        self.consumer = consumer
        self.poll_ms = poll_ms
        self.sender = Sender(sessions, channels or build_channels(settings), settings, publisher=publisher, now=now,
                             ack_link=_ack_link_hook(settings, now))
        self.stale_after = timedelta(seconds=3 * max(settings.twilio_timeout_s, settings.smtp_timeout_s))
        self.work = threading.Event()  # set when the consumer recorded deliveries: the sender goes at once
        self.ready = ready or threading.Event()  # set once the dispatcher consumes; its /readyz answers from it

    def serve(self, stop: threading.Event, companions: Iterable[Callable[[threading.Event], None]] = ()) -> None:
        """Send on a thread (and run each companion, e.g. the ledger gauges, on its own), consume on this one until
        `stop` is set; then stop the threads and close the consumer and the publisher."""
        threads = [threading.Thread(target=self.send_loop, args=(stop,), name="dispatcher-sender", daemon=True)]
        threads += [threading.Thread(target=_companion, args=(run, stop, self.ready), name=f"dispatcher-{i}", daemon=True)
                    for i, run in enumerate(companions)]
        self.ready.set()  # before the companions start: a companion that fails at once must leave it cleared
        for thread in threads:
            thread.start()
        log.info("dispatcher_started", topics=[self.settings.topic(t) for t in CONSUMED])
        try:
            self.consume(stop)
        finally:
            stop.set()
            self.work.set()
            for thread in threads:
                thread.join(timeout=30)
            self.sender.close()
            self.consumer.close()
            if self.publisher is not None:
                self.publisher.close()
            log.info("dispatcher_stopped")

    def handle(self, records: Iterable[Any]) -> int:
        """Apply a polled batch in one transaction (staff updates first); alerts newly recorded."""
        by_topic: dict[str, list[Any]] = {short: [] for short in CONSUMED}
        for record in records:
            short = record.topic[len(self.settings.topic_prefix):]
            by_topic.setdefault(short, []).append(record)
        recorded = 0
        with self.sessions.begin() as session:
            directory.apply_case_events(session, [event_from_datum("case", datum) for record in by_topic["case"]
                                                  if (datum := self._decode(record, "case")) is not None], self.now())
            alerts = [Alert.from_datum(datum) for record in by_topic["alert"]
                      if (datum := self._decode(record, "alert")) is not None]
            for alert in record_alerts(session, alerts, self.plan, self.now()) if alerts else ():
                recorded += 1
                metrics.count_alert(alert.rule, alert.severity.value)
        return recorded

    def _decode(self, record: Any, short: str) -> dict[str, Any] | None:
        try:
            return self.codec.decode(record.value, short)
        except (CodecError, TypeError) as exc:  # dead-lettering is upstream's job; never block the partition
            log.error("undecodable_record", topic=record.topic, partition=record.partition, offset=record.offset,
                      error=type(exc).__name__)
            return None

    def consume(self, stop: threading.Event) -> None:
        """Poll, write the ledger, commit the DB, THEN commit the offsets; until stop is set."""
        while not stop.is_set():
            batches = self.consumer.poll(timeout_ms=self.poll_ms, max_records=RECORD_BATCH)
            if not batches:
                continue
            records = [r for batch in batches.values() for r in batch]
            recorded = self.handle(records)
            self.consumer.commit()
            if recorded:
                self.work.set()
                log.info("alerts_recorded", count=recorded)

    def send_loop(self, stop: threading.Event) -> None:
        """Reconcile, then send due rows, escalate and reconcile again periodically; until stop is set. Pipelined:
        the next batch is claimed and its provider calls started before the last batch's outcomes are recorded."""
        reconcile(self.sender, self.stale_after)
        last_escalation = last_reconcile = self.now()
        flight: InFlight | None = None
        while not stop.is_set():
            self.work.clear()
            started = 0
            try:
                previous, flight = flight, self.sender.start_due(SEND_BATCH)
                started = len(flight.claims)
                if previous is not None:
                    self.sender.finish(previous)
                now = self.now()
                if now - last_escalation >= timedelta(seconds=self.settings.escalation_interval_s):
                    self.follow_up(now)
                    last_escalation = now
                if now - last_reconcile >= self.stale_after:
                    reconcile(self.sender, self.stale_after)
                    last_reconcile = now
            except Exception:  # noqa: BLE001 - a DB hiccup must not end the sender; the ledger keeps the work
                log.exception("sender_loop_error")
            if started < SEND_BATCH:  # a full batch means more may be due: go round again at once
                if flight is not None:
                    self._finish_quietly(flight)
                    flight = None
                self.work.wait(self.settings.sender_interval_s)
        if flight is not None:
            self._finish_quietly(flight)

    def _finish_quietly(self, flight: InFlight) -> None:
        try:
            self.sender.finish(flight)
        except Exception:  # noqa: BLE001 - rows left in `sending` are reconciled; the sender goes on
            log.exception("sender_loop_error")

    def follow_up(self, now: datetime) -> None:
        """Escalate and re-send what no recipient acknowledged (consumers.escalation), commit, then publish the
        ESCALATED events."""
        with self.sessions.begin() as session:
            run = run_follow_ups(session, now, self.settings)
        for event in run.events if self.publisher is not None else ():
            self.publisher.publish(event.kind.value, event.alert_id, event.at, staff_id=event.staff_id,
                                   channel=event.channel.value if event.channel else None, code=event.code,
                                   event_id=event.delivery_event_id)


def _ack_link_hook(settings: Settings, now: Callable[[], datetime]) -> Callable[[str, str], str | None]:
    """The signed e-mail acknowledgement link of consumers.acks.links, valid from the dispatcher's clock's now."""
    return lambda alert_id, staff_id: ack_link(alert_id, staff_id, settings=settings, now=now())


def _companion(run: Callable[[threading.Event], None], stop: threading.Event, ready: threading.Event) -> None:
    """A companion thread's work; its failure must not stop deliveries, but must not go quiet either: the error is
    logged and the dispatcher's /readyz answers 503 from then on (e.g. ledger gauges that cannot read)."""
    try:
        run(stop)
    except Exception:  # noqa: BLE001 - see docstring
        ready.clear()
        log.exception("dispatcher_companion_failed", name=getattr(run, "__qualname__", repr(run)),
                      effect="dispatcher /readyz answers 503 until restarted")


def dispatcher_group(settings: Settings) -> str:
    """The dispatcher's consumer group; the topic prefix keeps deployments sharing a cluster apart."""
    return f"{settings.topic_prefix}dispatcher"
