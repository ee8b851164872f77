"""The dispatcher's part of a replay, on the simulated clock: record and send each step's alerts, acknowledge as staff
would, and run every escalation and re-send at the moment it falls due while the clock advances."""
from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import IO

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consumers.acks.acknowledge import VIA_LINK, VIA_SMS, VIA_WEB, AckOutcome, acknowledge, acknowledge_sms
from consumers.acks.links import ACK_PATH, AckLinkRefused, ack_link, link_secret, verify_token
from consumers.chronology.feed import ingest_record
from consumers.delivery.service import CONSUMED, DispatcherService
from consumers.escalation.runner import next_follow_up_at
from consumers.ledger.acks import latest_alert_to
from consumers.ledger.directory import contact
from consumers.ledger.models import EMAIL, Delivery, LedgerAlert
from entrypoints import bootstrap
from entrypoints.replay.pipeline import TopicReader
from entrypoints.replay.scenario import Ack
from runtime.codec import codec_for
from runtime.kafka import read_all
from runtime.settings import Settings
from schemas.subject_events import SUBJECT_EVENTS

MAX_FOLLOW_UPS = 10_000  # moments one step may step through; a scenario reaching it has a bug, not a backlog


@dataclass(frozen=True)
class DeliverySummary:
    """What the replay left in the ledger."""

    alerts_recorded: int
    messages_sent: int
    chronology_events: int


class ReplayDelivery:
    """A dispatcher driven step by step: `catch_up(now)` after each step, `acknowledge` for ack lines."""

    def __init__(self, service: DispatcherService, settings: Settings, timeout_s: float) -> None:
        self.service = service
        self.settings = settings
        self.timeout_s = timeout_s
        self.now: datetime | None = None
        self.reader = TopicReader(settings, *(settings.topic(t) for t in CONSUMED))
        self.recorded = self.sent = 0

    def clock(self) -> datetime:
        """The dispatcher's now: the simulated clock as far as the replay has moved it."""
        assert self.now is not None, "the replay delivers only after its first accepted event"
        return self.now

    def catch_up(self, now: datetime) -> None:
        """Run every escalation and re-send due up to `now`, each at its own moment; then record and send the step's
        staff updates and alerts at `now`."""
        last = self.now
        for _ in range(MAX_FOLLOW_UPS if last is not None else 0):
            with self.service.sessions() as session:
                due = next_follow_up_at(session, self.settings, last)
            if due is None or due > now:
                break
            self._follow_up(due)
            last = due
        self.now = now
        self.recorded += self.service.handle(self.reader.read_new(self.timeout_s))
        self._send_all()
        self._follow_up(now)

    def _follow_up(self, at: datetime) -> None:
        self.now = at
        self.service.follow_up(at)
        self._send_all()

    def _send_all(self) -> None:
        while attempted := self.service.sender.send_due():
            self.sent += attempted

    def acknowledge(self, step: Ack) -> tuple[AckOutcome | None, str]:
        """Acknowledge as `step.staff_id` would, at the clock's now: (outcome, what was done) or (None, why not)."""
        now = self.clock()
        with self.service.sessions.begin() as session:
            alert = latest_alert_to(session, step.on_behalf_of or step.staff_id, step.rule)
            if alert is None:
                return None, f"no {step.rule} alert was addressed to {step.on_behalf_of or step.staff_id}"
            if step.via == VIA_SMS:
                found = contact(session, step.staff_id)
                if found is None or not found.phone_e164:
                    return None, f"{step.staff_id} has no registered phone to reply from"
                return acknowledge_sms(session, found.phone_e164, f"ACK {alert.ack_code}", now), alert.ack_code
            if step.via == VIA_LINK:
                return self._by_link(session, alert, step.staff_id, now)
            return acknowledge(session, alert.alert_id, step.staff_id, VIA_WEB, now, on_behalf_of=step.on_behalf_of,
                               reason=step.reason), alert.ack_code

    def _by_link(self, session: Session, alert: LedgerAlert, staff_id: str,
                 now: datetime) -> tuple[AckOutcome | None, str]:
        """The link of the e-mail the staff member was sent, opened and confirmed at `now`."""
        email = session.scalars(sa.select(Delivery).where(Delivery.alert_id == alert.alert_id,
                                                          Delivery.staff_id == staff_id, Delivery.channel == EMAIL,
                                                          Delivery.sent_at.is_not(None))
                                .order_by(Delivery.sent_at)).first()
        if email is None:
            return None, f"no e-mail about {alert.ack_code} was sent to {staff_id}"
        token = ack_link(alert.alert_id, staff_id, settings=self.settings, now=email.sent_at).split(ACK_PATH)[-1]
        try:
            claim = verify_token(link_secret(self.settings), token, now)
        except AckLinkRefused as refused:
            return None, f"the e-mail link of {alert.ack_code} is refused: {refused.reason}"
        return acknowledge(session, claim.alert_id, claim.staff_id, VIA_LINK, now), alert.ack_code

    def finish(self) -> DeliverySummary:
        """The subject events into the chronology; what the replay left behind."""
        codec = codec_for(self.settings)
        with self.service.sessions.begin() as session:
            events = sum(ingest_record(session, codec, r.key, r.value, r.headers)
                         for r in read_all(self.settings, self.settings.topic(SUBJECT_EVENTS)))
        return DeliverySummary(self.recorded, self.sent, events)

    def close(self) -> None:
        """Closes the topic reader."""
        self.reader.consumer.close()


@contextmanager
def replay_delivery(target: Settings, replayed: Settings, timeout_s: float,
                    out: IO[str] | None = None) -> Iterator[ReplayDelivery]:
    """Delivery into `target`'s ledger and outbox from the replay's broker and topics (`replayed`)."""
    bound = target.model_copy(update={"kafka_bootstrap": replayed.kafka_bootstrap,
                                      "topic_prefix": replayed.topic_prefix})
    bound.data_dir.mkdir(parents=True, exist_ok=True)
    holder: list[ReplayDelivery] = []
    with bootstrap.stepped_dispatcher(bound, now=lambda: holder[0].clock(), out=out or sys.stderr) as service:
        delivery = ReplayDelivery(service, bound, timeout_s)
        holder.append(delivery)
        try:
            yield delivery
        finally:
            delivery.close()

