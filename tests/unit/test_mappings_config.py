"""Feed mapping declarations and the shared rules: timestamps around clock changes, codes, names, addresses, ids."""
from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from connectors.mappings import RowRejected, map_row
from connectors.mappings.config import MappingConfigError, default_mappings_dir, load_mappings, parse_mapping

BASE: dict[str, Any] = {
    "agency": "met", "feed": "test", "kind": "police", "topic": "incident", "system": "rms",
    "applies_to": {"files": ["x_*.csv"]}, "event_type": "ARREST", "key": ["record_ref"],
    "columns": {"Ref": "record_ref", "PNC": "pnc", "Name": "person_name", "When": "occurred_at",
                "Force": "force_area", "Offence": "offence_category"},
    "values": {"offence_category": {"ASLT": "ASSAULT"}},
    "timestamps": {"format": "%d/%m/%Y %H:%M", "timezone": "Europe/London"},
}
ROW = {"Ref": "R1", "PNC": "2019/1A", "Name": "Jane Roe", "When": "01/01/2026 12:00", "Force": "E23000001",
       "Offence": "ASLT"}


def mapping(**changes: Any) -> Any:
    """The base test mapping with top-level keys replaced."""
    raw = copy.deepcopy(BASE)
    raw.update(changes)
    return parse_mapping(raw, "test.yaml")


def refused_paths(row: dict[str, str], **changes: Any) -> list[str]:
    """The error paths of a row the mapping refuses."""
    with pytest.raises(RowRejected) as refused:
        map_row(mapping(**changes), row)
    return [e.path for e in refused.value.errors]


def test_shipped_sample_mappings_all_load() -> None:
    """Every example mapping in connectors/mappings/sample_config is valid."""
    assert len(load_mappings(default_mappings_dir())) >= 8


@pytest.mark.parametrize(("local", "utc"), [
    ("29/03/2026 00:59", "2026-03-29T00:59:00Z"),   # last GMT minute
    ("29/03/2026 02:00", "2026-03-29T01:00:00Z"),   # first BST wall time after the gap
    ("25/10/2026 01:30", "2026-10-25T00:30:00Z"),   # ambiguous: the first (BST) 01:30 is taken
    ("25/10/2026 02:30", "2026-10-25T02:30:00Z"),   # GMT again
])
def test_uk_local_time_around_clock_changes(local: str, utc: str) -> None:
    """Naive UK local times convert to UTC across both clock changes."""
    assert map_row(mapping(), {**ROW, "When": local}).record["occurred_at"] == utc


def test_local_time_in_the_spring_gap_is_refused() -> None:
    """01:30 on the spring-forward day never happened in London and is refused."""
    with pytest.raises(RowRejected) as refused:
        map_row(mapping(), {**ROW, "When": "29/03/2026 01:30"})
    assert refused.value.errors[0].path == "When" and "does not exist" in refused.value.errors[0].message


def test_unparseable_timestamp_names_column_and_format_not_value() -> None:
    """A bad timestamp reports the column and the expected format, never the value."""
    with pytest.raises(RowRejected) as refused:
        map_row(mapping(), {**ROW, "When": "yesterday-ish"})
    error = refused.value.errors[0]
    assert error.path == "When" and "%d/%m/%Y %H:%M" in error.message and "yesterday" not in error.message


def test_value_map_miss_and_missing_required_field_reported_together() -> None:
    """One row reports every problem: an unknown code and a blank required column."""
    assert refused_paths({**ROW, "Offence": "ZZ", "Force": " "}) == ["Force", "Offence"]


def test_code_already_in_our_enum_passes_without_map_entry() -> None:
    """An agency that already writes our symbol needs no value-map entry."""
    assert map_row(mapping(), {**ROW, "Offence": "STALKING"}).record["details"]["offence_category"] == "STALKING"


def test_name_is_carried_as_person_name_for_hashing_and_unmapped_columns_dropped() -> None:
    """The name column becomes person_name (hashed by intake); columns not declared never reach the record."""
    record = map_row(mapping(), {**ROW, "Home Address": "1 Any Street", "Notes": "free text"}).record
    assert record["person_name"] == "Jane Roe"
    assert "Any Street" not in repr(record) and "free text" not in repr(record)


def test_address_column_can_never_be_mapped() -> None:
    """Declaring a rename from an address column is a configuration error."""
    with pytest.raises(MappingConfigError, match="address"):
        mapping(columns={**BASE["columns"], "Home Address": "location"})


def test_name_can_never_be_part_of_event_id() -> None:
    """A record key containing the name would put it in clear into the event id."""
    with pytest.raises(MappingConfigError, match="event id"):
        mapping(key=["person_name"])


@pytest.mark.parametrize(("changes", "message"), [
    ({"topic": "nope"}, "unknown topic"),
    ({"event_type": "BAIL_GRANTED"}, "not an event type of topic"),
    ({"kind": "em", "topic": "breach", "event_type": "BREACH_REPORTED", "columns": {}}, "cannot shape"),
    ({"columns": {"X": "shoe_size"}}, "not in the police vocabulary"),
    ({"timestamps": {"timezone": "Mars/Olympus"}}, "unknown timezone"),
    ({"applies_to": {}}, "applies_to"),
    ({"feed": "Bad Feed!"}, "feed must be"),
])
def test_malformed_mappings_are_refused(changes: dict, message: str) -> None:
    """Each kind of declaration mistake is reported with a clear message."""
    with pytest.raises(MappingConfigError, match=message):
        mapping(**changes)


def test_deterministic_event_id_and_hashing_of_long_keys() -> None:
    """The same row always gets the same id; an over-long key is hashed to stay within 128 characters."""
    first = map_row(mapping(), ROW).event_id
    assert first == map_row(mapping(), dict(ROW)).event_id == "met:test:R1"
    long_id = map_row(mapping(), {**ROW, "Ref": "R" * 200}).event_id
    assert len(long_id) <= 128 and long_id.startswith("met:test:sha256:")


def test_missing_key_and_no_person_identifier_are_row_errors() -> None:
    """A row without its record key or any person identifier is refused."""
    assert refused_paths({**ROW, "Ref": "", "PNC": ""}) == ["person_ids", "Ref"]


def test_sample_yaml_documents_the_dropped_address_columns() -> None:
    """The shipped police mapping lists its address columns under drop."""
    raw = yaml.safe_load((default_mappings_dir() / "met-incidents.yaml").read_text())
    assert {"Home Address", "Incident Address"} <= set(raw["drop"])
