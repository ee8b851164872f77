"""Court and prison feed mappings: listings, outcomes, warrants, protective orders, prison releases."""
from __future__ import annotations

import json

import pytest

from connectors.mappings import RowRejected, map_row
from tests.unit.mapping_helpers import assert_contract_valid, sample_mapping


def listing(**fields: object) -> dict[str, object]:
    """A Common Platform JSON-lines object (values as JSON carries them)."""
    return {"id": 5501, "defendant_id": "DEF-55102", "defendant_name": "John Smith", "dob": "1988-03-14",
            "case_number": "CP-26-001", "court": "B01LY", "defendant_address": "1 Any Street", **fields}


def test_hearing_listed_naive_iso_is_uk_local() -> None:
    """A listing's naive ISO times are read as UK local (BST in July) and the address is dropped."""
    mapped = map_row(sample_mapping("hmcts-listings"), listing(
        type="LISTED", event_time="2026-07-01T10:00:00", hearing_start="2026-07-15T09:30:00", hearing="PLEA"))
    assert mapped.record == {
        "event_id": "hmcts:listings:5501", "event_type": "HEARING_LISTED",
        "source": {"agency": "hmcts", "system": "common-platform"},
        "person_ids": [{"scheme": "COURT_DEFENDANT", "value": "DEF-55102"}], "person_name": "John Smith",
        "date_of_birth": "1988-03-14", "occurred_at": "2026-07-01T09:00:00Z", "recorded_at": "2026-07-01T09:00:00Z",
        "schema_version": 1,
        "details": {"court_case_ref": "CP-26-001", "court_code": "B01LY", "hearing_at": "2026-07-15T08:30:00Z",
                    "hearing_type": "PLEA"},
    }
    assert_contract_valid("court", mapped.record)


def test_court_outcome_with_sentence_and_zoned_timestamp() -> None:
    """An outcome maps result and disposal codes; an ISO time with an offset keeps its instant."""
    mapped = map_row(sample_mapping("hmcts-listings"), listing(
        type="RESULT", event_time="2026-11-22T15:00:00+00:00", result="SENT", disposal="SSO"))
    assert mapped.record["details"] == {"court_case_ref": "CP-26-001", "court_code": "B01LY",
                                        "outcome": "SENTENCED", "sentence_category": "SUSPENDED"}
    assert mapped.record["occurred_at"] == "2026-11-22T15:00:00Z"
    assert_contract_valid("court", mapped.record)


def test_warrant_issued() -> None:
    """A failed-to-appear warrant maps its reason code."""
    mapped = map_row(sample_mapping("hmcts-listings"), listing(
        type="WARRANT", event_time="2026-11-22T11:00:00", warrant_type="FTA"))
    assert mapped.record["details"] == {"court_case_ref": "CP-26-001", "court_code": "B01LY",
                                        "reason": "FAILED_TO_APPEAR"}
    assert_contract_valid("court", mapped.record)


def test_unknown_outcome_code_names_column_not_value() -> None:
    """A result code missing from the value map is a per-row error naming the column only."""
    with pytest.raises(RowRejected) as refused:
        map_row(sample_mapping("hmcts-listings"), listing(type="RESULT", event_time="2026-11-22T11:00:00",
                                                          result="XYZZY"))
    assert [e.path for e in refused.value.errors] == ["result"]
    assert "unknown code" in refused.value.errors[0].message and "XYZZY" not in refused.value.errors[0].message


ORDER = {"Order No": "NMO-77", "Action Seq": "1", "Respondent ID": "DEF-55102", "Respondent Name": "J Smith",
         "Made": "2026-11-20 14:00", "Order Type": "NMO", "Court": "B01LY", "Starts": "", "Expires": "2027-11-20 14:00",
         "Respondent Address": "1 Any Street", "Applicant Address": "3 Safe Place",
         "Conditions": json.dumps([{"kind": "NC", "person": "VIC-0001"},
                                   {"id": "Z1", "kind": "EZ", "location": "POSTCODE_SECTOR:B15 2",
                                    "ends": "2027-11-20 14:00"}]),
         "Previous Conditions": ""}


def test_order_issued_with_json_conditions() -> None:
    """An order's JSON condition cell becomes typed conditions; starts default to when it was made."""
    mapped = map_row(sample_mapping("hmcts-orders"), {**ORDER, "Action": "ISSUE"})
    assert mapped.event_id == "hmcts:orders:NMO-77:1"
    assert mapped.record["details"] == {
        "order_ref": "NMO-77", "order_type": "NON_MOLESTATION", "court_code": "B01LY",
        "starts_at": "2026-11-20T14:00:00Z", "expires_at": "2027-11-20T14:00:00Z",
        "conditions": [
            {"condition_id": "c1", "kind": "NO_CONTACT", "protected_person_ref": "VIC-0001",
             "starts_at": "2026-11-20T14:00:00Z"},
            {"condition_id": "Z1", "kind": "EXCLUSION_ZONE", "location_ref": {"kind": "POSTCODE_SECTOR", "value": "B15 2"},
             "starts_at": "2026-11-20T14:00:00Z", "ends_at": "2027-11-20T14:00:00Z"}]}
    assert "Safe Place" not in repr(mapped.record)
    assert_contract_valid("court", mapped.record)


def test_order_varied_lists_old_and_new_conditions() -> None:
    """A variation carries the previous and the new condition lists."""
    previous = json.dumps([{"id": "c1", "kind": "NC", "person": "VIC-0001"}])
    mapped = map_row(sample_mapping("hmcts-orders"), {**ORDER, "Action": "VARY", "Action Seq": "2",
                                                      "Previous Conditions": previous,
                                                      "Conditions": json.dumps([])})
    details = mapped.record["details"]
    assert details["previous_conditions"][0]["protected_person_ref"] == "VIC-0001"
    assert details["conditions"] == [] and details["expires_at"] == "2027-11-20T14:00:00Z"
    assert_contract_valid("court", mapped.record)


@pytest.mark.parametrize(("action", "event_type"), [("DISCH", "ORDER_DISCHARGED"), ("EXP", "ORDER_EXPIRED")])
def test_order_ended(action: str, event_type: str) -> None:
    """Discharged and expired orders carry only the order reference and type."""
    mapped = map_row(sample_mapping("hmcts-orders"), {**ORDER, "Action": action})
    assert mapped.record["event_type"] == event_type
    assert mapped.record["details"] == {"order_ref": "NMO-77", "order_type": "NON_MOLESTATION"}
    assert_contract_valid("court", mapped.record)


def test_bad_json_conditions_cell_is_a_row_error() -> None:
    """A conditions cell that is not a JSON list of objects is refused with the column named."""
    with pytest.raises(RowRejected) as refused:
        map_row(sample_mapping("hmcts-orders"), {**ORDER, "Action": "ISSUE", "Conditions": "[{broken"})
    assert [e.path for e in refused.value.errors] == ["Conditions"]


def test_prison_release_with_licence_conditions() -> None:
    """A prison release maps the establishment, release type and numbered licence conditions."""
    row = {"Prison No": "A1234BC", "CRN": "X123456", "Released": "31/10/2026 09:00", "Establishment": "BMI",
           "Release Type": "CRD", "SLED": "30/04/2027 23:59", "Release Address": "hostel",
           "LC1 Kind": "EZ", "LC1 Person": "", "LC1 Zone": "EM_ZONE:Z-17", "LC1 Hours": "",
           "LC2 Kind": "NC", "LC2 Person": "VIC-0001", "LC2 Zone": "", "LC2 Hours": ""}
    mapped = map_row(sample_mapping("hmpps-releases"), row)
    assert mapped.event_id == "hmpps:releases:A1234BC:31/10/2026 09:00"
    assert mapped.record["person_ids"] == [{"scheme": "PROBATION_CRN", "value": "X123456"},
                                           {"scheme": "PRISON_NUMBER", "value": "A1234BC"}]
    assert mapped.record["details"] == {
        "prison_code": "BMI", "release_type": "LICENCE", "licence_expires_at": "2027-04-30T22:59:00Z",
        "licence_conditions": [
            {"condition_id": "c1", "kind": "EXCLUSION_ZONE", "location_ref": {"kind": "EM_ZONE", "value": "Z-17"},
             "starts_at": "2026-10-31T09:00:00Z"},
            {"condition_id": "c2", "kind": "NO_CONTACT", "protected_person_ref": "VIC-0001",
             "starts_at": "2026-10-31T09:00:00Z"}]}
    assert_contract_valid("court", mapped.record)
