"""The Confluent-framed Avro codec: framing, version resolution, interop with Apache avro, and its errors."""
from __future__ import annotations

import io
import json
import struct

import avro.io
import avro.schema
import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer

from schemas import avro_schemas as registry
from schemas.catalogue import details_schema_name
from schemas.codec import AvroCodec, CodecError, LocalSchemaIds, local_id_table, subject_for
from schemas.jsonform import from_json
from tests.samples.events import RECORD_SAMPLES, SAMPLES, sample

CODEC = AvroCodec()
LOCAL_IDS = {(e["topic"], e["version"]): e["id"] for e in local_id_table()}


def _write_with(topic: str, version: int, datum: dict) -> bytes:
    out = io.BytesIO()
    out.write(struct.pack(">bI", 0, LOCAL_IDS[(topic, version)]))
    schemaless_writer(out, parse_schema(registry.schema_for(topic, version)), datum)
    return out.getvalue()


def test_frame_is_magic_byte_then_big_endian_id_of_the_latest_schema():
    """Encoded bytes start with 0 and the 4-byte id of the topic's latest version from ids.json."""
    data = CODEC.encode("incident", from_json("incident", sample("incident", "ARREST")))
    assert data[0] == 0
    assert struct.unpack(">I", data[1:5])[0] == LOCAL_IDS[("incident", 2)] == CODEC.schema_id("incident")


def test_old_version_data_reads_as_the_latest_schema():
    """incident v1 bytes decode with the v2 reader schema: risk_level appears as null."""
    datum = from_json("incident", sample("incident", "DOMESTIC_INCIDENT", schema_version=1))
    del datum["details"]["risk_level"]
    datum["details"] = (details_schema_name("incident", "DOMESTIC_INCIDENT"), datum["details"])
    decoded = CODEC.decode(_write_with("incident", 1, datum), "incident")
    assert decoded["details"]["risk_level"] is None
    assert decoded["details"]["incident_ref"] == "WM-20261122-0457" and decoded["schema_version"] == 1


def test_details_branch_follows_event_type_even_when_shapes_are_identical():
    """OrderExpired and OrderDischarged have the same fields; the written branch is the one event_type names."""
    for event_type, branch in (("ORDER_EXPIRED", "OrderExpired"), ("ORDER_DISCHARGED", "OrderDischarged")):
        data = CODEC.encode("court", from_json("court", sample("court", event_type)))
        written = schemaless_reader(io.BytesIO(data[5:]), registry.parsed_schema("court"), None,
                                    return_record_name=True)
        assert written["details"][0] == f"drive.court.{branch}"


@pytest.mark.parametrize(("topic", "event_type"), sorted(SAMPLES))
def test_apache_avro_reads_what_the_codec_writes(topic, event_type):
    """The Avro body (after the 5-byte header) decodes with Apache avro to the same values as with the codec."""
    data = CODEC.encode(topic, from_json(topic, SAMPLES[(topic, event_type)]))
    schema = avro.schema.parse(json.dumps(registry.schema_for(topic)))
    value = avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(io.BytesIO(data[5:])))
    assert value == CODEC.decode(data)


@pytest.mark.parametrize("topic", sorted(RECORD_SAMPLES))
def test_apache_avro_reads_alert_delivery_and_dead_letter(topic):
    """Non-envelope records are interoperable too."""
    data = CODEC.encode(topic, from_json(topic, RECORD_SAMPLES[topic]))
    schema = avro.schema.parse(json.dumps(registry.schema_for(topic)))
    assert avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(io.BytesIO(data[5:]))) == CODEC.decode(data)


def test_codec_reads_what_apache_avro_writes():
    """Bytes written by Apache avro with a Confluent header decode with the codec."""
    expected = CODEC.decode(CODEC.encode("bail", from_json("bail", SAMPLES[("bail", "BAIL_VARIED")])))
    schema = avro.schema.parse(json.dumps(registry.schema_for("bail")))
    out = io.BytesIO()
    out.write(struct.pack(">bI", 0, LOCAL_IDS[("bail", 1)]))
    avro.io.DatumWriter(schema).write(expected, avro.io.BinaryEncoder(out))
    assert CODEC.decode(out.getvalue(), "bail") == expected


def test_bad_magic_byte_is_refused():
    """A first byte other than 0 is a CodecError naming the magic byte."""
    data = CODEC.encode("breach", from_json("breach", sample("breach", "EM_TAG_TAMPER")))
    with pytest.raises(CodecError, match="bad magic byte 1"):
        CODEC.decode(b"\x01" + data[1:])


def test_unknown_schema_id_is_refused():
    """An id that the id table does not know is a CodecError naming the id."""
    with pytest.raises(CodecError, match="unknown schema id 999"):
        CODEC.decode(struct.pack(">bI", 0, 999) + b"\x00")


@pytest.mark.parametrize("cut", [0, 3, 5, 6, 20, -1])
def test_truncated_data_is_refused(cut):
    """Any truncation of a record (header or body) is a CodecError, never a partial datum."""
    data = CODEC.encode("case", from_json("case", SAMPLES[("case", "VICTIM_LINKED")]))
    with pytest.raises(CodecError, match="truncated"):
        CODEC.decode(data[:cut])


def test_trailing_bytes_are_refused():
    """Bytes after the record mean the frame is not what it claims to be."""
    data = CODEC.encode("breach", from_json("breach", sample("breach", "EM_TAG_TAMPER")))
    with pytest.raises(CodecError, match="trailing"):
        CODEC.decode(data + b"\x00")


def test_data_of_another_topic_is_refused_when_a_topic_is_given():
    """Decoding bail bytes as the court topic is a CodecError."""
    data = CODEC.encode("bail", from_json("bail", sample("bail", "BAIL_EXPIRED")))
    with pytest.raises(CodecError, match="belongs to topic 'bail'"):
        CODEC.decode(data, "court")


def test_datum_that_does_not_fit_is_a_codec_error():
    """A datum with a wrong type or an event type without details record cannot be encoded."""
    datum = from_json("bail", sample("bail", "BAIL_EXPIRED"))
    with pytest.raises(CodecError, match="does not fit"):
        CODEC.encode("bail", {**datum, "schema_version": "one"})
    with pytest.raises(CodecError, match="no details record"):
        CODEC.encode("bail", {**datum, "event_type": "ARREST"})
    with pytest.raises(CodecError, match="unknown topic"):
        CODEC.encode("nope", datum)


def test_local_ids_refuse_a_changed_schema():
    """The local table gives no id to a schema that differs from every pinned version."""
    ids = LocalSchemaIds()
    schema = registry.schema_for("bail")
    assert ids.id_for(subject_for("bail"), schema) == LOCAL_IDS[("bail", 1)]
    schema["doc"] = "edited"
    with pytest.raises(CodecError, match="add a new version"):
        ids.id_for(subject_for("bail"), schema)
    with pytest.raises(KeyError):
        ids.schema_for_id(12345)


def test_prefix_changes_the_subject_not_the_bytes():
    """A codec with another topic prefix writes the same bytes (ids are per schema)."""
    datum = from_json("delivery", RECORD_SAMPLES["delivery"])
    assert AvroCodec(prefix="test.").encode("delivery", datum) == CODEC.encode("delivery", datum)
