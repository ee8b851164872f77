"""A review-grade chronology from the ledger: each alert's path from the agency's record to each acknowledgement."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consumers.chronology.gaps import Flag, bail_periods, silences, unalerted_releases
from consumers.chronology.times import both
from consumers.ledger.acks import how_acknowledged, recipient_acks_of, role_words
from consumers.ledger.models import FAILED, NOBODY, AuditEntry, ChronologyEvent, Delivery, LedgerAlert, RecipientAck
from runtime.db import as_utc

TOLD = "TOLD"


@dataclass(frozen=True, slots=True)
class Step:
    """One moment of an alert's path: what happened, to or by whom, how; `since` the step before it."""

    at: datetime
    kind: str  # RECORDED, TAKEN_IN, RAISED, LEDGER, TOLD, RESENT, ESCALATED, FAILED, ACKNOWLEDGED, TAKEN
    what: str
    since: timedelta | None = None


@dataclass(frozen=True, slots=True)
class Recipient:
    """One recipient's duty: when first told (and how), whether and when acknowledged, how far it escalated."""

    staff_id: str
    role: str
    told_at: datetime | None
    told_by: str  # the channels of the first message, e.g. "SMS, EMAIL"
    acknowledged_at: datetime | None
    acknowledged: str  # "via SMS", "for them by staff-dm-01 (SPOKE_TO_RECIPIENT)", "not acknowledged"
    to_tell: timedelta | None  # raised -> first told
    to_acknowledge: timedelta | None  # first told -> acknowledged
    escalation_level: int
    resends: int
    escalated_at: datetime | None = None  # when it last escalated about this recipient


@dataclass
class AlertPath:
    """One alert and everything that followed it, in time order."""

    alert: LedgerAlert
    triggers: list[ChronologyEvent]
    steps: list[Step]
    recipients: list[Recipient]
    flags: list[Flag] = field(default_factory=list)


@dataclass
class Review:
    """A subject's chronology for review: alert paths, agency records that raised no alert, gaps, the period."""

    subject_id: str
    generated_at: datetime
    start: datetime
    end: datetime
    paths: list[AlertPath]
    events: list[ChronologyEvent]
    unalerted: list[ChronologyEvent]
    bail: list[tuple[datetime, datetime]]
    flags: list[Flag]

    @property
    def unacknowledged(self) -> int:
        """How many recipients' duties are still unacknowledged."""
        return sum(1 for p in self.paths for r in p.recipients if r.acknowledged_at is None)


def _with_since(steps: list[Step]) -> list[Step]:
    ordered = sorted(steps, key=lambda s: as_utc(s.at))
    return [Step(s.at, s.kind, s.what, None if i == 0 else as_utc(s.at) - as_utc(ordered[i - 1].at))
            for i, s in enumerate(ordered)]


def _trigger_steps(triggers: list[ChronologyEvent]) -> list[Step]:
    steps = []
    for e in triggers:
        steps.append(Step(e.recorded_at, "RECORDED", f"{e.agency} recorded {e.event_type}, which happened "
                                                     f"{both(e.occurred_at)}"))
        if e.received_at is not None:
            steps.append(Step(e.received_at, "TAKEN_IN", f"drive-alerts took in {e.event_type} from {e.agency}"))
    return steps


def _channels(rows: list[Delivery]) -> str:
    """`SMS delivered 22/11/2026 09:41 GMT (09:41:07 UTC), EMAIL`: each channel of one message, in the order sent."""
    return ", ".join(d.channel + (f" delivered {both(d.delivered_at)}" if d.delivered_at else "") for d in rows)


def _message_step(rows: list[Delivery]) -> Step:
    """One message on all its channels: to a recipient, a re-send, a failover, or one escalation level's message
    to the duty managers about one recipient."""
    first, staff = rows[0], ", ".join(dict.fromkeys(d.staff_id for d in rows))
    at = min(as_utc(d.sent_at) for d in rows)
    about = f" about {first.regarding}" if first.regarding != NOBODY else ""
    if first.purpose == "ESCALATION":
        return Step(at, "ESCALATED", f"duty manager(s) {staff} told (level {first.level}){about}: {_channels(rows)}")
    if first.purpose == "RESEND":
        return Step(at, "RESENT", f"re-sent ({first.resend}) to {staff}: {_channels(rows)}")
    if first.purpose == "FAILOVER":
        return Step(at, TOLD, f"{staff} told (failover{about}): {_channels(rows)}")
    return Step(at, TOLD, f"{staff} told: {_channels(rows)}")


def _delivery_steps(deliveries: list[Delivery]) -> list[Step]:
    """A step per message sent (its channels together) and one per failed delivery."""
    messages: dict[tuple[object, ...], list[Delivery]] = {}
    steps = []
    for d in deliveries:
        if d.state == FAILED:
            about = f" about {d.regarding}" if d.regarding != NOBODY else ""
            steps.append(Step(d.failed_at or d.updated_at, "FAILED",
                              f"{d.channel} to {d.staff_id}{about} failed ({d.last_error or 'no reason'})"))
        elif d.sent_at is not None:
            whom = "" if d.purpose == "ESCALATION" else d.staff_id
            messages.setdefault((d.purpose, d.level, d.resend, d.regarding, whom), []).append(d)
    return steps + [_message_step(rows) for rows in messages.values()]


def _recipient(alert: LedgerAlert, duty: RecipientAck, mine: list[Delivery]) -> Recipient:
    first = [d for d in mine if d.purpose == "ALERT" and d.sent_at is not None]
    told_at = min((as_utc(d.sent_at) for d in first), default=None)
    channels = ", ".join(sorted({d.channel for d in first}))
    acked = as_utc(duty.acknowledged_at)
    to_tell = told_at - as_utc(alert.raised_at) if told_at else None
    return Recipient(duty.staff_id, role_words(duty.role), told_at, channels or "-", acked,
                     how_acknowledged(duty) or "not acknowledged", to_tell,
                     acked - told_at if acked and told_at else None, duty.escalation_level or 0, duty.resends or 0,
                     as_utc(duty.last_escalated_at) if duty.last_escalated_at else None)


def _ack_steps(duty: RecipientAck) -> list[Step]:
    steps = []
    if duty.acknowledged_at is not None:
        steps.append(Step(duty.acknowledged_at, "ACKNOWLEDGED",
                          f"{duty.staff_id} ({role_words(duty.role)}) acknowledged {how_acknowledged(duty)}"))
    if duty.escalation_acked_at is not None:
        steps.append(Step(duty.escalation_acked_at, "TAKEN", f"duty manager {duty.escalation_acked_by} took the "
                                                             f"escalation about {duty.staff_id}"))
    return steps


def _flags(path: AlertPath, deliveries: list[Delivery]) -> list[Flag]:
    alert, flags = path.alert, []
    if not any(r.told_at for r in path.recipients):
        flags.append(Flag("NOBODY_TOLD", alert.raised_at, f"{alert.ack_code}: no recipient was told"))
    for r in path.recipients:
        if r.acknowledged_at is None:
            flags.append(Flag("NOT_ACKNOWLEDGED", alert.raised_at,
                              f"{alert.ack_code}: {r.staff_id} ({r.role}) has not acknowledged"))
        if r.escalation_level:
            flags.append(Flag("ESCALATED", r.escalated_at or alert.raised_at, f"{alert.ack_code}: escalated to level "
                                                            f"{r.escalation_level} about {r.staff_id}"))
    for d in deliveries:
        if d.state == FAILED:
            flags.append(Flag("DELIVERY_FAILED", d.failed_at or d.updated_at,
                              f"{alert.ack_code}: {d.channel} to {d.staff_id} failed ({d.last_error or 'no reason'})"))
    return flags


def _path(alert: LedgerAlert, events: dict[str, ChronologyEvent], duties: list[RecipientAck],
          deliveries: list[Delivery]) -> AlertPath:
    triggers = [events[i] for i in json.loads(alert.trigger_event_ids or "[]") if i in events]
    steps = _trigger_steps(triggers) + [
        Step(alert.raised_at, "RAISED", f"{alert.severity} alert {alert.ack_code} raised ({alert.rule})"),
        Step(alert.received_at, "LEDGER", "recorded for delivery")]
    steps += _delivery_steps(deliveries)
    for duty in duties:
        steps += _ack_steps(duty)
    recipients = [_recipient(alert, duty, [d for d in deliveries if d.staff_id == duty.staff_id]) for duty in duties]
    path = AlertPath(alert, triggers, _with_since(steps), recipients)
    path.flags = _flags(path, deliveries)
    return path


def _refusals(session: Session, subject_id: str) -> list[Flag]:
    """Acknowledgements refused for this subject's alerts (e.g. a reply from a number not registered)."""
    rows = session.scalars(sa.select(AuditEntry).where(AuditEntry.subject_id == subject_id,
                                                       AuditEntry.action == "ACK_REFUSED"))
    return [Flag("ACK_REFUSED", e.at, f"an acknowledgement was refused ({json.loads(e.detail).get('reason')})")
            for e in rows]


def review(session: Session, subject_id: str, silence_h: float = 24.0, generated_at: datetime | None = None) -> Review:
    """The subject's review chronology as the ledger stands now."""
    now = generated_at or datetime.now(UTC)
    events = list(session.scalars(sa.select(ChronologyEvent).where(ChronologyEvent.subject_id == subject_id)
                                  .order_by(ChronologyEvent.occurred_at, ChronologyEvent.event_id)))
    alerts = list(session.scalars(sa.select(LedgerAlert).where(LedgerAlert.subject_id == subject_id)
                                  .order_by(LedgerAlert.raised_at, LedgerAlert.alert_id)))
    ids = [a.alert_id for a in alerts]
    duties: dict[str, list[RecipientAck]] = {}
    for duty in recipient_acks_of(session, ids):
        duties.setdefault(duty.alert_id, []).append(duty)
    deliveries: dict[str, list[Delivery]] = {}
    rows = session.scalars(sa.select(Delivery).where(Delivery.alert_id.in_(ids)).order_by(Delivery.id)) if ids else ()
    for d in rows:
        deliveries.setdefault(d.alert_id, []).append(d)
    by_id = {e.event_id: e for e in events}
    paths = [_path(a, by_id, duties.get(a.alert_id, []), deliveries.get(a.alert_id, [])) for a in alerts]
    triggered = {e.event_id for p in paths for e in p.triggers}
    moments = [as_utc(e.occurred_at) for e in events] + [as_utc(s.at) for p in paths for s in p.steps]
    start = min(moments, default=now)
    end = max([*moments, now])
    bail = bail_periods(events, end)
    flags = unalerted_releases(events, triggered) + silences(events, bail, timedelta(hours=silence_h), now)
    flags += [f for p in paths for f in p.flags] + _refusals(session, subject_id)
    return Review(subject_id, now, start, end, paths, events, [e for e in events if e.event_id not in triggered],
                  bail, sorted(flags, key=lambda f: as_utc(f.at)))
