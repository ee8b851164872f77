"""Acknowledgement, one API for every way (SMS reply, e-mail link, staff web app): each recipient acknowledges for
themselves; a duty manager may acknowledge on someone's behalf only with a reason code, or take an escalation."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consumers import metrics
from consumers.ledger.acks import messaged_about, recipient_ack
from consumers.ledger.directory import DUTY_MANAGER, contact
from consumers.ledger.models import (
    NOBODY,
    Delivery,
    LedgerAlert,
    RecipientAck,
    Staff,
    alert_by_ack_code,
    audit,
    get_alert,
)
from schemas.enums import Channel, DeliveryKind
from schemas.events import DeliveryEvent

VIA_SMS, VIA_LINK, VIA_WEB, ON_BEHALF = "SMS", "LINK", "WEB", "ON_BEHALF"
WAYS = (VIA_SMS, VIA_LINK, VIA_WEB)  # how the person acknowledging reached us; ON_BEHALF is how it is recorded
# Why a duty manager acknowledges for someone else: codes only, never free text (it could carry a name).
ON_BEHALF_REASONS = {
    "SPOKE_TO_RECIPIENT": "the duty manager spoke to the recipient, who has the information",
    "RECIPIENT_UNAVAILABLE": "the recipient cannot be reached (leave, sickness, off shift); the duty manager acts",
    "ACTIONED_BY_DUTY_MANAGER": "the duty manager has taken the action the alert asks for",
    "REASSIGNED": "the case or client has another worker now, who has been told",
}
ACKNOWLEDGED = "ACKNOWLEDGED"  # this recipient's duty is now acknowledged
ALREADY_ACKNOWLEDGED = "ALREADY_ACKNOWLEDGED"  # acknowledged earlier: recorded, nothing changed
ESCALATION_ACKNOWLEDGED = "ESCALATION_ACKNOWLEDGED"  # a duty manager has the escalation: it goes no higher
UNKNOWN_ALERT = "UNKNOWN_ALERT"
NOT_A_RECIPIENT = "NOT_A_RECIPIENT"
NOT_AN_ACK = "NOT_AN_ACK"
NOT_A_DUTY_MANAGER = "NOT_A_DUTY_MANAGER"
REASON_REQUIRED = "REASON_REQUIRED"
UNKNOWN_REASON = "UNKNOWN_REASON"
UNKNOWN_WAY = "UNKNOWN_WAY"
_ACK = re.compile(r"^[^A-Z0-9]*ACK\b[^A-Z0-9]*([A-Z0-9][A-Z0-9 .\-]*?)[^A-Z0-9]*$")
_CODE_LENGTHS = range(4, 17)


@dataclass(frozen=True, slots=True)
class AckOutcome:
    """What an acknowledgement attempt did; `events` are to be published on the delivery topic after commit."""

    status: str
    alert_id: str | None = None
    ack_code: str | None = None
    staff_id: str | None = None
    events: tuple[DeliveryEvent, ...] = field(default=())

    @property
    def accepted(self) -> bool:
        return self.status in (ACKNOWLEDGED, ALREADY_ACKNOWLEDGED, ESCALATION_ACKNOWLEDGED)


def parse_ack_code(body: str) -> str | None:
    """The code in an `ACK <code>` SMS (any case, spaces or punctuation around or inside the code), else None."""
    match = _ACK.match(body.strip().upper())
    if match is None:
        return None
    code = re.sub(r"[^A-Z0-9]", "", match.group(1))
    return code if len(code) in _CODE_LENGTHS else None


def mask_number(number: str) -> str:
    """A phone number reduced to its last three digits, e.g. `***123`, for the audit trail."""
    digits = re.sub(r"\D", "", number or "")
    return "***" + digits[-3:] if digits else "***"


def _normal_number(number: str) -> str:
    return re.sub(r"[^\d+]", "", number or "")


def addressed_to(session: Session, alert_id: str) -> tuple[set[str], set[str]]:
    """(the alert's recipients, everyone else it was sent to: duty managers told by escalation or failover)."""
    recipients = set(session.scalars(sa.select(RecipientAck.staff_id).where(RecipientAck.alert_id == alert_id)))
    others = set(session.scalars(sa.select(Delivery.staff_id).where(Delivery.alert_id == alert_id))) - recipients
    return recipients, others


def _find_alert(session: Session, alert_code_or_id: str) -> LedgerAlert | None:
    return get_alert(session, alert_code_or_id) or alert_by_ack_code(session, alert_code_or_id)


def _event(alert: LedgerAlert, staff_id: str, code: str, channel: Channel | None, now: datetime) -> DeliveryEvent:
    event_id = "ack-" + hashlib.sha256(f"{alert.alert_id}|{staff_id}|{now.isoformat()}".encode()).hexdigest()[:24]
    return DeliveryEvent(delivery_event_id=event_id, alert_id=alert.alert_id, kind=DeliveryKind.ACKNOWLEDGED,
                         staff_id=staff_id, channel=channel, at=now, code=code)


def _channel(via: str) -> Channel | None:
    return Channel.SMS if via == VIA_SMS else Channel.EMAIL if via == VIA_LINK else None


def _refuse(session: Session, status: str, now: datetime, alert: LedgerAlert | None, code: str | None,
            staff_id: str | None, via: str, **detail: str | None) -> AckOutcome:
    audit(session, "ACK_REFUSED", at=now, alert_id=alert.alert_id if alert else None,
          subject_id=alert.subject_id if alert else None, staff_id=staff_id, channel=via[:8],
          detail={"reason": status, "code": code, "via": via, **_present(detail)})
    return AckOutcome(status, alert.alert_id if alert else None, code, staff_id)


def _record(session: Session, alert: LedgerAlert, recipient: str, by: str, via: str, now: datetime,
            reason: str | None = None, through: str | None = None) -> AckOutcome:
    """The recipient's duty acknowledged (by themselves, or by `by` on their behalf), or ALREADY_ACKNOWLEDGED."""
    # A conditional UPDATE, so two simultaneous acks of one duty cannot both be first.
    won = session.execute(
        sa.update(RecipientAck).where(RecipientAck.alert_id == alert.alert_id, RecipientAck.staff_id == recipient,
                                      RecipientAck.acknowledged_at.is_(None))
        .values(acknowledged_at=now, acknowledged_by=by, ack_via=via, ack_reason=reason)
        .execution_options(synchronize_session=False)).rowcount == 1
    duty = recipient_ack(session, alert.alert_id, recipient)
    assert duty is not None
    session.refresh(duty)
    detail = {"code": alert.ack_code, "via": via, "by": by, "through": through, "reason": reason}
    channel = (through or via)[:8]
    if not won:
        audit(session, "ACK_REPEATED", at=now, alert_id=alert.alert_id, subject_id=alert.subject_id,
              staff_id=recipient, channel=channel, detail={**_present(detail), "first_by": duty.acknowledged_by,
                                                           "first_via": duty.ack_via})
        return AckOutcome(ALREADY_ACKNOWLEDGED, alert.alert_id, alert.ack_code, recipient)
    metrics.observe_ack(alert.severity, alert.received_at, now)
    audit(session, "ACKNOWLEDGED", at=now, alert_id=alert.alert_id, subject_id=alert.subject_id, staff_id=recipient,
          channel=channel, detail={**_present(detail), "escalation_level": duty.escalation_level,
                                   "resends": duty.resends})
    return AckOutcome(ACKNOWLEDGED, alert.alert_id, alert.ack_code, recipient,
                      (_event(alert, recipient, via, _channel(through or via), now),))


def _present(detail: dict[str, str | None]) -> dict[str, str]:
    return {k: v for k, v in detail.items() if v is not None}


def _take_escalation(session: Session, alert: LedgerAlert, manager: str, via: str, now: datetime) -> AckOutcome:
    """A duty manager's own ack of what they were told: the escalation of those recipients goes no higher."""
    about = messaged_about(session, alert.alert_id, manager)
    open_duties = sa.and_(RecipientAck.alert_id == alert.alert_id, RecipientAck.acknowledged_at.is_(None),
                          RecipientAck.escalation_acked_at.is_(None))
    if NOBODY not in about:  # a message about the alert as a whole (before per-recipient acks) covers everyone
        open_duties = sa.and_(open_duties, RecipientAck.staff_id.in_(about))
    taken = sorted(session.scalars(sa.select(RecipientAck.staff_id).where(open_duties)))
    session.execute(sa.update(RecipientAck).where(open_duties, RecipientAck.staff_id.in_(taken))
                    .values(escalation_acked_at=now, escalation_acked_by=manager)
                    .execution_options(synchronize_session=False))
    if not taken:
        audit(session, "ACK_REPEATED", at=now, alert_id=alert.alert_id, subject_id=alert.subject_id,
              staff_id=manager, channel=via, detail={"code": alert.ack_code, "via": via, "escalation": True})
        return AckOutcome(ALREADY_ACKNOWLEDGED, alert.alert_id, alert.ack_code, manager)
    audit(session, "ESCALATION_ACKNOWLEDGED", at=now, alert_id=alert.alert_id, subject_id=alert.subject_id,
          staff_id=manager, channel=via, detail={"code": alert.ack_code, "via": via, "regarding": taken})
    return AckOutcome(ESCALATION_ACKNOWLEDGED, alert.alert_id, alert.ack_code, manager,
                      (_event(alert, manager, "ESCALATION", _channel(via), now),))


def acknowledge(session: Session, alert_code_or_id: str, staff_id: str, via: str, now: datetime, *,
                on_behalf_of: str | None = None, reason: str | None = None) -> AckOutcome:
    """The one acknowledgement API: `staff_id` acknowledges an alert (by id or ack code) by `via` (SMS, LINK, WEB).

    A recipient acknowledges their own duty. A duty manager who was told by escalation or failover takes the
    escalation of the recipients it was about (it goes no higher; they stay unacknowledged). With `on_behalf_of`,
    an active duty manager acknowledges that recipient's duty for them, with a reason code of ON_BEHALF_REASONS;
    recorded as ON_BEHALF with both staff ids. Every refusal is audited with its reason.
    """
    alert = _find_alert(session, alert_code_or_id.strip())
    if alert is None:
        return _refuse(session, UNKNOWN_ALERT, now, None, alert_code_or_id[:16], staff_id, via)
    if via not in WAYS:
        return _refuse(session, UNKNOWN_WAY, now, alert, alert.ack_code, staff_id, str(via)[:16])
    recipients, others = addressed_to(session, alert.alert_id)
    if on_behalf_of is not None:
        manager = contact(session, staff_id)
        if manager is None or manager.role != DUTY_MANAGER or not manager.active:
            return _refuse(session, NOT_A_DUTY_MANAGER, now, alert, alert.ack_code, staff_id, via,
                           on_behalf_of=on_behalf_of)
        if not reason:
            return _refuse(session, REASON_REQUIRED, now, alert, alert.ack_code, staff_id, via,
                           on_behalf_of=on_behalf_of)
        if reason not in ON_BEHALF_REASONS:
            return _refuse(session, UNKNOWN_REASON, now, alert, alert.ack_code, staff_id, via,
                           on_behalf_of=on_behalf_of)
        if on_behalf_of not in recipients:
            return _refuse(session, NOT_A_RECIPIENT, now, alert, alert.ack_code, staff_id, via,
                           on_behalf_of=on_behalf_of)
        return _record(session, alert, on_behalf_of, staff_id, ON_BEHALF, now, reason, through=via)
    if staff_id in recipients:
        return _record(session, alert, staff_id, staff_id, via, now)
    if staff_id in others:
        return _take_escalation(session, alert, staff_id, via, now)
    return _refuse(session, NOT_A_RECIPIENT, now, alert, alert.ack_code, staff_id, via)


def acknowledge_sms(session: Session, from_number: str, body: str, now: datetime) -> AckOutcome:
    """An inbound SMS: `ACK <code>` from the registered phone of someone that alert was sent to, else refused."""
    code = parse_ack_code(body or "")
    masked = mask_number(from_number)
    if code is None:
        audit(session, "ACK_REFUSED", at=now, channel=VIA_SMS, detail={"reason": NOT_AN_ACK, "from": masked})
        return AckOutcome(NOT_AN_ACK)
    alert = alert_by_ack_code(session, code)
    if alert is None:  # the word after ACK is no code of ours and may be anything, even a name: not kept
        return _refuse(session, UNKNOWN_ALERT, now, None, None, None, VIA_SMS, **{"from": masked,
                                                                                   "code_length": str(len(code))})
    number = _normal_number(from_number)
    recipients, others = addressed_to(session, alert.alert_id)
    candidates = recipients | others
    staff = session.scalars(sa.select(Staff).where(Staff.staff_id.in_(candidates))).all() if candidates else []
    # A recipient before a duty manager sharing the number; then by staff id, so the choice is stable.
    matching = sorted((s.staff_id not in recipients, s.staff_id) for s in staff
                      if s.phone_e164 and _normal_number(s.phone_e164) == number)
    if not number or not matching:
        return _refuse(session, NOT_A_RECIPIENT, now, alert, code, None, VIA_SMS, **{"from": masked})
    return acknowledge(session, alert.alert_id, matching[0][1], VIA_SMS, now)
