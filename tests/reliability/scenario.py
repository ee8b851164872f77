"""The chaos run's seeded scenario: a registry, court events over many subjects, noise, malformed and repeated records.

The oracle is the pure engine (entrypoints.replay.model.EngineReplay) run over exactly the records sent, in the
order sent: it validates like the intake, dedupes by event_id and runs the same rules, with no broker.
The scenario only uses court events whose rules need no timers (hearing listed, warrant issued, outcome),
so the wall clock of the workers and the simulated clock of the oracle raise the same alerts.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from kafka.partitioner.default import murmur2

CASEMGMT = {"agency": "drive.casemgmt", "system": "case-management"}
COURT = {"agency": "court.demo", "system": "common-platform"}
COURT_TYPES = ("HEARING_LISTED", "WARRANT_ISSUED", "COURT_OUTCOME")


@dataclass(frozen=True)
class Staff:
    """One member of staff: where the fake providers see them."""

    staff_id: str
    role: str
    phone: str
    email: str


@dataclass
class Sent:
    """One record to submit: topic, the value (dict, or anything for malformed), and what it is."""

    topic: str
    value: Any
    kind: str  # registry | subject | noise | malformed | repeat | probe


@dataclass
class Scenario:
    """The registry, the subjects and the seeded traffic."""

    staff: dict[str, Staff]
    registry: list[Sent]
    subjects: list[str]
    traffic: list[Sent]
    rng: random.Random
    base: datetime
    counter: int = 0
    defendants: dict[str, str] = field(default_factory=dict)

    def court_event(self, subject: str | None, event_type: str | None = None) -> dict[str, Any]:
        """A fresh court event about a subject (or about nobody Drive knows when subject is None)."""
        self.counter += 1
        n = self.counter
        defendant = self.defendants[subject] if subject else f"CP-NOISE-{self.rng.randrange(10**6):06d}"
        event_type = event_type or self.rng.choice(COURT_TYPES)
        details: dict[str, Any] = {"court_case_ref": f"CP-CHAOS-{n:06d}", "court_code": "B2161"}
        if event_type == "HEARING_LISTED":
            details.update(hearing_at=_iso(self.base + timedelta(days=10)), hearing_type="FIRST_APPEARANCE")
        elif event_type == "WARRANT_ISSUED":
            details["reason"] = "FAILED_TO_APPEAR"
        else:
            details["outcome"] = "ADJOURNED"
        at = _iso(self.base + timedelta(seconds=n))
        return {"event_id": f"chaos-court-{n:06d}", "event_type": event_type, "source": COURT,
                "person_ids": [{"scheme": "COURT_DEFENDANT", "value": defendant}], "occurred_at": at,
                "recorded_at": at, "schema_version": 1, "details": details}

    def probe(self, subject: str) -> Sent:
        """An alerting event for a probe subject (HEARING_LISTED: e-mail only, cheap to deliver)."""
        return Sent("court", self.court_event(subject, "HEARING_LISTED"), "probe")


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def partition_of(subject: str, partitions: int) -> int:
    """The subject-events partition of a subject (murmur2, as kafka-python and aiokafka agree)."""
    return (murmur2(subject.encode()) & 0x7FFFFFFF) % partitions


def _staff_event(staff: Staff, at: str) -> Sent:
    details = {"staff_id": staff.staff_id, "role": staff.role, "phone_e164": staff.phone, "email": staff.email,
               "active": True, "on_call": []}
    return Sent("case", {"event_id": f"chaos-staff-{staff.staff_id}", "event_type": "STAFF_UPDATED",
                         "source": CASEMGMT, "person_ids": [], "occurred_at": at, "recorded_at": at,
                         "schema_version": 1, "details": details}, "registry")


def _case_event(subject: str, defendant: str, cm: Staff, idvas: list[Staff], at: str) -> Sent:
    victims = [{"victim_ref": f"VIC-{subject[4:]}-{i}", "idva_id": idva.staff_id, "protected_person_refs": [],
                "protected_locations": []} for i, idva in enumerate(idvas, 1)]
    details = {"subject_id": subject, "status": "OPEN", "home_force_area": "E23000014", "case_manager_id": cm.staff_id,
               "identifiers": [{"scheme": "COURT_DEFENDANT", "value": defendant},
                               {"scheme": "DRIVE_SUBJECT", "value": subject}],
               "victims": victims, "opened_at": at}
    return Sent("case", {"event_id": f"chaos-case-{subject}", "event_type": "VICTIM_LINKED", "source": CASEMGMT,
                         "person_ids": [{"scheme": "DRIVE_SUBJECT", "value": subject}], "occurred_at": at,
                         "recorded_at": at, "schema_version": 1, "details": details}, "registry")


MALFORMATIONS = ("bad_time", "missing_details", "unknown_field", "bad_type", "not_object", "bad_enum")


def malformed(good: dict[str, Any], how: str) -> Any:
    """A record the contract refuses, made from a good one; each kind of fault an agency really makes."""
    bad = {k: (dict(v) if isinstance(v, dict) else v) for k, v in good.items()}
    bad["event_id"] = good["event_id"] + "-bad"
    if how == "bad_time":
        bad["occurred_at"] = "yesterday afternoon"
    elif how == "missing_details":
        del bad["details"]
    elif how == "unknown_field":
        bad["narrative"] = "free text is not allowed"
    elif how == "bad_type":
        bad["schema_version"] = "one"
    elif how == "not_object":
        return [bad]
    else:
        bad["event_type"] = "NO_SUCH_EVENT"
    return bad


def build(seed: int, events: int, subjects: int, alerting_share: float = 0.12) -> Scenario:
    """A seeded scenario of about `events` traffic records: 5% malformed, 10% repeats, the rest court events."""
    rng = random.Random(seed)
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    at = _iso(base - timedelta(hours=1))
    n_cm, n_idva = max(2, subjects // 10), max(3, subjects // 4)
    staff = {s.staff_id: s for s in (
        *(Staff(f"chaos-cm-{i:02d}", "CASE_MANAGER", f"+447700900{i:03d}", f"cm{i}@drive.example.org")
          for i in range(n_cm)),
        *(Staff(f"chaos-idva-{i:02d}", "IDVA", f"+447700900{500 + i:03d}", f"idva{i}@drive.example.org")
          for i in range(n_idva)))}
    cms = [s for s in staff.values() if s.role == "CASE_MANAGER"]
    idvas = [s for s in staff.values() if s.role == "IDVA"]
    names = [f"DRV-{9000 + i:04d}" for i in range(subjects)]
    scenario = Scenario(staff, [_staff_event(s, at) for s in staff.values()], names, [], rng, base)
    for subject in names:
        scenario.defendants[subject] = f"CP-DEF-{subject[4:]}"
        chosen = rng.sample(idvas, rng.choice((1, 1, 2)))
        scenario.registry.append(_case_event(subject, scenario.defendants[subject], rng.choice(cms), chosen, at))
    good: list[Sent] = []
    while len(scenario.traffic) < events:
        roll = rng.random()
        if roll < 0.05 and good:
            scenario.traffic.append(Sent("court", malformed(rng.choice(good).value, rng.choice(MALFORMATIONS)),
                                         "malformed"))
        elif roll < 0.15 and good:
            scenario.traffic.append(Sent("court", rng.choice(good).value, "repeat"))
        else:
            subject = rng.choice(names) if rng.random() < alerting_share else None
            sent = Sent("court", scenario.court_event(subject), "subject" if subject else "noise")
            good.append(sent)
            scenario.traffic.append(sent)
    return scenario


def oracle(sent: list[Sent], settings: Any) -> dict[str, dict[str, Any]]:
    """alert_id -> alert datum the pure engine raises for exactly these records in this order."""
    from entrypoints.replay.model import EngineReplay
    from entrypoints.replay.scenario import Publish

    model = EngineReplay.for_settings(settings)
    alerts: dict[str, dict[str, Any]] = {}
    for line, record in enumerate(sent, 1):
        for alert in model.run(Publish(line, record.topic, record.value)).alerts:
            alerts[alert.alert_id] = alert.to_datum()
    return alerts
