"""Acknowledgements: the first ack of an alert wins and stops its escalation; SMS acks only from a recipient's number."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consumers import metrics
from consumers.ledger.models import (
    LedgerAlert,
    Staff,
    alert_by_ack_code,
    audit,
    deliveries_of,
    get_alert,
    recipients_of,
)
from schemas.enums import Channel, DeliveryKind
from schemas.events import DeliveryEvent

VIA_SMS, VIA_LINK = "SMS", "LINK"
ACKNOWLEDGED = "ACKNOWLEDGED"  # this ack was the first: the alert is now acknowledged
ALREADY_ACKNOWLEDGED = "ALREADY_ACKNOWLEDGED"  # someone acknowledged earlier: recorded, nothing changed
UNKNOWN_ALERT = "UNKNOWN_ALERT"
NOT_A_RECIPIENT = "NOT_A_RECIPIENT"
NOT_AN_ACK = "NOT_AN_ACK"
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
        return self.status in (ACKNOWLEDGED, ALREADY_ACKNOWLEDGED)


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


def recipient_staff_ids(session: Session, alert_id: str) -> set[str]:
    """Everyone the alert was addressed to: its recipients and every delivery (failover and escalation too)."""
    ids = {r.staff_id for r in recipients_of(session, alert_id)}
    return ids | {d.staff_id for d in deliveries_of(session, alert_id)}


def _find_alert(session: Session, alert_code_or_id: str) -> LedgerAlert | None:
    return get_alert(session, alert_code_or_id) or alert_by_ack_code(session, alert_code_or_id)


def _event(alert: LedgerAlert, staff_id: str, via: str, now: datetime) -> DeliveryEvent:
    event_id = "ack-" + hashlib.sha256(f"{alert.alert_id}|{staff_id}|{now.isoformat()}".encode()).hexdigest()[:24]
    channel = Channel.SMS if via == VIA_SMS else Channel.EMAIL
    return DeliveryEvent(delivery_event_id=event_id, alert_id=alert.alert_id, kind=DeliveryKind.ACKNOWLEDGED,
                         staff_id=staff_id, channel=channel, at=now, code=via)


def _refuse(session: Session, status: str, now: datetime, alert: LedgerAlert | None, code: str | None,
            staff_id: str | None, via: str, **detail: str) -> AckOutcome:
    audit(session, "ACK_REFUSED", at=now, alert_id=alert.alert_id if alert else None,
          subject_id=alert.subject_id if alert else None, staff_id=staff_id, channel=via,
          detail={"reason": status, "code": code, "via": via, **detail})
    return AckOutcome(status, alert.alert_id if alert else None, code, staff_id)


def acknowledge(session: Session, alert_code_or_id: str, staff_id: str, via: str, now: datetime) -> AckOutcome:
    """Record staff_id's ack of an alert (by id or ack code): first ack wins; later ones are audited only."""
    alert = _find_alert(session, alert_code_or_id.strip())
    if alert is None:
        return _refuse(session, UNKNOWN_ALERT, now, None, alert_code_or_id[:16], staff_id, via)
    if staff_id not in recipient_staff_ids(session, alert.alert_id):
        return _refuse(session, NOT_A_RECIPIENT, now, alert, alert.ack_code, staff_id, via)
    # A conditional UPDATE, so two simultaneous acks cannot both be first.
    won = session.execute(
        sa.update(LedgerAlert).where(LedgerAlert.alert_id == alert.alert_id, LedgerAlert.acknowledged_at.is_(None))
        .values(acknowledged_at=now, acknowledged_by=staff_id, ack_via=via)
        .execution_options(synchronize_session=False)).rowcount == 1
    session.refresh(alert)
    if not won:
        audit(session, "ACK_REPEATED", at=now, alert_id=alert.alert_id, subject_id=alert.subject_id,
              staff_id=staff_id, channel=via,
              detail={"code": alert.ack_code, "via": via, "first_by": alert.acknowledged_by})
        return AckOutcome(ALREADY_ACKNOWLEDGED, alert.alert_id, alert.ack_code, staff_id)
    metrics.observe_ack(alert.severity, alert.received_at, now)
    audit(session, "ACKNOWLEDGED", at=now, alert_id=alert.alert_id, subject_id=alert.subject_id,
          staff_id=staff_id, channel=via,
          detail={"code": alert.ack_code, "via": via, "escalation_level": alert.escalation_level})
    return AckOutcome(ACKNOWLEDGED, alert.alert_id, alert.ack_code, staff_id, (_event(alert, staff_id, via, now),))


def acknowledge_sms(session: Session, from_number: str, body: str, now: datetime) -> AckOutcome:
    """An inbound SMS: `ACK <code>` from the registered phone of one of that alert's recipients, else refused."""
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
    candidates = recipient_staff_ids(session, alert.alert_id)
    staff = session.scalars(sa.select(Staff).where(Staff.staff_id.in_(candidates))).all() if candidates else []
    matching = sorted(s.staff_id for s in staff if s.phone_e164 and _normal_number(s.phone_e164) == number)
    if not number or not matching:
        return _refuse(session, NOT_A_RECIPIENT, now, alert, code, None, VIA_SMS, **{"from": masked})
    return acknowledge(session, alert.alert_id, matching[0], VIA_SMS, now)

