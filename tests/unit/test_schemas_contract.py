"""The .avsc files, the catalogue and the schema loader agree with each other and with the contract's rules."""
from __future__ import annotations

import json

import avro.schema
import fastavro
import pytest

from schemas import avro_schemas as registry
from schemas._schemawalk import named_types, resolve, type_name
from schemas.catalogue import EVENT_TYPES, SOURCE_TOPICS, TOPICS, details_schema_name, topic_name
from schemas.codec import local_id_table

ALL_VERSIONS = [(topic, version) for topic in TOPICS for version in registry.versions(topic)]


def _fields(schema):
    for _, (definition, _) in named_types(schema).items():
        if definition["type"] == "record":
            for field in definition["fields"]:
                yield definition["name"], field


def test_every_topic_has_a_value_schema_and_incident_has_two_versions():
    """Every catalogue topic ships at least v1, and incident ships v1 and v2."""
    assert all(registry.versions(topic)[0] == 1 for topic in TOPICS)
    assert registry.versions("incident") == [1, 2]
    assert {t: registry.latest_version(t) for t in TOPICS if t != "incident"} == {t: 1 for t in TOPICS if t != "incident"}


@pytest.mark.parametrize(("topic", "version"), ALL_VERSIONS)
def test_resolved_schema_parses_with_fastavro_and_apache_avro(topic, version):
    """The fully resolved schema is standalone: both fastavro and the Apache avro library parse it."""
    schema = registry.schema_for(topic, version)
    fastavro.parse_schema(schema)
    parsed = avro.schema.parse(json.dumps(schema))
    assert parsed.fullname == TOPICS[topic].value_schema


@pytest.mark.parametrize(("topic", "version"), ALL_VERSIONS)
def test_every_record_and_field_has_a_doc(topic, version):
    """Every record, field and enum carries a non-empty doc."""
    schema = registry.schema_for(topic, version)
    for name, (definition, _) in named_types(schema).items():
        assert definition.get("doc"), name
    for record, field in _fields(schema):
        assert field.get("doc"), f"{record}.{field['name']}"


@pytest.mark.parametrize(("topic", "version"), ALL_VERSIONS)
def test_enums_have_defaults_and_optional_fields_default_sensibly(topic, version):
    """Enums name a default symbol; nullable fields default to null and arrays to []."""
    schema = registry.schema_for(topic, version)
    names = named_types(schema)
    for name, (definition, _) in names.items():
        if definition["type"] == "enum":
            assert definition.get("default") in definition["symbols"], name
    for record, field in _fields(schema):
        node, _ = resolve(field["type"], None, names)
        if type_name(node) == "union" and "null" in node:
            assert node[0] == "null" and field.get("default", "missing") is None, f"{record}.{field['name']}"
        if type_name(node) == "array":
            assert field.get("default") == [], f"{record}.{field['name']}"


@pytest.mark.parametrize(("topic", "version"), ALL_VERSIONS)
def test_time_fields_use_logical_types(topic, version):
    """Fields ending _at or until are timestamp-millis longs; date_of_birth is a date int."""
    for record, field in _fields(registry.schema_for(topic, version)):
        node = field["type"][1] if isinstance(field["type"], list) else field["type"]
        if field["name"].endswith("_at") or field["name"] in ("at", "until"):
            assert node == {"type": "long", "logicalType": "timestamp-millis"}, f"{record}.{field['name']}"
        if field["name"] == "date_of_birth":
            assert node == {"type": "int", "logicalType": "date"}


def test_incident_v2_adds_only_an_optional_risk_level():
    """incident v2 differs from v1 only by DomesticIncident.risk_level, nullable with default null."""
    v1, v2 = registry.schema_for("incident", 1), registry.schema_for("incident", 2)
    di1, di2 = (named_types(s)["drive.incident.DomesticIncident"][0] for s in (v1, v2))
    assert [f["name"] for f in di2["fields"]] == [f["name"] for f in di1["fields"]] + ["risk_level"]
    risk = di2["fields"][-1]
    assert risk["default"] is None and risk["type"][0] == "null"
    assert risk["type"][1]["symbols"] == ["STANDARD", "MEDIUM", "HIGH", "UNKNOWN"]


@pytest.mark.parametrize("topic", SOURCE_TOPICS)
def test_event_types_match_the_event_type_enum_and_details_union(topic):
    """EVENT_TYPES lists exactly the event_type symbols (less UNKNOWN), each naming a branch of details."""
    schema = registry.schema_for(topic)
    fields = {f["name"]: f for f in schema["fields"]}
    symbols = fields["event_type"]["type"]["symbols"]
    assert list(EVENT_TYPES[topic]) + ["UNKNOWN"] == symbols
    branches = {f"{schema['namespace']}.{b['name']}" for b in fields["details"]["type"]}
    assert {details_schema_name(topic, t) for t in EVENT_TYPES[topic]} == branches


def test_catalogue_provisioning_settings():
    """Source topics have 6 partitions and 30 days; case is compacted forever; dead-letter has 3 partitions."""
    month = 30 * 24 * 3600 * 1000
    for topic in ("incident", "bail", "court", "breach"):
        spec = TOPICS[topic]
        assert (spec.partitions, spec.retention_ms, spec.compacted) == (6, month, False)
    assert (TOPICS["case"].retention_ms, TOPICS["case"].compacted) == (None, True)
    assert (TOPICS["dead-letter"].partitions, TOPICS["dead-letter"].retention_ms) == (3, month)
    assert TOPICS["alert"].retention_ms == TOPICS["delivery"].retention_ms == 365 * 24 * 3600 * 1000
    assert topic_name("dead-letter") == "drive.dead-letter" and topic_name("case", prefix="t.") == "t.case"
    with pytest.raises(KeyError):
        topic_name("nope")


def test_local_ids_are_unique_and_cover_every_version():
    """ids.json gives every (topic, version) exactly one id, and no id twice."""
    table = local_id_table()
    assert len({e["id"] for e in table}) == len(table)
    assert sorted((e["topic"], e["version"]) for e in table) == sorted(ALL_VERSIONS)


@pytest.mark.parametrize(("topic", "version"), ALL_VERSIONS)
def test_published_schemas_are_frozen(topic, version):
    """A published (topic, version) still has the exact schema pinned in ids.json: change means a new version."""
    pinned = {(e["topic"], e["version"]): e["sha256"] for e in local_id_table()}
    assert registry.schema_fingerprint(topic, version) == pinned[(topic, version)]


def test_schema_for_returns_an_independent_copy():
    """Mutating a returned schema does not change what the registry hands out next."""
    schema = registry.schema_for("bail")
    schema["fields"].clear()
    assert registry.schema_for("bail")["fields"]


def test_unknown_topic_or_version_is_refused():
    """Asking for a topic or version that does not exist raises KeyError."""
    with pytest.raises(KeyError):
        registry.versions("nope")
    with pytest.raises(KeyError):
        registry.schema_for("bail", 9)
