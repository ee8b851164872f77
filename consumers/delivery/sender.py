"""The sender: due pending rows -> sending (committed) -> provider -> sent / retry with backoff / failed + failover.

After an ambiguous fault (a timeout: the provider may have taken the message) the next attempt asks the
provider first and records a message it already has as RECONCILED instead of sending it twice
(consumers.delivery.ambiguous).
"""
from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from consumers import ledger, metrics
from consumers.delivery.ambiguous import Claim, Reconciled, SendOutcome, attempt, is_ambiguous, unsure_since
from consumers.delivery.channels import EMAIL, Channel, OutgoingMessage
from consumers.delivery.channels.email import message_id_for
from consumers.delivery.dispatch import ChannelPlan, fail_over, parse_channel_plan
from consumers.delivery.events import DeliveryPublisher
from consumers.delivery.render import AckLinkFn, email_parts, email_subject
from consumers.delivery.retry import DeliveryFault, PermanentFault, backoff_delay
from consumers.ledger.models import Delivery, LedgerAlert
from runtime.logging import get_logger
from runtime.settings import Settings

log = get_logger(__name__)


@dataclass(frozen=True)
class InFlight:
    """A claimed batch whose provider calls have started."""

    claims: list[Claim]
    futures: list[Future[SendOutcome]]


class Sender:
    """Sends due deliveries a batch at a time; a claim is committed before any provider call, outcomes after."""

    def __init__(self, sessions: sessionmaker[Session], channels: Mapping[str, Channel], settings: Settings, *,
                 publisher: DeliveryPublisher | None = None, now: Callable[[], datetime] = ledger.utcnow,
                 jitter: Callable[[], float] = random.random, ack_link: AckLinkFn | None = None) -> None:
        self.sessions = sessions
        self.channels = channels
        self.settings = settings
        self.plan: ChannelPlan = parse_channel_plan(settings.channels_by_severity)
        self.publisher = publisher
        self.now = now
        self.jitter = jitter
        self.ack_link = ack_link
        # Provider calls wait on the network: threads kept for the sender's life, not started per batch.
        self._pool = ThreadPoolExecutor(max_workers=settings.sender_concurrency, thread_name_prefix="sender")

    def close(self) -> None:
        """Let the provider-call threads go (calls in flight finish)."""
        self._pool.shutdown(wait=False)

    def send_due(self, limit: int = 50) -> int:
        """Claim up to `limit` due rows at once, call the providers (concurrently), record the outcomes; how many
        were attempted. A crash after the claim leaves rows in `sending` for reconcile, as for one row."""
        return self.finish(self.start_due(limit))

    def start_due(self, limit: int) -> InFlight:
        """Claim up to `limit` due rows (committed) and start their provider calls without waiting for them."""
        claims = self.claim_due(limit)
        return InFlight(claims, [self._pool.submit(self._attempt, claim) for claim in claims])

    def finish(self, flight: InFlight) -> int:
        """Wait for a started batch's provider calls and record their outcomes; how many were attempted."""
        if flight.claims:
            outcomes = [future.result() for future in flight.futures]
            self._record_outcomes(list(zip(flight.claims, outcomes, strict=True)))
        return len(flight.claims)

    def send_one(self, delivery_id: int) -> str | None:
        """Claim, send and record one delivery; its new state, or None when another sender claimed it."""
        claim = self._claim_one(delivery_id)
        if claim is None:
            return None
        outcome = self._attempt(claim)
        if isinstance(outcome, DeliveryFault):
            return self._record_fault(claim, outcome)
        self._record_outcomes([(claim, outcome)])
        return ledger.SENT

    def _attempt(self, claim: Claim) -> SendOutcome:
        """The provider's message id, the id it already had (after an ambiguous fault), or the fault."""
        return attempt(self.channels[claim.message.channel], claim)

    def _record_outcomes(self, results: list[tuple[Claim, SendOutcome]]) -> None:
        """Sent rows in one commit, rows the provider already had (RECONCILED) in another, then each fault."""
        self.record_sent_many([(c.delivery_id, o) for c, o in results if isinstance(o, str)])
        self.record_sent_many([(c.delivery_id, o.provider_id) for c, o in results if isinstance(o, Reconciled)],
                              action="RECONCILED")
        for claim, outcome in results:
            if isinstance(outcome, DeliveryFault):
                self._record_fault(claim, outcome)

    def claim_due(self, limit: int) -> list[Claim]:
        """Due pending rows -> sending with attempts + 1, in one transaction committed before any provider call
        (rows another sender holds are skipped on PostgreSQL; SQLite's write lock serialises claims)."""
        now = self.now()
        with self.sessions() as session:
            rows = list(session.scalars(
                sa.select(Delivery).where(Delivery.state == ledger.PENDING, Delivery.next_attempt_at <= now)
                .order_by(Delivery.next_attempt_at, Delivery.id).limit(limit).with_for_update(skip_locked=True)))
            alerts = {a.alert_id: a for a in session.scalars(
                sa.select(LedgerAlert).where(LedgerAlert.alert_id.in_({row.alert_id for row in rows})))}
            for row in rows:
                row.state, row.attempts, row.updated_at = ledger.SENDING, row.attempts + 1, now
            unsure = unsure_since(session, rows)
            claims = [Claim(self.message_for(session, row, alerts.get(row.alert_id)), now, unsure.get(row.id))
                      for row in rows]
            session.commit()
        return claims

    def claim(self, delivery_id: int) -> OutgoingMessage | None:
        """pending -> sending with attempts + 1, committed before the provider is called."""
        claim = self._claim_one(delivery_id)
        return claim.message if claim is not None else None

    def _claim_one(self, delivery_id: int) -> Claim | None:
        now = self.now()
        with self.sessions() as session:
            claimed = session.execute(
                sa.update(Delivery).where(Delivery.id == delivery_id, Delivery.state == ledger.PENDING)
                .values(state=ledger.SENDING, attempts=Delivery.attempts + 1, updated_at=now)).rowcount
            session.commit()
            if not claimed:
                return None
            row = session.get(Delivery, delivery_id)
            return Claim(self.message_for(session, row), now, unsure_since(session, [row]).get(row.id))

    def message_for(self, session: Session, row: Delivery, alert: LedgerAlert | None = None) -> OutgoingMessage:
        """The provider message of a row: the stored body; for e-mail the subject, HTML and ack link too."""
        alert = alert or session.get(LedgerAlert, row.alert_id)
        assert alert is not None
        if row.channel != EMAIL:
            return OutgoingMessage(delivery_id=row.id, alert_id=row.alert_id, staff_id=row.staff_id,
                                   channel=row.channel, destination=row.destination, body=row.body,
                                   ack_code=alert.ack_code)
        link = self.ack_link(row.alert_id, row.staff_id) if self.ack_link else None
        text, html = email_parts(row.body, link)
        return OutgoingMessage(delivery_id=row.id, alert_id=row.alert_id, staff_id=row.staff_id, channel=EMAIL,
                               destination=row.destination, body=text, html=html, ack_code=alert.ack_code,
                               subject=email_subject(alert.severity, alert.rule, alert.ack_code),
                               message_id=message_id_for(row.id, row.alert_id, self.settings.smtp_from))

    def record_sent(self, delivery_id: int, provider_id: str, action: str = "DISCLOSED") -> None:
        """sending -> sent with the provider id; audit the disclosure (with the body); publish SENT."""
        self.record_sent_many([(delivery_id, provider_id)], action)

    def record_sent_many(self, sent: list[tuple[int, str]], action: str = "DISCLOSED") -> None:
        """Each (delivery id, provider id): sending -> sent, the disclosure audited (with the body); one commit;
        then SENT published for each."""
        if not sent:
            return
        now = self.now()
        done: list[tuple[int, str, str, str]] = []
        with self.sessions() as session:
            rows = {row.id: row for row in session.scalars(
                sa.select(Delivery).where(Delivery.id.in_([delivery_id for delivery_id, _ in sent])))}
            alerts = {a.alert_id: a for a in session.scalars(
                sa.select(LedgerAlert).where(LedgerAlert.alert_id.in_({r.alert_id for r in rows.values()})))}
            for delivery_id, provider_id in sent:
                row = rows[delivery_id]
                alert = alerts[row.alert_id]
                row.state, row.provider_message_id, row.sent_at, row.updated_at = ledger.SENT, provider_id, now, now
                row.last_error, row.next_attempt_at = None, None
                ledger.audit(session, action, at=now, alert_id=row.alert_id, subject_id=alert.subject_id,
                             staff_id=row.staff_id, channel=row.channel, delivery_id=row.id, flush=False,
                             detail={"body": row.body, "purpose": row.purpose, "level": row.level,
                                     "attempts": row.attempts, "provider_message_id": provider_id})
                done.append((delivery_id, row.alert_id, row.staff_id, row.channel))
            timings = [(row.channel, alerts[row.alert_id].raised_at, alerts[row.alert_id].trigger_event_ids)
                       for row in (rows[d] for d, _ in sent)]
            metrics.observe_deliveries(session, timings, now)  # in this turn of the database, not one more
            session.commit()
        for delivery_id, alert_id, staff_id, channel in done:
            metrics.count_delivery(channel, "sent")
            log.info("delivery_sent", delivery_id=delivery_id, alert_id=alert_id, staff_id=staff_id, channel=channel)
            self._publish("SENT", alert_id, now, staff_id, channel, None, wait=False)
        self._flush_events()

    def _record_fault(self, claim: Claim, fault: DeliveryFault) -> str:
        """pending again with backoff (an ambiguous fault keeps when the unknown began), or failed + failover."""
        now, delivery_id = self.now(), claim.delivery_id
        with self.sessions() as session:
            row = session.get(Delivery, delivery_id)
            alert = session.get(LedgerAlert, row.alert_id)
            row.last_error, row.updated_at = fault.code, now
            if fault.transient and row.attempts < self.settings.delivery_max_attempts:
                delay = backoff_delay(row.attempts, self.settings.delivery_backoff_base_s,
                                      self.settings.delivery_backoff_cap_s, self.jitter)
                row.state, row.next_attempt_at = ledger.PENDING, now + delay
                detail: dict[str, Any] = {"code": fault.code, "attempts": row.attempts,
                                          "delay_s": round(delay.total_seconds(), 3)}
                if is_ambiguous(fault.code):
                    detail["unsure_since"] = claim.unsure_from().isoformat()
                ledger.audit(session, "RETRY_SCHEDULED", at=now, alert_id=row.alert_id, subject_id=alert.subject_id,
                             staff_id=row.staff_id, channel=row.channel, delivery_id=row.id, detail=detail)
                session.commit()
                log.warning("delivery_retry_scheduled", delivery_id=delivery_id, code=fault.code,
                            attempts=row.attempts)
                return ledger.PENDING
            code = fault.code if not fault.transient else f"MAX_ATTEMPTS:{fault.code}"
            self.mark_failed(session, row, PermanentFault(code), now)
            staff_id, channel, alert_id = row.staff_id, row.channel, row.alert_id
        metrics.count_delivery(channel, "failed")
        self._publish("FAILED", alert_id, now, staff_id, channel, code)
        return ledger.FAILED

    def mark_failed(self, session: Session, row: Delivery, fault: DeliveryFault, now: datetime) -> None:
        """-> failed, audited, then failover planned; committed."""
        alert = session.get(LedgerAlert, row.alert_id)
        row.state, row.failed_at, row.updated_at, row.last_error = ledger.FAILED, now, now, fault.code
        row.next_attempt_at = None
        ledger.audit(session, "SEND_FAILED", at=now, alert_id=row.alert_id, subject_id=alert.subject_id,
                     staff_id=row.staff_id, channel=row.channel, delivery_id=row.id,
                     detail={"code": fault.code, "attempts": row.attempts})
        session.flush()
        fail_over(session, row, self.plan, now)
        session.commit()
        log.warning("delivery_failed", delivery_id=row.id, alert_id=row.alert_id, code=fault.code)

    def _publish(self, kind: str, alert_id: str, at: datetime, staff_id: str, channel: str, code: str | None,
                 wait: bool = True) -> None:
        if self.publisher is None:
            return
        try:
            self.publisher.publish(kind, alert_id, at, staff_id=staff_id, channel=channel, code=code, wait=wait)
        except Exception as exc:  # noqa: BLE001 - the ledger is the record; the topic is a notification
            log.error("delivery_event_not_published", alert_id=alert_id, kind=kind, error=type(exc).__name__)

    def _flush_events(self) -> None:
        """One wait for a batch's delivery events (one broker round trip each had paced the sender)."""
        if self.publisher is None:
            return
        try:
            self.publisher.flush()
        except Exception as exc:  # noqa: BLE001 - the ledger is the record; the topic is a notification
            log.error("delivery_events_not_flushed", error=type(exc).__name__)
