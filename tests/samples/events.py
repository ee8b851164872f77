"""One valid JSON-form sample per (topic, event_type), plus alert/delivery/dead-letter records, for every test to reuse."""
from __future__ import annotations

import copy
import uuid
from typing import Any

_POLICE = {"agency": "police-wm", "system": "niche-rms"}
_COURT = {"agency": "hmcts", "system": "common-platform"}
_PROBATION = {"agency": "probation", "system": "ndelius"}
_EM = {"agency": "em-provider", "system": "em-hub"}
_DRIVE = {"agency": "drive", "system": "case-management"}

_PNC = {"scheme": "PNC", "value": "2019/0012345A"}
_NOMINAL = {"scheme": "FORCE_NOMINAL", "value": "WM-884211"}
_DEFENDANT = {"scheme": "COURT_DEFENDANT", "value": "DEF-55102"}
_CRN = {"scheme": "PROBATION_CRN", "value": "X123456"}
_EM_SUBJECT = {"scheme": "EM_SUBJECT", "value": "EMS-7781"}
_DRIVE_SUBJECT = {"scheme": "DRIVE_SUBJECT", "value": "DRV-000123"}

_NO_CONTACT = {
    "condition_id": "C1", "kind": "NO_CONTACT", "protected_person_ref": "VIC-0001",
    "starts_at": "2026-11-20T14:00:00Z",
}
_EXCLUSION = {
    "condition_id": "C2", "kind": "EXCLUSION_ZONE",
    "location_ref": {"kind": "POSTCODE_SECTOR", "value": "B15 2"},
    "starts_at": "2026-11-20T14:00:00Z", "ends_at": "2027-02-20T14:00:00Z",
}
_CURFEW = {
    "condition_id": "C3", "kind": "CURFEW",
    "location_ref": {"kind": "UPRN", "value": "100070345678"},
    "curfew": {"start": "19:00", "end": "07:00"},
    "starts_at": "2026-11-20T14:00:00Z",
}
_SCHOOL = {
    "condition_id": "C4", "kind": "NO_APPROACH_SCHOOL",
    "location_ref": {"kind": "UPRN", "value": "100070999001"},
    "starts_at": "2026-11-20T14:00:00Z",
}


def _envelope(event_type: str, source: dict, person_ids: list[dict], details: dict, **extra: Any) -> dict:
    record = {
        "event_id": f"sample-{event_type.lower()}",
        "event_type": event_type,
        "source": source,
        "person_ids": person_ids,
        "occurred_at": "2026-11-22T09:41:00Z",
        "recorded_at": "2026-11-22T09:58:12.345Z",
        "schema_version": 1,
        "details": details,
    }
    if person_ids:
        record["date_of_birth"] = "1988-03-14"
    record.update(extra)
    return record


_SNAPSHOT = {
    "subject_id": "DRV-000123",
    "status": "OPEN",
    "identifiers": [_PNC, _NOMINAL, _CRN, _DRIVE_SUBJECT],
    "home_force_area": "E23000014",
    "case_manager_id": "staff-cm-01",
    "victims": [
        {"victim_ref": "VIC-0001", "idva_id": "staff-idva-07", "protected_person_refs": ["CHILD-0001"],
         "protected_locations": [{"kind": "UPRN", "value": "100070123456"}]},
    ],
    "opened_at": "2026-09-01T10:00:00Z",
}


def _case(event_type: str, **snapshot_changes: Any) -> dict:
    return _envelope(event_type, _DRIVE, [_DRIVE_SUBJECT], {**copy.deepcopy(_SNAPSHOT), **snapshot_changes})


SAMPLES: dict[tuple[str, str], dict] = {
    ("incident", "DOMESTIC_INCIDENT"): _envelope("DOMESTIC_INCIDENT", _POLICE, [_PNC, _NOMINAL], {
        "incident_ref": "WM-20261122-0457", "force_area": "E23000014", "victim_refs": ["VIC-0001"],
        "location_ref": {"kind": "UPRN", "value": "100070123456"}, "offence_category": "ASSAULT",
        "injury": True, "weapon": False, "children_present": True, "risk_level": "HIGH",
    }, schema_version=2, name_hash="3f1c9b0e8a7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170615e4d3"),
    ("incident", "ARREST"): _envelope("ARREST", _POLICE, [_PNC], {
        "incident_ref": "WM-20261122-0457", "force_area": "E23000014", "offence_category": "ASSAULT",
    }),
    ("incident", "CUSTODY_RELEASE"): _envelope("CUSTODY_RELEASE", _POLICE, [_PNC, _NOMINAL], {
        "custody_ref": "WM-CUS-99120", "force_area": "E23000014", "release_type": "BAILED",
    }),
    ("incident", "CHARGE_DECISION"): _envelope("CHARGE_DECISION", _POLICE, [_PNC], {
        "force_area": "E23000014", "decision": "NO_FURTHER_ACTION", "offence_category": "COERCIVE_CONTROL",
    }),
    ("bail", "BAIL_GRANTED"): _envelope("BAIL_GRANTED", _POLICE, [_PNC], {
        "bail_ref": "WM-BAIL-3321", "bail_kind": "PRE_CHARGE", "conditions": [_NO_CONTACT, _EXCLUSION, _CURFEW],
        "expires_at": "2027-02-20T14:00:00Z", "force_area": "E23000014",
    }),
    ("bail", "BAIL_VARIED"): _envelope("BAIL_VARIED", _COURT, [_DEFENDANT, _PNC], {
        "bail_ref": "WM-BAIL-3321", "previous_conditions": [_NO_CONTACT, _EXCLUSION, _CURFEW],
        "conditions": [_NO_CONTACT, _EXCLUSION], "expires_at": "2027-01-20T14:00:00Z",
    }),
    ("bail", "BAIL_REVOKED"): _envelope("BAIL_REVOKED", _COURT, [_DEFENDANT], {
        "bail_ref": "WM-BAIL-3321", "remanded": True,
    }),
    ("bail", "BAIL_EXPIRED"): _envelope("BAIL_EXPIRED", _POLICE, [_PNC], {"bail_ref": "WM-BAIL-3321"}),
    ("bail", "RELEASED_UNDER_INVESTIGATION"): _envelope("RELEASED_UNDER_INVESTIGATION", _POLICE, [_PNC], {
        "force_area": "E23000014", "bail_ref": "WM-BAIL-3321",
    }),
    ("bail", "REMANDED"): _envelope("REMANDED", _COURT, [_DEFENDANT], {
        "court_code": "B20EB", "until": "2026-12-06T10:00:00Z",
    }),
    ("court", "HEARING_LISTED"): _envelope("HEARING_LISTED", _COURT, [_DEFENDANT, _PNC], {
        "court_case_ref": "20WM1234526", "court_code": "B20EB", "hearing_at": "2026-12-06T10:00:00Z",
        "hearing_type": "TRIAL",
    }),
    ("court", "COURT_OUTCOME"): _envelope("COURT_OUTCOME", _COURT, [_DEFENDANT], {
        "court_case_ref": "20WM1234526", "court_code": "B20EB", "outcome": "SENTENCED",
        "sentence_category": "SUSPENDED",
    }),
    ("court", "ORDER_ISSUED"): _envelope("ORDER_ISSUED", _COURT, [_DEFENDANT, _PNC], {
        "order_ref": "DVPO-2026-0091", "order_type": "DVPO", "court_code": "B20EB",
        "conditions": [_NO_CONTACT, _EXCLUSION, _SCHOOL], "starts_at": "2026-11-22T12:00:00Z",
        "expires_at": "2026-12-20T12:00:00Z",
    }),
    ("court", "ORDER_VARIED"): _envelope("ORDER_VARIED", _COURT, [_DEFENDANT], {
        "order_ref": "DVPO-2026-0091", "order_type": "DVPO",
        "previous_conditions": [_NO_CONTACT, _EXCLUSION, _SCHOOL], "conditions": [_NO_CONTACT],
    }),
    ("court", "ORDER_DISCHARGED"): _envelope("ORDER_DISCHARGED", _COURT, [_DEFENDANT], {
        "order_ref": "DVPO-2026-0091", "order_type": "DVPO",
    }),
    ("court", "ORDER_EXPIRED"): _envelope("ORDER_EXPIRED", _COURT, [_DEFENDANT], {
        "order_ref": "NMO-2025-0412", "order_type": "NON_MOLESTATION",
    }),
    ("court", "WARRANT_ISSUED"): _envelope("WARRANT_ISSUED", _COURT, [_DEFENDANT], {
        "court_case_ref": "20WM1234526", "court_code": "B20EB", "reason": "FAILED_TO_APPEAR",
    }),
    ("court", "PRISON_RELEASE"): _envelope("PRISON_RELEASE", _PROBATION, [_CRN, _PNC], {
        "prison_code": "BMI", "release_type": "LICENCE", "licence_conditions": [_NO_CONTACT, _EXCLUSION],
        "licence_expires_at": "2027-11-22T00:00:00Z",
    }),
    ("breach", "BREACH_REPORTED"): _envelope("BREACH_REPORTED", _POLICE, [_PNC], {
        "breach_ref": "WM-BR-1207", "condition_kind": "NO_CONTACT", "condition_id": "C1",
        "bail_ref": "WM-BAIL-3321", "reported_by": "VICTIM", "protected_person_ref": "VIC-0001",
        "location_ref": {"kind": "POSTCODE_SECTOR", "value": "B15 2"}, "force_area": "E23000014",
    }),
    ("breach", "EM_ZONE_ENTRY"): _envelope("EM_ZONE_ENTRY", _EM, [_EM_SUBJECT], {
        "device_ref": "TAG-00991", "zone_ref": "ZONE-B15-2", "force_area": "E23000014",
    }),
    ("breach", "EM_ZONE_EXIT"): _envelope("EM_ZONE_EXIT", _EM, [_EM_SUBJECT], {
        "device_ref": "TAG-00991", "zone_ref": "ZONE-B15-2",
    }),
    ("breach", "EM_TAG_TAMPER"): _envelope("EM_TAG_TAMPER", _EM, [_EM_SUBJECT], {"device_ref": "TAG-00991"}),
    ("breach", "EM_SIGNAL_LOSS"): _envelope("EM_SIGNAL_LOSS", _EM, [_EM_SUBJECT], {
        "device_ref": "TAG-00991", "restored": False,
    }),
    ("case", "CASE_OPENED"): _case("CASE_OPENED"),
    ("case", "IDENTIFIERS_ADDED"): _case("IDENTIFIERS_ADDED"),
    ("case", "VICTIM_LINKED"): _case("VICTIM_LINKED"),
    ("case", "VICTIM_UNLINKED"): _case("VICTIM_UNLINKED", victims=[]),
    ("case", "WORKER_ASSIGNED"): _case("WORKER_ASSIGNED", case_manager_id="staff-cm-02"),
    ("case", "CASE_CLOSED"): _case("CASE_CLOSED", status="CLOSED", closed_at="2027-03-01T16:30:00Z"),
    ("case", "STAFF_UPDATED"): _envelope("STAFF_UPDATED", _DRIVE, [], {
        "staff_id": "staff-dm-01", "role": "DUTY_MANAGER", "phone_e164": "+447700900123",
        "email": "duty.manager@drive.example.org", "active": True,
        "on_call": [{"starts_at": "2026-11-22T08:00:00Z", "ends_at": "2026-11-22T20:00:00Z"}],
    }),
}

# Records of the non-envelope topics, keyed by topic.
RECORD_SAMPLES: dict[str, dict] = {
    "alert": {
        "alert_id": "alt-5c2e9f0a", "rule": "BREACH_NO_CONTACT", "severity": "CRITICAL", "subject_id": "DRV-000123",
        "trigger_event_ids": ["sample-breach_reported"], "raised_at": "2026-11-22T09:58:13Z",
        "recipients": [
            {"staff_id": "staff-cm-01", "role": "CASE_MANAGER", "text": "DRIVE CRITICAL A-5C2E: no-contact breach reported. Ref DRV-000123. Reply ACK 5C2E."},
            {"staff_id": "staff-idva-07", "role": "IDVA", "victim_ref": "VIC-0001", "text": "DRIVE CRITICAL A-5C2E: breach concerning VIC-0001. Review safety plan. Reply ACK 5C2E."},
        ],
    },
    "delivery": {
        "delivery_event_id": "dlv-0001", "alert_id": "alt-5c2e9f0a", "kind": "DELIVERED", "staff_id": "staff-idva-07",
        "channel": "SMS", "at": "2026-11-22T09:58:15Z", "code": "delivered",
    },
    "dead-letter": {
        "dead_letter_id": "dl-0001", "source": {"connector": "http-intake", "agency": "police-wm", "location": "request req-77a1"},
        "intended_topic": "incident", "raw": "eyJldmVudF9pZCI6ICIifQ==", "content_type": "application/json",
        "reason": "VALIDATION_FAILED", "errors": [{"path": "event_id", "message": "must be 1 to 128 characters"}],
        "refused_at": "2026-11-22T09:58:13Z",
    },
}

_ID_FIELDS = {"alert": "alert_id", "delivery": "delivery_event_id", "dead-letter": "dead_letter_id"}


def _set_path(record: dict, dotted: str, value: Any) -> None:
    *parents, last = dotted.split("__")
    for part in parents:
        record = record.setdefault(part, {})
    record[last] = value


def sample(topic: str, event_type: str | None = None, /, **overrides: Any) -> dict:
    """A deep copy of a sample with a fresh id; overrides replace fields (`details__force_area="X"` reaches nested ones)."""
    if event_type is None:
        record = copy.deepcopy(RECORD_SAMPLES[topic])
        record[_ID_FIELDS[topic]] = f"{topic}-{uuid.uuid4().hex}"
    else:
        record = copy.deepcopy(SAMPLES[(topic, event_type)])
        record["event_id"] = f"{event_type.lower()}-{uuid.uuid4().hex}"
    for key, value in overrides.items():
        _set_path(record, key, value)
    return record
