"""A ledger filled through the real code paths for the web app's tests: the registry (staff and cases), agency
records ingested into the chronology, alerts dispatched and sent to the outbox by the real sender."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from consumers.acks.acknowledge import VIA_SMS, acknowledge
from consumers.chronology.feed import ingest_record
from consumers.delivery.channels.build import build_channels
from consumers.delivery.dispatch import dispatch_alert, parse_channel_plan
from consumers.delivery.sender import Sender
from consumers.escalation.runner import run_escalations
from consumers.ledger.directory import apply_case_event
from consumers.ledger.models import LedgerAlert, RecipientAck
from migrations import upgrade
from runtime.codec import codec_for
from runtime.db import make_engine
from runtime.settings import Settings
from schemas.enums import StaffRole
from schemas.events import Alert, event_from_datum
from schemas.jsonform import from_json
from streams.rules.catalogue import RULES
from streams.rules.routing import Target
from streams.rules.text import render
from streams.rules.triggers import collect
from tests.fakes.delivery_harness import SimClock
from tests.samples.events import sample

CM1, CM2, LEAD = "staff-cm-01", "staff-cm-02", "staff-lead-01"
IDVA7, IDVA9, IDVA11 = "staff-idva-07", "staff-idva-09", "staff-idva-11"
DM = "staff-duty-01"
S1, S2 = "DRV-0101", "DRV-0102"
STAFF = {CM1: ("CASE_MANAGER", "+447700900001"), CM2: ("CASE_MANAGER", "+447700900002"),
         LEAD: ("CASE_MANAGER", "+447700900200"), IDVA7: ("IDVA", "+447700900007"),
         IDVA9: ("IDVA", "+447700900009"), IDVA11: ("IDVA", "+447700900011"), DM: ("DUTY_MANAGER", "+447700900100")}
VICTIMS = {S1: [("VIC-0101", IDVA7), ("VIC-0102", IDVA9)], S2: [("VIC-0201", IDVA11)]}
MANAGERS = {S1: CM1, S2: CM2}


def iso(at: datetime) -> str:
    return at.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class World:
    """The filled ledger: its settings, sessions, the sender (outbox), and the alerts by name."""

    settings: Settings
    sessions: sessionmaker[Session]
    sender: Sender
    now: datetime
    alerts: dict[str, LedgerAlert] = field(default_factory=dict)
    events: dict[str, str] = field(default_factory=dict)  # name -> event_id

    @property
    def outbox(self) -> Path:
        return self.settings.data_dir / "outbox.jsonl"

    def code(self, name: str) -> str:
        return self.alerts[name].ack_code

    def duty(self, name: str, staff_id: str) -> RecipientAck:
        with self.sessions() as db:
            row = db.get(RecipientAck, (self.alerts[name].alert_id, staff_id))
            assert row is not None
            db.expunge(row)
            return row


def _case_record(topic: str, event_type: str, details: dict[str, Any], at: datetime, **extra: Any) -> dict[str, Any]:
    record = sample(topic, event_type)
    record.update(occurred_at=iso(at), recorded_at=iso(at + timedelta(minutes=2)), **extra)
    record["details"] = details
    return record


def _registry(db: Session, now: datetime) -> None:
    shift = [{"starts_at": iso(now - timedelta(days=5)), "ends_at": iso(now + timedelta(days=2))}]
    for staff_id, (role, phone) in STAFF.items():
        details = {"staff_id": staff_id, "role": role, "phone_e164": phone, "email": f"{staff_id}@drive.example.org",
                   "active": True, "on_call": shift if role == "DUTY_MANAGER" else []}
        record = _case_record("case", "STAFF_UPDATED", details, now - timedelta(days=30), person_ids=[])
        apply_case_event(db, event_from_datum("case", from_json("case", record)), now)
    for subject, victims in VICTIMS.items():
        details = {"subject_id": subject, "status": "OPEN", "identifiers": [{"scheme": "DRIVE_SUBJECT",
                                                                             "value": subject}],
                   "home_force_area": "E23000014", "case_manager_id": MANAGERS[subject],
                   "victims": [{"victim_ref": v, "idva_id": i} for v, i in victims],
                   "opened_at": iso(now - timedelta(days=60))}
        record = _case_record("case", "VICTIM_LINKED", details, now - timedelta(days=29),
                              person_ids=[{"scheme": "DRIVE_SUBJECT", "value": subject}])
        apply_case_event(db, event_from_datum("case", from_json("case", record)), now)


def _ingest(db: Session, settings: Settings, subject: str, record: dict[str, Any], topic: str,
            taken_in: datetime) -> str:
    codec = codec_for(settings)
    value = codec.encode(topic, from_json(topic, record))
    assert ingest_record(db, codec, subject.encode(), value, [("kind", b"event"), ("topic", topic.encode())],
                         int(taken_in.timestamp() * 1000))
    return str(record["event_id"])


def _alert(rule_id: str, subject: str, trigger: str, raised: datetime, victims: list[tuple[str, str]]) -> Alert:
    collect()
    rule = RULES[rule_id]
    alert_id = f"alt-{rule_id}-{subject}-{trigger}"[:60]
    targets = [Target(MANAGERS[subject], StaffRole.CASE_MANAGER)] + [Target(i, StaffRole.IDVA, v) for v, i in victims]
    recipients = [{"staff_id": t.staff_id, "role": t.role.value, "victim_ref": t.victim_ref,
                   "text": render(rule, t, alert_id=alert_id, subject_id=subject, at=raised,
                                  victim_refs=tuple(v for v, _ in victims))} for t in targets]
    record = {"alert_id": alert_id, "rule": rule_id, "severity": rule.severity.value, "subject_id": subject,
              "trigger_event_ids": [trigger], "raised_at": iso(raised),
              "recipients": [{k: v for k, v in r.items() if v is not None} for r in recipients]}
    return Alert.from_datum(from_json("alert", record))


def build_world(data_dir: Path, database_url: str | None = None, now: datetime | None = None,
                **overrides: Any) -> World:
    """Two cases (three IDVAs), a bail period with a silence, a release that raised no alert, three alerts sent."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    settings = Settings(data_dir=data_dir, database_url=database_url or f"sqlite:///{data_dir / 'web.db'}",
                        web_programme_leads=LEAD, **overrides)
    upgrade(settings.resolved_database_url)
    sessions = sessionmaker(make_engine(settings.resolved_database_url))
    clock = SimClock(now)
    sender = Sender(sessions, build_channels(settings), settings, now=clock)
    world = World(settings, sessions, sender, now)
    plan = parse_channel_plan(settings.channels_by_severity)
    bail_at, breach_at = now - timedelta(days=3), now - timedelta(hours=2)
    with sessions.begin() as db:
        _registry(db, now)
        world.events["bail"] = _ingest(db, settings, S1, sample(
            "bail", "BAIL_GRANTED", occurred_at=iso(bail_at), recorded_at=iso(bail_at + timedelta(minutes=7)),
            details__expires_at=iso(now + timedelta(days=25))), "bail", bail_at + timedelta(minutes=8))
        world.events["release"] = _ingest(db, settings, S1, sample(
            "incident", "CUSTODY_RELEASE", occurred_at=iso(bail_at + timedelta(minutes=30)),
            recorded_at=iso(bail_at + timedelta(minutes=40))), "incident", bail_at + timedelta(minutes=41))
        world.events["breach"] = _ingest(db, settings, S1, sample(
            "breach", "BREACH_REPORTED", occurred_at=iso(breach_at), recorded_at=iso(breach_at + timedelta(minutes=3))),
            "breach", breach_at + timedelta(minutes=3, seconds=2))
        world.events["breach2"] = _ingest(db, settings, S2, sample(
            "breach", "BREACH_REPORTED", occurred_at=iso(breach_at), recorded_at=iso(breach_at + timedelta(minutes=4))),
            "breach", breach_at + timedelta(minutes=4, seconds=1))
    story = {"bail": _alert("release.bail", S1, world.events["bail"], bail_at + timedelta(minutes=8, seconds=1),
                            VICTIMS[S1]),
             "breach": _alert("breach.no_contact", S1, world.events["breach"], now - timedelta(minutes=1),
                              VICTIMS[S1][:1]),
             "other": _alert("breach.no_contact", S2, world.events["breach2"], now - timedelta(minutes=2),
                             VICTIMS[S2])}
    def dispatch(name: str, at: datetime) -> None:
        clock.at = at
        with sessions.begin() as db:
            assert dispatch_alert(db, story[name], plan, at)
        while sender.send_due():
            pass

    dispatch("bail", story["bail"].raised_at + timedelta(seconds=1))
    clock.at = bail_at + timedelta(minutes=20)
    with sessions.begin() as db:  # the case manager and IDVA 07 acknowledged the bail alert by SMS; IDVA 09 never did
        for staff_id in (CM1, IDVA7):
            assert acknowledge(db, story["bail"].alert_id, staff_id, VIA_SMS, clock.at).accepted
    with sessions.begin() as db:  # an hour later IDVA 09's duty escalated to the duty manager on call
        assert run_escalations(db, bail_at + timedelta(minutes=70), settings).escalated
    clock.at = bail_at + timedelta(minutes=70)
    while sender.send_due():
        pass
    dispatch("other", story["other"].raised_at + timedelta(seconds=1))
    dispatch("breach", story["breach"].raised_at + timedelta(seconds=1))
    with sessions() as db:
        for name, typed in story.items():
            row = db.get(LedgerAlert, typed.alert_id)
            assert row is not None
            db.expunge(row)
            world.alerts[name] = row
    return world
