"""Unit tests of name reduction at the door: the keyed name hash and the scrubbing of raw payloads."""
from __future__ import annotations

import json
import logging

import pytest
from pydantic import SecretStr

from connectors.intake.pseudonymise import NameHasher, normalise_name, reduce_record, scrub_raw

NAME = "Zebedee Quartermaine"


def test_same_normalised_name_gives_same_hash() -> None:
    """Case, repeated whitespace, accents and punctuation do not change the hash."""
    hasher = NameHasher(b"k1")
    assert hasher.hash_name("Zebedee  QUARTERMAINE") == hasher.hash_name("zebedee quartermaine")
    assert hasher.hash_name(" Zébédée\tQuarter-maine ") == hasher.hash_name("zebedee quarter maine")


def test_normalise_keeps_letters_only() -> None:
    """Normalisation keeps letters only (marks and apostrophes dropped, hyphens separate): the near-match key."""
    assert normalise_name("  O'Brien-Smith\n  ÅSA ") == "asa obrien"


def test_different_names_give_different_hashes() -> None:
    """Two different people do not share a hash."""
    hasher = NameHasher(b"k1")
    assert hasher.hash_name("Zebedee Quartermaine") != hasher.hash_name("Zebedee Quartermain")


def test_different_key_gives_different_hash() -> None:
    """The hash is keyed: another key gives another hash of the same name."""
    assert NameHasher(b"k1").hash_name(NAME) != NameHasher(b"k2").hash_name(NAME)


def test_secretstr_and_str_keys_are_the_same_key() -> None:
    """settings.name_hash_key (a SecretStr) hashes as its UTF-8 bytes."""
    assert NameHasher(SecretStr("k1")).hash_name(NAME) == NameHasher(b"k1").hash_name(NAME)


def test_hash_is_hex_sha256_and_never_the_name(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    """The result is 64 hex characters that do not contain the name, and hashing logs nothing of it."""
    caplog.set_level(logging.DEBUG)
    digest = NameHasher(b"k1").hash_name(NAME)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert "zebedee" not in digest.lower()
    captured = capsys.readouterr()
    assert "Zebedee" not in caplog.text + captured.out + captured.err
    assert "k1" not in repr(NameHasher(b"k1"))


def test_empty_key_refused() -> None:
    """An empty key would make the hash a plain digest: refused."""
    with pytest.raises(ValueError, match="must not be empty"):
        NameHasher(b"")


def test_reduce_record_replaces_person_name() -> None:
    """person_name becomes name_hash; the input record is not modified."""
    hasher = NameHasher(b"k1")
    record = {"event_id": "e1", "person_name": NAME}
    reduced = reduce_record(record, hasher)
    assert reduced == {"event_id": "e1", "name_hash": hasher.hash_name(NAME)}
    assert record["person_name"] == NAME


def test_scrub_raw_json_at_any_depth() -> None:
    """Parsed JSON: every person_name member, at any depth, becomes name_hash with the hash."""
    hasher = NameHasher(b"k1")
    raw = json.dumps({"person_name": NAME, "details": {"x": [{"person_name": "Ann Other"}]}}).encode()
    scrubbed = scrub_raw(raw, hasher)
    assert json.loads(scrubbed) == {"name_hash": hasher.hash_name(NAME),
                                    "details": {"x": [{"name_hash": hasher.hash_name("Ann Other")}]}}


def test_scrub_raw_keeps_bytes_without_names() -> None:
    """A payload without person_name is kept byte for byte."""
    raw = b'{ "event_id" :  "e1" }'
    assert scrub_raw(raw, NameHasher(b"k1")) == raw


def test_scrub_raw_broken_json_still_hashes_the_member() -> None:
    """JSON that does not parse still has its person_name member replaced."""
    hasher = NameHasher(b"k1")
    scrubbed = scrub_raw(b'{"person_name": "Zebedee Quartermaine", "event_id": ', hasher)
    assert NAME.encode() not in scrubbed
    assert f'"name_hash":"{hasher.hash_name(NAME)}"'.encode() in scrubbed


def test_scrub_raw_caller_given_names() -> None:
    """Clear names the caller knows of (a CSV column) are replaced by name_hash:<hash>."""
    hasher = NameHasher(b"k1")
    scrubbed = scrub_raw(f"PNC,2019/1,{NAME},1988-03-14".encode(), hasher, clear_names=[NAME])
    assert scrubbed == f"PNC,2019/1,name_hash:{hasher.hash_name(NAME)},1988-03-14".encode()
