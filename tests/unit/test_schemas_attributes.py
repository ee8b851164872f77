"""The drive.* attributes of the .avsc files: complete (every string and array bounded), consistent, never published."""
from __future__ import annotations

import re
import sys
import unicodedata

import pytest

from schemas import avro_schemas as registry
from schemas._schemawalk import named_types, resolve, type_name
from schemas.catalogue import TOPICS
from schemas.formats import FORBIDDEN_CHARACTERS, code_list, formats

ALL_VERSIONS = [(topic, version) for topic in TOPICS for version in registry.versions(topic)]
KNOWN = {"drive.format", "drive.maxLength", "drive.minLength", "drive.minimum", "drive.maximum", "drive.rangeMessage",
         "drive.minItems", "drive.maxItems", "drive.minItemsUnless", "drive.minItemsMessage", "drive.eventTime"}
RECORD_KNOWN = {"drive.formatBy", "drive.requiredWhen"}


def _fields(schema):
    names = named_types(schema)
    for name, (definition, namespace) in names.items():
        if definition["type"] == "record":
            for field in definition["fields"]:
                node, _ = resolve(field["type"], namespace, names)
                if type_name(node) == "union":
                    (branch, *more) = [b for b in node if b != "null"]
                    node = resolve(branch, namespace, names)[0] if not more else node
                yield definition, field, node, names, namespace


@pytest.mark.parametrize(("topic", "version"), ALL_VERSIONS)
def test_every_string_and_array_is_bounded(topic, version):
    """Each string field has a format or a maximum length, each array a maximum item count."""
    for record, field, node, names, namespace in _fields(registry.annotated_schema(topic, version)):
        where = f"{record['name']}.{field['name']}"
        by = record.get("drive.formatBy")
        items = type_name(node) == "array" and type_name(resolve(node["items"], namespace, names)[0]) or None
        if type_name(node) == "string" or items == "string":
            formatted = by and by["target"] == field["name"]
            assert "drive.format" in field or "drive.maxLength" in field or formatted, where
        if type_name(node) == "array":
            assert "drive.maxItems" in field, where


@pytest.mark.parametrize(("topic", "version"), ALL_VERSIONS)
def test_attributes_are_known_and_refer_to_real_things(topic, version):
    """Only the documented attributes appear; formats exist; formatBy/requiredWhen name real fields and symbols."""
    schema = registry.annotated_schema(topic, version)
    for record, field, node, names, namespace in _fields(schema):
        assert {k for k in field if k.startswith("drive.")} <= KNOWN, field["name"]
        if "drive.format" in field:
            assert field["drive.format"] in formats()
        if "drive.maximum" in field and field["name"] == "schema_version":
            assert field["drive.maximum"] == version
    for name, (definition, namespace) in named_types(schema).items():
        assert {k for k in definition if k.startswith("drive.")} <= RECORD_KNOWN, name
        fields = {f["name"]: f for f in definition.get("fields", ())}
        for rule in (definition.get("drive.formatBy"), definition.get("drive.requiredWhen")):
            if rule is None:
                continue
            symbols = resolve(fields[rule["field"]]["type"], namespace, named_types(schema))[0]["symbols"]
            cases = rule.get("formats") or rule.get("cases")
            assert set(cases) <= set(symbols), name
            if "formats" in rule:
                assert rule["target"] in fields and set(cases.values()) | {rule["default"]} <= set(formats())
                assert list(fields).index(rule["field"]) < list(fields).index(rule["target"])
            else:
                assert all(needed in fields for needed_list in cases.values() for needed in needed_list)


def _keys(node):
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in _keys(v)}
    if isinstance(node, list):
        return {k for v in node for k in _keys(v)}
    return set()


@pytest.mark.parametrize(("topic", "version"), ALL_VERSIONS)
def test_published_schemas_carry_no_drive_attributes(topic, version):
    """schema_for (fingerprints, codec, registry) sees no drive.* key; the annotated schema does."""
    assert not [k for k in _keys(registry.schema_for(topic, version)) if k.startswith("drive.")]
    assert {"drive.format", "drive.maxLength"} & _keys(registry.annotated_schema(topic, version))
    assert registry.strip_attributes(registry.annotated_schema(topic, version)) == registry.schema_for(topic, version)


@pytest.mark.parametrize("name", sorted(formats()))
def test_each_format_documents_itself_with_an_example_that_fits(name):
    """Every format has a doc, a maximum length and an example it accepts."""
    spec = formats()[name]
    assert spec["doc"] and spec["maxLength"] and len(spec["example"]) <= spec["maxLength"]
    if "pattern" in spec:
        assert re.fullmatch(spec["pattern"], spec["example"])
    if "codes" in spec:
        assert spec["example"] in {entry["code"] for entry in code_list(spec["codes"])}


def test_force_areas_list_the_43_territorial_forces_once():
    """43 territorial forces of England and Wales (ONS E23/W15 codes) and the national forces, no code twice."""
    entries = code_list("force-areas.json")
    codes = [entry["code"] for entry in entries]
    territorial = [e for e in entries if e["kind"] == "territorial"]
    assert len(codes) == len(set(codes)) and len(territorial) == 43
    assert all(re.fullmatch(r"E230000(0[1-9]|[12][0-9]|3[0-9])|W1500000[1-4]", e["code"]) for e in territorial)
    assert {"BTP", "MDP", "CNC"} <= set(codes) and all(len(c) <= formats()["force_area"]["maxLength"] for c in codes)


def test_forbidden_characters_are_exactly_control_format_and_separator_characters():
    """The character check refuses every Cc, Cf, Zl, Zp and Cs code point and nothing assigned to another category."""
    wanted = {"Cc", "Cf", "Zl", "Zp", "Cs"}
    for code_point in range(sys.maxunicode + 1):
        char = chr(code_point)
        category = unicodedata.category(char)
        refused = FORBIDDEN_CHARACTERS.match(char) is not None
        if category in wanted:
            assert refused, f"U+{code_point:04X} {category}"
        elif refused:
            assert category == "Cn", f"U+{code_point:04X} {category}"  # newer Unicode: format chars this DB lacks
