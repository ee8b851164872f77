"""Start-up reconciliation of rows left in `sending` by a crash between the provider call and the ledger update.

- SMS (and the outbox): the provider can tell. Twilio is asked for messages to that number created since
  the row went to `sending` (or, when an earlier attempt ended ambiguously, since that attempt began: see
  consumers.delivery.ambiguous) whose body carries the alert's ack code. Found: the row becomes `sent` with
  that SID (audit RECONCILED, no second SMS). Not found: back to `pending`, sent by the sender as usual.
- E-mail: SMTP cannot tell whether the server accepted the message before the crash. The row is re-sent
  at once with the SAME Message-ID (derived from the delivery id), so the recipient's mail client threads
  or merges a duplicate with the first; the re-send is audited RESENT_AFTER_CRASH. A recipient may
  therefore see the same e-mail twice after a crash, never a different one.
- If Twilio cannot be asked right now (network), the SMS row stays in `sending` and is looked at again
  on the next pass, so an SMS is never sent twice.
Only rows in `sending` for longer than `stale_after` are touched: a younger one may be another
dispatcher's message in flight. The dispatcher runs a pass at start and then periodically.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consumers import ledger
from consumers.delivery.ambiguous import unsure_since
from consumers.delivery.retry import DeliveryFault
from consumers.delivery.sender import Sender
from consumers.ledger.models import Delivery, LedgerAlert
from runtime.logging import get_logger

log = get_logger(__name__)


def stuck_deliveries(session: Session, before: datetime) -> list[Delivery]:
    """Rows in `sending` since before `before`, oldest first."""
    return list(session.scalars(sa.select(Delivery).where(Delivery.state == ledger.SENDING,
                                                          Delivery.updated_at <= before)
                                .order_by(Delivery.updated_at, Delivery.id)))


def reconcile(sender: Sender, stale_after: timedelta = timedelta(0)) -> dict[str, int]:
    """Resolve rows in `sending` for longer than stale_after; counts per outcome."""
    counts = {"reconciled": 0, "requeued": 0, "resent": 0, "unresolved": 0}
    with sender.sessions() as session:
        stuck = [d.id for d in stuck_deliveries(session, sender.now() - stale_after)]
    for delivery_id in stuck:
        counts[_reconcile_one(sender, delivery_id)] += 1
    if stuck:
        log.info("reconciled_sending_rows", **counts)
    return counts


def _reconcile_one(sender: Sender, delivery_id: int) -> str:
    with sender.sessions() as session:
        row = session.get(Delivery, delivery_id)
        channel = sender.channels[row.channel]
        message = sender.message_for(session, row)
        since = min(row.updated_at, unsure_since(session, [row]).get(row.id, row.updated_at))
    if not channel.can_reconcile:
        _resend(sender, delivery_id)
        return "resent"
    try:
        provider_id = channel.find_sent(message, since)
    except DeliveryFault as fault:
        log.warning("reconcile_lookup_failed", delivery_id=delivery_id, code=fault.code)
        return "unresolved"
    if provider_id is not None:
        sender.record_sent(delivery_id, provider_id, action="RECONCILED")
        return "reconciled"
    _requeue(sender, delivery_id, "NOT_FOUND_AT_PROVIDER")
    return "requeued"


def _requeue(sender: Sender, delivery_id: int, reason: str) -> None:
    _back_to_pending(sender, delivery_id, "REQUEUED_AFTER_CRASH", lambda _session, _row: {"reason": reason})


def _resend(sender: Sender, delivery_id: int) -> None:
    """Audit RESENT_AFTER_CRASH, put the row back to pending and send it now (same Message-ID)."""
    _back_to_pending(sender, delivery_id, "RESENT_AFTER_CRASH",
                     lambda session, row: {"message_id": sender.message_for(session, row).message_id})
    sender.send_one(delivery_id)


def _back_to_pending(sender: Sender, delivery_id: int, action: str,
                     detail: Callable[[Session, Delivery], dict[str, Any]]) -> None:
    """A row left in `sending` goes back to pending, due now, audited with `action`; committed."""
    now = sender.now()
    with sender.sessions() as session:
        row = session.get(Delivery, delivery_id)
        alert = session.get(LedgerAlert, row.alert_id)
        row.state, row.next_attempt_at, row.updated_at = ledger.PENDING, now, now
        ledger.audit(session, action, at=now, alert_id=row.alert_id, subject_id=alert.subject_id,
                     staff_id=row.staff_id, channel=row.channel, delivery_id=row.id, detail=detail(session, row))
        session.commit()
