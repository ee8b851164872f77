"""Unit tests of the intake decisions with a real SQLite journal, the real codec and an in-memory producer."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from kafka.errors import KafkaTimeoutError
from kafka.future import Future

from connectors.intake.describe import DESCRIPTION_TYPE
from connectors.intake.journal import Journal
from connectors.intake.pseudonymise import NameHasher
from connectors.intake.publisher import RecordPublisher
from connectors.intake.sealed import DeadLetterVault, Sealer
from connectors.intake.submit import Intake, IntakeUnavailable, Origin, canonical_json, record_key
from migrations import upgrade
from runtime.db import make_engine
from schemas.codec import AvroCodec
from schemas.errors import FieldError
from tests.samples.events import sample

PREFIX = "u."
NAME = "Zebedee Quartermaine"
POLICE = Origin("http", "police-wm", "POST /v1/topics/incident/events")


class MemoryProducer:
    """In-memory stand-in for KafkaProducer: records sends; flush acknowledges them; can refuse sends."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.sent: list[tuple[str, bytes, bytes]] = []
        self._unacked: list[Future] = []

    def send(self, topic: str, value: bytes, key: bytes) -> Future:
        if self.refuse:
            raise KafkaTimeoutError("broker unreachable")
        self.sent.append((topic, key, value))
        future = Future()
        self._unacked.append(future)
        return future

    def flush(self, timeout: float | None = None) -> None:
        for offset, future in enumerate(self._unacked, start=len(self.sent) - len(self._unacked)):
            future.success(SimpleNamespace(partition=0, offset=offset))
        self._unacked.clear()

    def on(self, topic: str) -> list[tuple[str, bytes, bytes]]:
        return [s for s in self.sent if s[0] == PREFIX + topic]


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    upgrade(url)
    return Journal(make_engine(url))


@pytest.fixture
def codec() -> AvroCodec:
    return AvroCodec(prefix=PREFIX)


@pytest.fixture
def hasher() -> NameHasher:
    return NameHasher(b"unit-test-key")


def make_intake(journal: Journal, codec: AvroCodec, hasher: NameHasher, producer: Any) -> Intake:
    vault = DeadLetterVault(journal.engine, Sealer(b"unit-test-dead-letter-key"), retention_days=30)
    return Intake(journal=journal, publisher=RecordPublisher(producer, codec, PREFIX), hasher=hasher, vault=vault,
                  prefix=PREFIX)


@pytest.fixture
def producer() -> MemoryProducer:
    return MemoryProducer()


@pytest.fixture
def intake(journal: Journal, codec: AvroCodec, hasher: NameHasher, producer: MemoryProducer) -> Intake:
    return make_intake(journal, codec, hasher, producer)


def incident(**overrides: Any) -> dict[str, Any]:
    """A valid DOMESTIC_INCIDENT as an integrator sends it (samples carry name_hash, which integrators never send)."""
    record = sample("incident", "DOMESTIC_INCIDENT", **overrides)
    if "name_hash" not in overrides:
        record.pop("name_hash", None)
    return record


def dead_letters(producer: MemoryProducer, codec: AvroCodec) -> list[dict[str, Any]]:
    return [codec.decode(value) for _, _, value in producer.on("dead-letter")]


def sealed_raw(intake: Intake, letter: dict[str, Any]) -> bytes:
    """The raw bytes a dead letter keeps sealed in the vault (its raw field holds only a description)."""
    found = intake.vault.open(letter["dead_letter_id"])
    assert found is not None
    return found.data


def test_accepted_record_is_journaled_published_and_marked(intake: Intake, producer: MemoryProducer,
                                                            codec: AvroCodec, journal: Journal) -> None:
    """A valid record is accepted, sent once keyed by its first person id, and marked published after the ack."""
    record = incident()
    outcome = intake.submit("incident", record, POLICE)
    assert (outcome.status, outcome.event_id, outcome.errors) == ("accepted", record["event_id"], ())
    [(topic, key, value)] = producer.sent
    assert (topic, key) == ("u.incident", b"PNC:2019/0012345A")
    assert codec.decode(value)["event_id"] == record["event_id"]
    assert journal.count(pending_only=True) == 1
    intake.flush()
    assert journal.count(pending_only=True) == 0
    assert journal.get(record["event_id"], "police-wm").value == value


def test_person_name_is_hashed_before_anything_is_kept(intake: Intake, producer: MemoryProducer, codec: AvroCodec,
                                                        hasher: NameHasher, journal: Journal,
                                                        caplog: pytest.LogCaptureFixture,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """person_name becomes name_hash; the clear name is in no published bytes, journal row or log line."""
    caplog.set_level(logging.DEBUG)
    good = incident(person_name=NAME)
    bad = incident(person_name=NAME, details__force_area=7)
    assert intake.submit("incident", good, POLICE).status == "accepted"
    assert intake.submit("incident", bad, POLICE, raw=json.dumps(bad).encode()).status == "rejected"
    assert intake.submit("incident", bad, POLICE).status == "rejected"
    assert codec.decode(producer.on("incident")[0][2])["name_hash"] == hasher.hash_name(NAME)
    for _, key, value in producer.sent:
        assert NAME.encode() not in key + value
    for letter in dead_letters(producer, codec):
        assert json.loads(sealed_raw(intake, letter))["name_hash"] == hasher.hash_name(NAME)
        assert NAME.encode() not in letter["raw"] and letter["content_type"] == DESCRIPTION_TYPE
    for entry in journal.all_in_order():
        assert NAME.encode() not in entry.value and NAME not in entry.location
    captured = capsys.readouterr()
    assert NAME not in caplog.text + captured.out + captured.err


def test_duplicate_publishes_nothing(intake: Intake, producer: MemoryProducer) -> None:
    """The same event_id with the same content (even re-spelled timestamps) is a duplicate and sends nothing."""
    record = incident()
    assert intake.submit("incident", record, POLICE).status == "accepted"
    respelled = {**record, "occurred_at": record["occurred_at"].replace("Z", "+00:00")}
    outcome = intake.submit("incident", respelled, POLICE)
    assert (outcome.status, outcome.event_id) == ("duplicate", record["event_id"])
    assert len(producer.sent) == 1


def test_conflict_is_dead_lettered(intake: Intake, producer: MemoryProducer, codec: AvroCodec) -> None:
    """The same event_id with other content is a conflict: refused and dead-lettered with the reason."""
    record = incident()
    intake.submit("incident", record, POLICE)
    outcome = intake.submit("incident", incident(event_id=record["event_id"], details__injury=False), POLICE)
    assert outcome.status == "conflict"
    assert (outcome.reason, outcome.code) == ("event_id reused with different content", "EVENT_ID_CONFLICT")
    assert outcome.errors == (FieldError("event_id", "already used by this agency for a different record"),)
    assert len(producer.on("incident")) == 1
    [letter] = dead_letters(producer, codec)
    assert letter["reason"] == "EVENT_ID_CONFLICT"
    assert letter["errors"] == [{"path": "event_id", "message": "already used by this agency for a different record"}]
    assert letter["intended_topic"] == "incident"


def test_invalid_record_rejected_with_paths_and_dead_letter(intake: Intake, producer: MemoryProducer,
                                                             codec: AvroCodec) -> None:
    """A record breaking the contract is rejected naming the field; its raw bytes go to the dead-letter topic."""
    record = incident(details__offence_category="FIGHTING")
    raw = json.dumps(record).encode()
    outcome = intake.submit("incident", record, POLICE, raw=raw)
    assert outcome.status == "rejected" and outcome.event_id == record["event_id"]
    assert [e.path for e in outcome.errors] == ["details.offence_category"]
    assert producer.on("incident") == []
    [letter] = dead_letters(producer, codec)
    assert sealed_raw(intake, letter) == raw
    assert letter["reason"] == "VALIDATION_FAILED"
    assert letter["source"] == {"connector": "http", "agency": "police-wm", "location": POLICE.location}
    assert letter["errors"] == [{"path": e.path, "message": e.message} for e in outcome.errors]


def test_source_agency_must_be_the_sender(intake: Intake, producer: MemoryProducer) -> None:
    """A record claiming another agency than its origin is refused at source.agency."""
    outcome = intake.submit("incident", incident(), Origin("http", "court-x", "here"))
    assert outcome.status == "rejected"
    assert outcome.errors == (FieldError("source.agency", "must be the sending agency 'court-x'"),)
    assert producer.on("incident") == []


def test_sent_name_hash_refused(intake: Intake) -> None:
    """Integrators send person_name, never name_hash."""
    outcome = intake.submit("incident", incident(name_hash="ab" * 32), POLICE)
    assert outcome.errors == (FieldError("name_hash", "must not be sent: send person_name, it is hashed at the door"),)


def test_unknown_topic_and_non_object(intake: Intake, producer: MemoryProducer, codec: AvroCodec) -> None:
    """Only source topics take records, and only JSON objects."""
    assert intake.submit("alert", incident(), POLICE).errors == (FieldError("", "unknown topic"),)
    assert intake.submit("incident", ["x"], POLICE).errors == (FieldError("", "must be a JSON object"),)
    assert [d["reason"] for d in dead_letters(producer, codec)] == ["UNKNOWN_TOPIC", "NOT_AN_OBJECT"]


def test_keys_of_case_and_staff() -> None:
    """case records are keyed by subject id; staff by staff:<staff_id>; others by SCHEME:value."""
    assert record_key("case", sample("case", "CASE_OPENED")) == "DRV-000123"
    assert record_key("case", sample("case", "STAFF_UPDATED")) == "staff:staff-dm-01"
    assert record_key("court", sample("court", "HEARING_LISTED")) == "COURT_DEFENDANT:DEF-55102"


def test_refuse_dead_letters_unparsed_input(intake: Intake, producer: MemoryProducer, codec: AvroCodec,
                                            hasher: NameHasher) -> None:
    """refuse() dead-letters bytes that never parsed, with the human reason and names hashed."""
    origin = Origin("filedrop", "police-wm", "police-wm/incoming/x.csv#row=3")
    outcome = intake.refuse(origin, f"PNC,{NAME},oops".encode(), "row has 3 columns, expected 9",
                            topic="incident", content_type="text/csv", clear_names=[NAME])
    assert (outcome.status, outcome.reason) == ("rejected", "row has 3 columns, expected 9")
    [letter] = dead_letters(producer, codec)
    assert sealed_raw(intake, letter) == f"PNC,name_hash:{hasher.hash_name(NAME)},oops".encode()
    assert NAME.encode() not in letter["raw"] and json.loads(letter["raw"])["cells"][1]["length"] == len(NAME)
    assert letter["reason"] == "UNPARSEABLE"
    assert letter["errors"] == [{"path": "", "message": "row has 3 columns, expected 9"}]
    assert (letter["content_type"], letter["intended_topic"]) == (DESCRIPTION_TYPE, "incident")


def test_unpublished_row_is_republished_exactly_once(journal: Journal, codec: AvroCodec, hasher: NameHasher) -> None:
    """A row journaled while the producer failed is sent by the next intake's republish_pending, once."""
    record = incident()
    crashed = make_intake(journal, codec, hasher, MemoryProducer(refuse=True))
    assert crashed.submit("incident", record, POLICE).status == "accepted"
    assert journal.count(pending_only=True) == 1
    producer = MemoryProducer()
    restarted = make_intake(journal, codec, hasher, producer)
    assert restarted.republish_pending() == 1
    assert restarted.republish_pending() == 0
    assert [codec.decode(v)["event_id"] for _, _, v in producer.sent] == [record["event_id"]]
    assert journal.count(pending_only=True) == 0
    assert restarted.submit("incident", record, POLICE).status == "duplicate"


def test_canonical_json_is_order_independent() -> None:
    """The content hash input does not depend on key order."""
    assert canonical_json({"a": 1, "b": [1, 2]}) == canonical_json({"b": [1, 2], "a": 1})


class PickyCodec(AvroCodec):
    """The real codec, failing the way an unforeseen input would (OverflowError) for one event id."""

    def __init__(self, poison: str) -> None:
        super().__init__(prefix=PREFIX)
        self.poison = poison

    def encode(self, topic: str, datum: Any) -> bytes:
        if isinstance(datum, dict) and datum.get("event_id") == self.poison:
            raise OverflowError("date value out of range")
        return super().encode(topic, datum)


def test_an_unexpected_failure_refuses_that_record_only(journal: Journal, hasher: NameHasher,
                                                        producer: MemoryProducer) -> None:
    """A record the intake fails to process for an unforeseen reason is refused PROCESSING_FAILED (dead letter,
    replayable) instead of raising; the next record is accepted."""
    poison, fine = incident(), incident()
    intake = make_intake(journal, PickyCodec(poison["event_id"]), hasher, producer)
    outcome = intake.submit("incident", poison, POLICE)
    assert (outcome.status, outcome.code) == ("rejected", "PROCESSING_FAILED")
    assert "OverflowError" in (outcome.reason or "")
    assert intake.submit("incident", fine, POLICE).status == "accepted"
    [letter] = dead_letters(producer, PickyCodec(""))
    assert letter["reason"] == "PROCESSING_FAILED" and json.loads(sealed_raw(intake, letter)) == poison


def test_a_database_that_cannot_be_reached_is_unavailable_not_a_refusal(tmp_path: Path, codec: AvroCodec,
                                                                        hasher: NameHasher,
                                                                        producer: MemoryProducer) -> None:
    """The journal's database missing: IntakeUnavailable (the HTTP intake answers 503), and no dead letter."""
    journal = Journal(sa.create_engine(f"sqlite:///{tmp_path}/missing/dir/x.db"))
    with pytest.raises(IntakeUnavailable):
        make_intake(journal, codec, hasher, producer).submit("incident", incident(), POLICE)
    assert producer.sent == []
