"""EM provider and Drive case-management mappings: zone entry/exit, tamper, signal, case snapshots, staff."""
from __future__ import annotations

import json

import pytest

from connectors.mappings import RowRejected, map_row
from tests.unit.mapping_helpers import assert_contract_valid, sample_mapping


def em_alert(**fields: object) -> dict[str, object]:
    """An EM provider JSON-lines alert."""
    return {"alert_id": "EMA-9001", "subject_id": "EMS-7781", "at": "2026-11-22T21:14:05.250Z", "tag": "TAG-4411",
            **fields}


@pytest.mark.parametrize(("code", "event_type", "extra", "details"), [
    ("ZONE_IN", "EM_ZONE_ENTRY", {"zone": "Z-17", "force": "E23000014"},
     {"device_ref": "TAG-4411", "zone_ref": "Z-17", "force_area": "E23000014"}),
    ("ZONE_OUT", "EM_ZONE_EXIT", {"zone": "Z-17"}, {"device_ref": "TAG-4411", "zone_ref": "Z-17"}),
    ("TAMPER", "EM_TAG_TAMPER", {}, {"device_ref": "TAG-4411"}),
    ("NO_SIGNAL", "EM_SIGNAL_LOSS", {"signal_restored": False}, {"device_ref": "TAG-4411", "restored": False}),
    ("SIGNAL_BACK", "EM_SIGNAL_LOSS", {"signal_restored": True}, {"device_ref": "TAG-4411", "restored": True}),
])
def test_em_alert_types(code: str, event_type: str, extra: dict, details: dict) -> None:
    """Each EM alert code becomes its breach event type with millisecond UTC time kept."""
    mapped = map_row(sample_mapping("em-provider"), em_alert(alert_type=code, **extra))
    assert mapped.topic == "breach" and mapped.event_id == "em-provider:alerts:EMA-9001"
    assert mapped.record["event_type"] == event_type and mapped.record["details"] == details
    assert mapped.record["occurred_at"] == "2026-11-22T21:14:05.250Z"
    assert mapped.record["person_ids"] == [{"scheme": "EM_SUBJECT", "value": "EMS-7781"}]
    assert_contract_valid("breach", mapped.record)


def test_unknown_em_alert_type_is_refused() -> None:
    """An alert code outside the event-type map is refused naming the column."""
    with pytest.raises(RowRejected) as refused:
        map_row(sample_mapping("em-provider"), em_alert(alert_type="BATTERY_LOW"))
    assert [e.path for e in refused.value.errors] == ["alert_type"]


CASE = {"subject": "DRV-000123", "version": 7, "changed_at": "2026-11-22T10:00:00",
        "ids": "PNC:2019/0012345A;PROBATION_CRN:X123456", "force": "E23000014", "manager": "staff-cm-01",
        "victims": [{"ref": "VIC-0001", "idva": "staff-idva-07", "persons": ["VIC-0001", "CHILD-0002"],
                     "locations": ["UPRN:100070345678", "POSTCODE_SECTOR:B15 2"]}],
        "opened": "2026-06-01T09:00:00"}


@pytest.mark.parametrize(("change", "event_type"), [
    ("opened", "CASE_OPENED"), ("ids", "IDENTIFIERS_ADDED"), ("victim_linked", "VICTIM_LINKED"),
    ("victim_unlinked", "VICTIM_UNLINKED"), ("assigned", "WORKER_ASSIGNED")])
def test_case_snapshot_events(change: str, event_type: str) -> None:
    """Every case change becomes a whole-entry CaseSnapshot keyed by the Drive subject."""
    mapped = map_row(sample_mapping("drive-cases"), {**CASE, "change": change})
    assert mapped.event_id == "drive:cases:DRV-000123:7"
    assert mapped.record["event_type"] == event_type
    assert mapped.record["person_ids"] == [{"scheme": "DRIVE_SUBJECT", "value": "DRV-000123"}]
    assert mapped.record["details"] == {
        "subject_id": "DRV-000123", "status": "OPEN",
        "identifiers": [{"scheme": "PNC", "value": "2019/0012345A"}, {"scheme": "PROBATION_CRN", "value": "X123456"}],
        "home_force_area": "E23000014", "case_manager_id": "staff-cm-01",
        "victims": [{"victim_ref": "VIC-0001", "idva_id": "staff-idva-07",
                     "protected_person_refs": ["VIC-0001", "CHILD-0002"],
                     "protected_locations": [{"kind": "UPRN", "value": "100070345678"},
                                             {"kind": "POSTCODE_SECTOR", "value": "B15 2"}]}],
        "opened_at": "2026-06-01T08:00:00Z"}
    assert_contract_valid("case", mapped.record)


def test_case_closed_snapshot() -> None:
    """A closed case has status CLOSED and its closing time."""
    mapped = map_row(sample_mapping("drive-cases"), {**CASE, "change": "closed", "closed": "2026-12-01T17:00:00"})
    assert mapped.record["details"]["status"] == "CLOSED"
    assert mapped.record["details"]["closed_at"] == "2026-12-01T17:00:00Z"
    assert_contract_valid("case", mapped.record)


def test_victims_as_json_text_and_bad_identifier_scheme() -> None:
    """Victims may come as JSON text; an unknown identifier scheme is a row error on the ids column."""
    row = {**CASE, "change": "ids", "victims": json.dumps(CASE["victims"]), "ids": "NHS:123"}
    with pytest.raises(RowRejected) as refused:
        map_row(sample_mapping("drive-cases"), row)
    assert [e.path for e in refused.value.errors] == ["ids"]


def test_staff_updated_row() -> None:
    """A staff CSV row (email column allowed although it says 'Address') becomes a StaffMember without person ids."""
    row = {"Staff ID": "staff-idva-07", "Role": "IDVA", "Mobile": "+447700900123", "Email Address": "idva7@drive.example",
           "Active": "Y", "On Call": "2026-11-22T08:00:00Z..2026-11-22T20:00:00Z; 2026-11-23T08:00..2026-11-23T20:00",
           "Updated": "2026-11-22T07:00:00Z", "Home Address": "somewhere"}
    mapped = map_row(sample_mapping("drive-staff"), row)
    assert mapped.record["person_ids"] == []
    assert mapped.record["details"] == {
        "staff_id": "staff-idva-07", "role": "IDVA", "phone_e164": "+447700900123", "email": "idva7@drive.example",
        "active": True, "on_call": [{"starts_at": "2026-11-22T08:00:00Z", "ends_at": "2026-11-22T20:00:00Z"},
                                    {"starts_at": "2026-11-23T08:00:00Z", "ends_at": "2026-11-23T20:00:00Z"}]}
    assert "somewhere" not in repr(mapped.record)
    assert_contract_valid("case", mapped.record)
