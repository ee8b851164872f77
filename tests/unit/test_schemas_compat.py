"""Schema evolution: every version reads all older versions' data, and the checker catches real breaks."""
from __future__ import annotations

import copy
from itertools import combinations

import pytest

from schemas import avro_schemas as registry
from schemas._schemawalk import named_types
from schemas.catalogue import TOPICS
from schemas.compat import compatibility_problems, example_datums

PAIRS = [(topic, old, new) for topic in TOPICS for old, new in combinations(registry.versions(topic), 2)]
SAME = [(topic, version) for topic in TOPICS for version in registry.versions(topic)]


@pytest.mark.parametrize(("topic", "old", "new"), PAIRS)
def test_every_version_reads_data_of_every_older_version(topic, old, new):
    """Data written with an older version reads unchanged with a newer one."""
    assert compatibility_problems(registry.schema_for(topic, old), registry.schema_for(topic, new)) == []


@pytest.mark.parametrize(("topic", "version"), SAME)
def test_each_version_reads_its_own_data(topic, version):
    """A schema is compatible with itself (the checker has no false alarms)."""
    schema = registry.schema_for(topic, version)
    assert compatibility_problems(schema, schema) == []


def test_example_data_covers_every_details_branch_and_enum_symbol():
    """The generated data uses every details branch of court and every OrderType symbol."""
    datums = example_datums(registry.schema_for("court"))
    branches = {d["details"][0] for d in datums}
    assert branches == {f"drive.court.{b['name']}" for b in registry.schema_for("court")["fields"][-1]["type"]}
    order_types = {d["details"][1]["order_type"] for d in datums if d["details"][0] == "drive.court.OrderIssued"}
    assert order_types == {"DVPN", "DVPO", "DAPO", "NON_MOLESTATION", "RESTRAINING", "STALKING_PROTECTION", "OTHER"}


def _latest_incident_with(change) -> dict:
    schema = registry.schema_for("incident")
    broken = copy.deepcopy(schema)
    change(named_types(broken))
    return broken


def test_checker_catches_a_required_field_added_without_default():
    """A new field with no default cannot be filled from old data."""
    def add_field(names):
        names["drive.incident.DomesticIncident"][0]["fields"].append(
            {"name": "officer_id", "type": "string", "doc": "new"})
    problems = compatibility_problems(registry.schema_for("incident"), _latest_incident_with(add_field))
    assert problems == ["cannot resolve: No default value for field officer_id in drive.incident.DomesticIncident"]


def test_checker_catches_an_enum_symbol_removed():
    """A removed symbol would silently become the enum default: the checker reports the changed value."""
    def drop_symbol(names):
        names["drive.common.OffenceCategory"][0]["symbols"].remove("STALKING")
    problems = compatibility_problems(registry.schema_for("incident"), _latest_incident_with(drop_symbol))
    assert problems and all("wrote 'STALKING', read 'OTHER'" in p for p in problems)


def test_checker_catches_a_changed_field_type():
    """Changing a field from boolean to string cannot be resolved."""
    def retype(names):
        fields = names["drive.incident.DomesticIncident"][0]["fields"]
        next(f for f in fields if f["name"] == "injury")["type"] = "string"
    problems = compatibility_problems(registry.schema_for("incident"), _latest_incident_with(retype))
    assert len(problems) == 1 and problems[0].startswith("cannot resolve")


def test_checker_catches_a_removed_union_branch():
    """Dropping a details record makes old events of that type unreadable."""
    schema = registry.schema_for("breach")
    broken = copy.deepcopy(schema)
    broken["fields"][-1]["type"] = [b for b in broken["fields"][-1]["type"] if b["name"] != "EmTagTamper"]
    assert compatibility_problems(schema, broken)
