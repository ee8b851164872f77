"""Police feed mappings: RMS incidents, arrests, charging, custody releases, police bail and RUI."""
from __future__ import annotations

import pytest

from connectors.mappings import RowRejected, map_row
from tests.unit.mapping_helpers import assert_contract_valid, sample_mapping

RMS_HEADER = {
    "Log Ref": "", "Record Type": "", "PNC ID": "2019/0012345A", "Nominal ID": "MP-77123",
    "Subject Name": "SMITH John", "DOB": "14/03/1988", "Occurred": "", "Recorded": "", "Occurrence No": "",
    "Force": "E23000001", "Victim Refs": "", "Location UPRN": "", "Offence Code": "", "Injury": "", "Weapon": "",
    "Children Present": "", "DASH Risk": "", "Custody No": "", "Disposal": "", "Charge Outcome": "",
    "Home Address": "1 Any Street, London", "Incident Address": "2 Other Road", "Officer Notes": "narrative",
}


def rms_row(**cells: str) -> dict[str, str]:
    """A Met RMS extract row with the given cells filled in."""
    return {**RMS_HEADER, **cells}


def test_domestic_incident_row_becomes_contract_record() -> None:
    """A DA incident row maps every column, converts UK winter time to UTC and drops addresses."""
    mapped = map_row(sample_mapping("met-incidents"), rms_row(
        **{"Log Ref": "L-1001", "Record Type": "DA_INC", "Occurred": "21/11/2026 23:40", "Recorded": "22/11/2026 00:05",
           "Occurrence No": "01/123456/26", "Victim Refs": "VIC-0001; VIC-0002", "Location UPRN": "100023336956",
           "Offence Code": "ASLT", "Injury": "Y", "Weapon": "N", "Children Present": "yes", "DASH Risk": "H"}))
    assert mapped.topic == "incident" and mapped.event_id == "met:incidents:L-1001"
    assert mapped.record == {
        "event_id": "met:incidents:L-1001", "event_type": "DOMESTIC_INCIDENT",
        "source": {"agency": "met", "system": "niche-rms"},
        "person_ids": [{"scheme": "PNC", "value": "2019/0012345A"}, {"scheme": "FORCE_NOMINAL", "value": "MP-77123"}],
        "person_name": "SMITH John", "date_of_birth": "1988-03-14",
        "occurred_at": "2026-11-21T23:40:00Z", "recorded_at": "2026-11-22T00:05:00Z", "schema_version": 2,
        "details": {"incident_ref": "01/123456/26", "force_area": "E23000001", "victim_refs": ["VIC-0001", "VIC-0002"],
                    "location_ref": {"kind": "UPRN", "value": "100023336956"}, "offence_category": "ASSAULT",
                    "injury": True, "weapon": False, "children_present": True, "risk_level": "HIGH"},
    }
    assert "Any Street" not in repr(mapped.record) and "narrative" not in repr(mapped.record)
    assert_contract_valid("incident", mapped.record)


def test_arrest_in_summer_converts_bst_to_utc() -> None:
    """An arrest at 09:15 BST is 08:15 UTC."""
    mapped = map_row(sample_mapping("met-incidents"), rms_row(
        **{"Log Ref": "L-1002", "Record Type": "ARR", "Occurred": "01/07/2026 09:15", "Occurrence No": "01/1/26",
           "Offence Code": "CC"}))
    assert mapped.record["occurred_at"] == "2026-07-01T08:15:00Z"
    assert mapped.record["recorded_at"] == "2026-07-01T08:15:00Z"
    assert mapped.record["details"] == {"incident_ref": "01/1/26", "force_area": "E23000001",
                                        "offence_category": "COERCIVE_CONTROL"}
    assert_contract_valid("incident", mapped.record)


def test_charge_decision_row() -> None:
    """A charging row maps the agency's outcome code to our decision enum."""
    mapped = map_row(sample_mapping("met-incidents"), rms_row(
        **{"Log Ref": "L-1003", "Record Type": "CHG", "Occurred": "02/12/2026 16:00", "Charge Outcome": "NFA",
           "Offence Code": "HAR"}))
    assert mapped.record["event_type"] == "CHARGE_DECISION"
    assert mapped.record["details"] == {"force_area": "E23000001", "decision": "NO_FURTHER_ACTION",
                                        "offence_category": "HARASSMENT"}
    assert_contract_valid("incident", mapped.record)


def test_custody_release_row() -> None:
    """A custody release row maps the disposal code to the release type."""
    mapped = map_row(sample_mapping("met-incidents"), rms_row(
        **{"Log Ref": "L-1004", "Record Type": "CUST_REL", "Occurred": "02/12/2026 18:30", "Custody No": "CU-88",
           "Disposal": "RUI"}))
    assert mapped.record["details"] == {"custody_ref": "CU-88", "force_area": "E23000001",
                                        "release_type": "RELEASED_UNDER_INVESTIGATION"}
    assert_contract_valid("incident", mapped.record)


CUSTODY = {"Custody No": "CU-90", "PNC ID": "2019/0012345A", "Detainee Name": "SMITH John", "DOB": "",
           "Released": "30/03/2026 14:00", "Bail Ref": "PB-12", "Answer Bail": "28/04/2026 10:00", "Force": "E23000001",
           "Detainee Address": "1 Any Street", "Outcome": "BAIL",
           "Cond 1 Type": "NC", "Cond 1 Victim": "VIC-0001", "Cond 1 Place": "", "Cond 1 Hours": "", "Cond 1 Ends": "",
           "Cond 2 Type": "CUR", "Cond 2 Victim": "", "Cond 2 Place": "UPRN:100023336956", "Cond 2 Hours": "19:00-07:00",
           "Cond 2 Ends": "28/04/2026 10:00",
           "Cond 3 Type": "", "Cond 3 Victim": "", "Cond 3 Place": "", "Cond 3 Hours": "", "Cond 3 Ends": ""}


def test_bail_granted_from_custody_with_numbered_conditions() -> None:
    """Police bail from custody carries its numbered condition groups; blank groups are skipped."""
    mapped = map_row(sample_mapping("met-custody-bail"), CUSTODY)
    assert mapped.topic == "bail" and mapped.event_id == "met:custody-bail:CU-90"
    assert mapped.record["details"] == {
        "bail_ref": "PB-12", "bail_kind": "PRE_CHARGE", "expires_at": "2026-04-28T09:00:00Z", "force_area": "E23000001",
        "conditions": [
            {"condition_id": "c1", "kind": "NO_CONTACT", "protected_person_ref": "VIC-0001",
             "starts_at": "2026-03-30T13:00:00Z"},
            {"condition_id": "c2", "kind": "CURFEW", "location_ref": {"kind": "UPRN", "value": "100023336956"},
             "curfew": {"start": "19:00", "end": "07:00"}, "starts_at": "2026-03-30T13:00:00Z",
             "ends_at": "2026-04-28T09:00:00Z"},
        ],
    }
    assert_contract_valid("bail", mapped.record)


def test_released_under_investigation_from_custody() -> None:
    """An RUI outcome becomes RELEASED_UNDER_INVESTIGATION on the bail topic."""
    mapped = map_row(sample_mapping("met-custody-bail"), {**CUSTODY, "Outcome": "RUI", "Cond 1 Type": ""})
    assert mapped.record["event_type"] == "RELEASED_UNDER_INVESTIGATION"
    assert mapped.record["details"] == {"force_area": "E23000001", "bail_ref": "PB-12"}
    assert_contract_valid("bail", mapped.record)


def test_condition_missing_its_protected_person_is_refused() -> None:
    """A no-contact condition without the protected person names the agency column."""
    with pytest.raises(RowRejected) as refused:
        map_row(sample_mapping("met-custody-bail"), {**CUSTODY, "Cond 1 Victim": ""})
    assert [(e.path, e.message) for e in refused.value.errors] == [
        ("Cond 1 Victim", "required for a NO_CONTACT condition")]
