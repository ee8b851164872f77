"""Synthetic but realistic agency data: subjects with cases, victims, IDVAs and conditions; a mix of agency events."""
from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.intake.submit import record_key
from schemas.codec import AvroCodec
from schemas.jsonform import from_json

SUBJECTS_PER_CASE_MANAGER = 20
VICTIMS_PER_IDVA = 10
# (topic, event type, weight): incident and court traffic dominates; breaches and bail are rarer but urgent.
EVENT_MIX: tuple[tuple[str, str, int], ...] = (
    ("incident", "DOMESTIC_INCIDENT", 20), ("incident", "ARREST", 8), ("incident", "CUSTODY_RELEASE", 7),
    ("bail", "BAIL_GRANTED", 15), ("bail", "BAIL_VARIED", 5),
    ("court", "HEARING_LISTED", 12), ("court", "COURT_OUTCOME", 8), ("court", "ORDER_ISSUED", 5),
    ("breach", "BREACH_REPORTED", 12), ("breach", "EM_ZONE_ENTRY", 8),
)
_POLICE = {"agency": "police-wm", "system": "niche-rms"}
_COURT = {"agency": "hmcts", "system": "common-platform"}
_EM = {"agency": "em-provider", "system": "em-hub"}
_DRIVE = {"agency": "drive", "system": "case-management"}


@dataclass(frozen=True)
class Encoded:
    """One record ready for Kafka: topic short name, key, Avro value, event id."""

    topic: str
    key: bytes
    value: bytes
    event_id: str


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def subject_id(i: int) -> str:
    """The Drive subject id of synthetic subject i."""
    return f"DRV-B{i:07d}"


def _ids(i: int) -> dict[str, dict[str, str]]:
    return {"PNC": {"scheme": "PNC", "value": f"20/{i:07d}B"},
            "COURT_DEFENDANT": {"scheme": "COURT_DEFENDANT", "value": f"DEF-B{i:07d}"},
            "EM_SUBJECT": {"scheme": "EM_SUBJECT", "value": f"EMS-B{i:07d}"},
            "DRIVE_SUBJECT": {"scheme": "DRIVE_SUBJECT", "value": subject_id(i)}}


def _victim(i: int) -> str:
    return f"VIC-B{i:07d}"


def _envelope(event_type: str, source: dict, person_ids: list[dict], details: dict, at: datetime) -> dict[str, Any]:
    record = {"event_id": f"bench-{uuid.uuid4().hex}", "event_type": event_type, "source": source,
              "person_ids": person_ids, "occurred_at": _iso(at - timedelta(minutes=5)), "recorded_at": _iso(at),
              "schema_version": 1, "details": details}
    if person_ids:
        record["date_of_birth"] = "1985-06-01"
    return record


def case_record(i: int, now: datetime) -> dict[str, Any]:
    """CASE_OPENED for subject i: one victim (with a protected child and address), a case manager and an IDVA."""
    ids = _ids(i)
    details = {"subject_id": subject_id(i), "status": "OPEN", "identifiers": list(ids.values()),
               "home_force_area": "E23000014", "case_manager_id": f"staff-cm-{i // SUBJECTS_PER_CASE_MANAGER:05d}",
               "victims": [{"victim_ref": _victim(i), "idva_id": f"staff-idva-{i // VICTIMS_PER_IDVA:05d}",
                            "protected_person_refs": [f"CHILD-B{i:07d}"],
                            "protected_locations": [{"kind": "UPRN", "value": f"1000{i:08d}"}]}],
               "opened_at": _iso(now - timedelta(days=60))}
    return _envelope("CASE_OPENED", _DRIVE, [ids["DRIVE_SUBJECT"]], details, now)


def staff_records(subjects: int, now: datetime) -> list[dict[str, Any]]:
    """STAFF_UPDATED for every case manager and IDVA the subjects use (phones for SMS delivery)."""
    out = []
    for role, prefix, per in (("CASE_MANAGER", "staff-cm", SUBJECTS_PER_CASE_MANAGER),
                              ("IDVA", "staff-idva", VICTIMS_PER_IDVA)):
        for n in range((subjects + per - 1) // per):
            out.append(_envelope("STAFF_UPDATED", _DRIVE, [], {
                "staff_id": f"{prefix}-{n:05d}", "role": role, "phone_e164": f"+4477{0 if role == 'IDVA' else 1}{n:07d}",
                "email": f"{prefix}-{n:05d}@drive.example.org", "active": True, "on_call": []}, now))
    return out


def _conditions(i: int, now: datetime) -> list[dict[str, Any]]:
    start = _iso(now - timedelta(days=2))
    return [{"condition_id": f"C{i}-1", "kind": "NO_CONTACT", "protected_person_ref": _victim(i), "starts_at": start},
            {"condition_id": f"C{i}-2", "kind": "EXCLUSION_ZONE", "starts_at": start,
             "location_ref": {"kind": "POSTCODE_SECTOR", "value": "B15 2"}}]


def agency_record(i: int, event_type: str, now: datetime, rng: random.Random) -> dict[str, Any]:
    """One agency event of the given type about subject i, timestamped just before `now`."""
    ids, n = _ids(i), rng.randrange(1_000_000)
    later = _iso(now + timedelta(days=30))
    builders: dict[str, tuple[dict, list[dict], dict]] = {
        "DOMESTIC_INCIDENT": (_POLICE, [ids["PNC"]], {
            "incident_ref": f"WM-{n:07d}", "force_area": "E23000014", "victim_refs": [_victim(i)],
            "location_ref": {"kind": "UPRN", "value": f"1000{i:08d}"}, "offence_category": "ASSAULT",
            "injury": rng.random() < 0.3, "weapon": rng.random() < 0.1, "children_present": rng.random() < 0.4,
            "risk_level": rng.choice(["STANDARD", "MEDIUM", "HIGH"])}),
        "ARREST": (_POLICE, [ids["PNC"]], {"incident_ref": f"WM-{n:07d}", "force_area": "E23000014",
                                           "offence_category": "ASSAULT"}),
        "CUSTODY_RELEASE": (_POLICE, [ids["PNC"]], {"custody_ref": f"WM-CUS-{n}", "force_area": "E23000014",
                                                    "release_type": "BAILED"}),
        "BAIL_GRANTED": (_POLICE, [ids["PNC"]], {"bail_ref": f"WM-BAIL-{i}", "bail_kind": "PRE_CHARGE",
                                                 "conditions": _conditions(i, now), "expires_at": later,
                                                 "force_area": "E23000014"}),
        "BAIL_VARIED": (_COURT, [ids["COURT_DEFENDANT"]], {"bail_ref": f"WM-BAIL-{i}",
                                                          "previous_conditions": _conditions(i, now),
                                                          "conditions": _conditions(i, now)[:1], "expires_at": later}),
        "HEARING_LISTED": (_COURT, [ids["COURT_DEFENDANT"]], {"court_case_ref": f"20WM{i:07d}", "court_code": "B20EB",
                                                             "hearing_at": later, "hearing_type": "TRIAL"}),
        "COURT_OUTCOME": (_COURT, [ids["COURT_DEFENDANT"]], {"court_case_ref": f"20WM{i:07d}", "court_code": "B20EB",
                                                            "outcome": "ADJOURNED"}),
        "ORDER_ISSUED": (_COURT, [ids["COURT_DEFENDANT"]], {"order_ref": f"DVPO-{i}", "order_type": "DVPO",
                                                           "court_code": "B20EB", "conditions": _conditions(i, now),
                                                           "starts_at": _iso(now - timedelta(days=1)),
                                                           "expires_at": later}),
        "BREACH_REPORTED": (_POLICE, [ids["PNC"]], {"breach_ref": f"WM-BR-{n}", "condition_kind": "NO_CONTACT",
                                                    "reported_by": "VICTIM", "protected_person_ref": _victim(i),
                                                    "force_area": "E23000014"}),
        "EM_ZONE_ENTRY": (_EM, [ids["EM_SUBJECT"]], {"device_ref": f"TAG-{i}", "zone_ref": f"ZONE-{i}",
                                                     "force_area": "E23000014"}),
    }
    source, person_ids, details = builders[event_type]
    return _envelope(event_type, source, person_ids, details, now)


def pick_event_type(rng: random.Random) -> tuple[str, str]:
    """A (topic, event type) drawn from EVENT_MIX."""
    topic, event_type, _ = rng.choices(EVENT_MIX, weights=[w for *_, w in EVENT_MIX])[0]
    return topic, event_type


def encode(codec: AvroCodec, topic: str, record: dict[str, Any]) -> Encoded:
    """The record validated into its datum and Avro-encoded, keyed as the intake keys it."""
    value = codec.encode(topic, from_json(topic, record))
    return Encoded(topic, record_key(topic, record).encode(), value, record["event_id"])


def registry_records(codec: AvroCodec, subjects: int, now: datetime) -> list[Encoded]:
    """Staff first, then one case per subject."""
    return [*(encode(codec, "case", r) for r in staff_records(subjects, now)),
            *(encode(codec, "case", case_record(i, now)) for i in range(subjects))]


def agency_events(codec: AvroCodec, count: int, subjects: int, now: datetime, seed: int = 7,
                  templates: int = 5000) -> list[Encoded]:
    """`count` encoded agency events over the subjects in the EVENT_MIX proportions, each with its own event id.

    Validating and encoding runs at a few thousand records/s, so at most `templates` records are built that way;
    the rest are copies of them with a fresh event id written into the Avro bytes (same length, so still valid).
    """
    rng = random.Random(seed)
    built: list[Encoded] = []
    for _ in range(min(count, templates)):
        topic, event_type = pick_event_type(rng)
        built.append(encode(codec, topic, agency_record(rng.randrange(subjects), event_type, now, rng)))
    out = list(built)
    for n in range(count - len(built)):
        template = built[n % len(built)]
        fresh = f"bench-{uuid.UUID(int=rng.getrandbits(128)).hex}"
        out.append(Encoded(template.topic, template.key,
                           template.value.replace(template.event_id.encode(), fresh.encode(), 1), fresh))
    return out
