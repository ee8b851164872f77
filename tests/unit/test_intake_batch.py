"""Unit tests of Intake.submit_many (group commit) with a real SQLite journal, the real codec and an in-memory producer."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.intake.journal import Journal
from connectors.intake.pseudonymise import NameHasher
from connectors.intake.submit import Intake, IntakeOutcome, IntakeUnavailable, Submission
from schemas.codec import AvroCodec
from tests.unit.test_intake import (  # noqa: F401 - fixtures
    POLICE,
    MemoryProducer,
    PickyCodec,
    codec,
    dead_letters,
    hasher,
    incident,
    intake,
    journal,
    make_intake,
    producer,
)


def commits_during(intake: Intake, journal: Journal, work: Any) -> tuple[Any, int]:
    """work()'s result and how many transactions were committed on the journal's engine meanwhile (after the
    journal's housekeeping has run, so that its prune is not counted)."""
    intake.flush()
    count = 0

    def counted(_conn: sa.Connection) -> None:
        nonlocal count
        count += 1

    sa.event.listen(journal.engine, "commit", counted)
    try:
        return work(), count
    finally:
        sa.event.remove(journal.engine, "commit", counted)


def test_a_batch_is_journaled_in_one_commit_and_published_in_journal_order(
        intake: Intake, journal: Journal, producer: MemoryProducer, codec: AvroCodec) -> None:
    """Fifty good records: one commit for all of them, then fifty sends in journal (seq) order."""
    records = [incident() for _ in range(50)]
    outcomes, commits = commits_during(intake, journal, lambda: intake.submit_many(
        [Submission("incident", record, POLICE) for record in records]))
    assert [o.status for o in outcomes] == ["accepted"] * 50
    assert commits == 1
    sent = [codec.decode(value)["event_id"] for _, _, value in producer.on("incident")]
    by_seq = sorted(records, key=lambda r: journal.get(r["event_id"], "police-wm").seq)
    assert sent == [r["event_id"] for r in by_seq] == [r["event_id"] for r in records]


def test_a_refused_record_costs_only_itself(intake: Intake, journal: Journal, producer: MemoryProducer,
                                            codec: AvroCodec) -> None:
    """Invalid record and a pre-refused item in the middle of a batch: each is refused (dead letter), the
    records around them are accepted, and every outcome keeps its place."""
    good, bad, later = incident(), incident(details__force_area=7), incident()
    refused_before = intake.refuse(POLICE, b"{not json", "the record is not JSON")
    outcomes = intake.submit_many([Submission("incident", good, POLICE), Submission("incident", bad, POLICE),
                                   refused_before, Submission("incident", later, POLICE)])
    assert [o.status for o in outcomes] == ["accepted", "rejected", "rejected", "accepted"]
    assert outcomes[1].event_id == bad["event_id"] and outcomes[1].code == "VALIDATION_FAILED"
    assert outcomes[2] is refused_before
    assert {codec.decode(v)["event_id"] for _, _, v in producer.on("incident")} == {good["event_id"], later["event_id"]}
    assert {letter["reason"] for letter in dead_letters(producer, codec)} == {"VALIDATION_FAILED", "UNPARSEABLE"}
    assert journal.get(bad["event_id"], "police-wm") is None


def test_a_repeat_within_a_batch_is_a_duplicate_and_a_changed_one_a_conflict(
        intake: Intake, journal: Journal, producer: MemoryProducer, codec: AvroCodec) -> None:
    """The same event_id twice in one batch: the second is a duplicate (same content, not sent again) or a
    conflict (different content, dead-lettered); the journal holds one row."""
    first = incident()
    changed = {**first, "occurred_at": "2024-01-01T00:00:00Z"}
    outcomes = intake.submit_many([Submission("incident", first, POLICE), Submission("incident", dict(first), POLICE),
                                   Submission("incident", changed, POLICE)])
    assert [(o.status, o.event_id) for o in outcomes] == [
        ("accepted", first["event_id"]), ("duplicate", first["event_id"]), ("conflict", first["event_id"])]
    assert outcomes[2].code == "EVENT_ID_CONFLICT"
    assert len(producer.on("incident")) == 1
    assert [letter["reason"] for letter in dead_letters(producer, codec)] == ["EVENT_ID_CONFLICT"]
    with journal.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT count(*) FROM intake_journal WHERE event_id = :e"),
                            {"e": first["event_id"]}).scalar_one()
    assert rows == 1


def test_a_batch_repeating_an_earlier_record_gets_duplicate(intake: Intake, producer: MemoryProducer) -> None:
    """A record journaled by an earlier request is a duplicate inside a later batch (dedupe across batches)."""
    earlier = incident()
    assert intake.submit("incident", earlier, POLICE).status == "accepted"
    outcomes = intake.submit_many([Submission("incident", incident(), POLICE), Submission("incident", earlier, POLICE)])
    assert [o.status for o in outcomes] == ["accepted", "duplicate"]
    assert len(producer.on("incident")) == 2


def test_a_record_that_fails_to_process_in_a_batch_costs_only_itself(
        journal: Journal, hasher: NameHasher, producer: MemoryProducer) -> None:
    """An unforeseen failure (here: the codec) refuses that record PROCESSING_FAILED; the others are accepted."""
    poison, fine = incident(), incident()
    intake = make_intake(journal, PickyCodec(poison["event_id"]), hasher, producer)
    outcomes = intake.submit_many([Submission("incident", poison, POLICE), Submission("incident", fine, POLICE)])
    assert [(o.status, o.code) for o in outcomes] == [("rejected", "PROCESSING_FAILED"), ("accepted", None)]


def test_a_row_the_database_refuses_costs_only_itself(intake: Intake, journal: Journal,
                                                      producer: MemoryProducer, codec: AvroCodec) -> None:
    """The database refuses one row of the batch (a trigger here): the batch is journaled row by row instead,
    that row is refused PROCESSING_FAILED (dead letter) and the rows around it are accepted."""
    before, poison, after = incident(), incident(), incident()
    with journal.engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TRIGGER poison BEFORE INSERT ON intake_journal WHEN NEW.event_id = "
                             f"'{poison['event_id']}' BEGIN SELECT RAISE(ABORT, 'refused by the database'); END"))
    outcomes = intake.submit_many([Submission("incident", r, POLICE) for r in (before, poison, after)])
    assert [(o.status, o.code) for o in outcomes] == [("accepted", None), ("rejected", "PROCESSING_FAILED"),
                                                      ("accepted", None)]
    assert [codec.decode(v)["event_id"] for _, _, v in producer.on("incident")] == [before["event_id"],
                                                                                      after["event_id"]]
    assert [letter["reason"] for letter in dead_letters(producer, codec)] == ["PROCESSING_FAILED"]


def test_a_batch_when_the_database_cannot_be_reached_is_unavailable(tmp_path: Path, codec: AvroCodec,
                                                                    hasher: NameHasher,
                                                                    producer: MemoryProducer) -> None:
    """No database: IntakeUnavailable for the whole batch (the HTTP intake answers 503); nothing is sent."""
    journal = Journal(sa.create_engine(f"sqlite:///{tmp_path}/missing/dir/x.db"))
    with pytest.raises(IntakeUnavailable):
        make_intake(journal, codec, hasher, producer).submit_many(
            [Submission("incident", incident(), POLICE), Submission("incident", incident(), POLICE)])
    assert producer.sent == []


def test_outcomes_passed_through_alone_need_no_database(intake: Intake, journal: Journal) -> None:
    """A batch of only already-refused items journals nothing more."""
    refused = IntakeOutcome("rejected", None, (), "unreadable", "UNPARSEABLE")
    outcomes, commits = commits_during(intake, journal, lambda: intake.submit_many([refused]))
    assert outcomes == [refused] and commits == 0
