"""Ambiguous send outcomes: after a fault that may have reached the provider, ask it before sending again.

A request that timed out or lost its connection may still have been taken by the provider, which answered
too late (Twilio creates the message, then the client gives up). A blind retry would send a second SMS, so
the next attempt of such a row first asks the provider (`channel.find_sent`) for a message created since
the unsure attempt began: found -> the row is recorded `sent` with audit RECONCILED, nothing is POSTed;
not found -> sent as usual; the lookup itself failing -> a transient fault `LOOKUP_FAILED:<code>` of this
attempt, itself ambiguous, so the question is asked again next time and nothing is ever sent blind.
When the unsure attempt began is kept in the RETRY_SCHEDULED audit detail (`unsure_since`: the claim time
of the earliest attempt whose outcome is still unknown), so no column is needed; rows without it fall back
to their created_at (wider, still safe). Channels that cannot be asked (SMTP) re-send as before.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consumers.delivery.channels import Channel, OutgoingMessage
from consumers.delivery.retry import DeliveryFault, TransientFault
from consumers.ledger.models import AuditEntry, Delivery
from runtime.db import as_utc
from runtime.logging import get_logger

log = get_logger(__name__)

# Fault codes after which the message may have left (consumers.delivery.channels.sms.classify and email.classify):
# a read timeout or dropped connection after the request went out, an unexpected SDK error (possibly
# after a 201), and gateway answers (502/504) that do not say whether Twilio's backend took the request.
# Other 4xx/5xx answers come from Twilio itself and mean the message was not created.
AMBIGUOUS_CODES = frozenset({"TIMEOUT", "NETWORK", "TWILIO_ERROR", "TWILIO_HTTP_502", "TWILIO_HTTP_504"})
LOOKUP_FAILED = "LOOKUP_FAILED"
RETRY_SCHEDULED = "RETRY_SCHEDULED"


def is_ambiguous(code: str | None) -> bool:
    """True when a fault with this code leaves open whether the provider took the message."""
    return code is not None and (code in AMBIGUOUS_CODES or code.startswith(LOOKUP_FAILED + ":"))


@dataclass(frozen=True, slots=True)
class Claim:
    """A claimed row's message, when this attempt began, and since when its outcome has been unknown (if it is)."""

    message: OutgoingMessage
    started_at: datetime
    unsure_since: datetime | None = None

    @property
    def delivery_id(self) -> int:
        return self.message.delivery_id

    def unsure_from(self) -> datetime:
        """What to store as `unsure_since` if this attempt ends ambiguous: the earlier unknown, or this attempt."""
        return self.unsure_since or self.started_at


@dataclass(frozen=True, slots=True)
class Reconciled:
    """The provider already had the message: its id."""

    provider_id: str


SendOutcome = str | Reconciled | DeliveryFault


def unsure_since(session: Session, rows: Sequence[Delivery]) -> dict[int, datetime]:
    """{delivery id: start of the unsure attempt} for the rows whose last fault was ambiguous."""
    unsure = [row for row in rows if is_ambiguous(row.last_error)]
    if not unsure:
        return {}
    latest: dict[int, str] = {}
    for delivery_id, detail in session.execute(
            sa.select(AuditEntry.delivery_id, AuditEntry.detail)
            .where(AuditEntry.action == RETRY_SCHEDULED, AuditEntry.alert_id.in_({r.alert_id for r in unsure}),
                   AuditEntry.delivery_id.in_([r.id for r in unsure])).order_by(AuditEntry.id)):
        latest[delivery_id] = detail
    return {row.id: _stamp(latest.get(row.id)) or as_utc(row.created_at) for row in unsure}


def _stamp(detail: str | None) -> datetime | None:
    value = json.loads(detail).get("unsure_since") if detail else None
    return datetime.fromisoformat(value) if value else None


def attempt(channel: Channel, claim: Claim) -> SendOutcome:
    """One attempt of a claimed row: ask the provider first when the last outcome is unknown, else send."""
    if claim.unsure_since is not None and channel.can_reconcile:
        try:
            provider_id = channel.find_sent(claim.message, claim.unsure_since)
        except DeliveryFault as fault:
            log.warning("delivery_lookup_failed", delivery_id=claim.delivery_id, code=fault.code)
            return TransientFault(f"{LOOKUP_FAILED}:{fault.code}")
        if provider_id is not None:
            log.info("delivery_found_at_provider", delivery_id=claim.delivery_id)
            return Reconciled(provider_id)
    try:
        return channel.send(claim.message)
    except DeliveryFault as fault:
        return fault
