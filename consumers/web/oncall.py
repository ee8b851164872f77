"""The on-call and escalation-policy page's facts: who is on call (staff ids only), the rota, the policy in words."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consumers.delivery.dispatch import channels_for, parse_channel_plan
from consumers.escalation.policy import EscalationPolicy, ResendPolicy
from consumers.ledger.directory import DUTY_MANAGER
from consumers.ledger.models import RecipientAck, Staff
from runtime.settings import Settings
from schemas.enums import Severity

ROTA_DAYS = 7
SEVERITIES = tuple(s.value for s in Severity if s is not Severity.UNKNOWN)  # most severe first


@dataclass(frozen=True, slots=True)
class OnCall:
    """A duty manager on call now, and until when."""

    staff_id: str
    until: datetime


@dataclass(frozen=True, slots=True)
class RotaLine:
    """An active duty manager and their shifts from now to ROTA_DAYS ahead."""

    staff_id: str
    shifts: list[tuple[datetime, datetime]]


@dataclass(frozen=True, slots=True)
class PolicyLine:
    """What happens to an unacknowledged alert of one severity, in words."""

    severity: str
    text: str


def _shifts(row: Staff) -> list[tuple[datetime, datetime]]:
    return [(datetime.fromisoformat(s), datetime.fromisoformat(e)) for s, e in json.loads(row.on_call or "[]")]


def duty_rota(db: Session, now: datetime) -> tuple[list[OnCall], list[RotaLine]]:
    """(on call now, every active duty manager's shifts over the coming days)."""
    rows = db.scalars(sa.select(Staff).where(Staff.role == DUTY_MANAGER, Staff.active.is_(True))
                      .order_by(Staff.staff_id))
    on_call, rota = [], []
    horizon = now + timedelta(days=ROTA_DAYS)
    for row in rows:
        shifts = _shifts(row)
        on_call += [OnCall(row.staff_id, end) for start, end in shifts if start <= now < end]
        rota.append(RotaLine(row.staff_id, sorted((s, e) for s, e in shifts if e > now and s < horizon)))
    return on_call, rota


def _minutes(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h" if minutes % 60 == 0 and minutes >= 60 else f"{minutes} min"


def policy_lines(settings: Settings) -> list[PolicyLine]:
    """Per severity: the channels, the re-sends, and the escalation levels with their waits."""
    plan = parse_channel_plan(settings.channels_by_severity)
    escalation, again = EscalationPolicy.from_settings(settings), ResendPolicy.from_settings(settings)
    lines = []
    for severity in SEVERITIES:
        parts = [f"sent by {' and '.join(channels_for(plan, severity)) or 'no channel'}"]
        count, every = again.count(severity), again.every.get(severity)
        if count and every:
            parts.append(f"re-sent every {_minutes(every)} (at most {count} times) to each recipient who has not "
                         "acknowledged")
        wait = escalation.wait.get(severity)
        if wait and escalation.levels:
            parts.append(f"after {_minutes(wait)} unacknowledged: the duty managers on call (level 1)")
            if escalation.levels > 1:
                parts.append(f"then every {_minutes(wait)}: every active duty manager (levels 2 to "
                             f"{escalation.levels})")
        else:
            parts.append("never escalated")
        lines.append(PolicyLine(severity, "; ".join(parts) + "."))
    return lines


def open_escalations(db: Session) -> int:
    """Recipients' duties escalated, still unacknowledged, and taken by no duty manager."""
    return int(db.scalar(sa.select(sa.func.count()).select_from(RecipientAck).where(
        RecipientAck.escalation_level > 0, RecipientAck.acknowledged_at.is_(None),
        RecipientAck.escalation_acked_at.is_(None))) or 0)
