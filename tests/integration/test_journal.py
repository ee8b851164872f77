"""Integration tests of the intake journal on SQLite and PostgreSQL, and of republishing after a crash."""
from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.intake.journal import Journal, JournalEntry
from connectors.intake.submit import Origin, build_intake
from migrations import upgrade
from runtime.db import make_engine
from runtime.kafka import make_producer
from runtime.topics import ensure_topics
from schemas.catalogue import TOPICS
from schemas.codec import AvroCodec
from tests.kafka_helpers import read_topic
from tests.samples.events import sample

pytestmark = pytest.mark.integration
ORIGIN = Origin("http", "police-wm", "POST /v1/topics/incident/events")


def entry(event_id: str, value: bytes = b"v") -> JournalEntry:
    return JournalEntry(event_id=event_id, topic="incident", key="PNC:1", value=value, content_sha256="0" * 64,
                        agency="police-wm", connector="http", location="here", received_at=datetime.now(UTC))


@pytest.fixture
def journal(database_url: str) -> Any:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield Journal(engine)
    engine.dispose()



def _race(writers: int, write: Callable[[int], bool]) -> list[bool]:
    """Each writer's result when all start at once (a barrier), in the order they finished."""
    results: list[bool] = []
    barrier = threading.Barrier(writers)

    def run(n: int) -> None:
        barrier.wait()
        results.append(write(n))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results

def test_record_is_insert_or_get(journal: Journal) -> None:
    """The first record of an event_id inserts; the next returns the stored row unchanged."""
    stored, created = journal.record(entry("e1", b"first"))
    assert created and stored.seq is not None
    again, created_again = journal.record(entry("e1", b"second"))
    assert not created_again and again.value == b"first" and again.seq == stored.seq
    assert again.received_at.tzinfo is not None


def test_pending_mark_published_and_order(journal: Journal) -> None:
    """Rows are pending until marked, and both listings follow insertion order."""
    seqs = {event_id: journal.record(entry(event_id))[0].seq for event_id in ("b", "a", "c")}
    assert [e.event_id for e in journal.pending()] == ["b", "a", "c"]
    assert journal.mark_published([(seqs["a"], 0, 7), (999_999, 0, 8)]) == 1
    assert journal.mark_published([(seqs["a"], 0, 7)]) == 0
    assert [e.event_id for e in journal.pending()] == ["b", "c"]
    assert [e.event_id for e in journal.all_in_order()] == ["b", "a", "c"]
    assert journal.get("a", "police-wm").published_at is not None


def test_concurrent_inserts_of_one_event_id_create_one_row(journal: Journal) -> None:
    """Racing writers of the same event_id: exactly one inserts, the others read its row."""
    results = _race(4, lambda n: journal.record(entry("race", f"v{n}".encode()))[1])
    assert sorted(results) == [False, False, False, True]
    assert journal.count() == 1


def test_record_many_is_insert_or_get_in_one_transaction(journal: Journal) -> None:
    """A batch: new rows inserted in order, a row stored before and a repeat within the batch get the stored row."""
    before, _ = journal.record(entry("old", b"stored"))
    rows = journal.record_many([entry("n1"), entry("old", b"other"), entry("n2"), entry("n1", b"again")])
    assert [(row.event_id, created) for row, created in rows] == [("n1", True), ("old", False), ("n2", True),
                                                                  ("n1", False)]
    assert rows[1][0].seq == before.seq and rows[1][0].value == b"stored"
    assert rows[3][0].seq == rows[0][0].seq and rows[3][0].value == b"v"
    assert before.seq < rows[0][0].seq < rows[2][0].seq
    assert journal.count() == 3


def test_concurrent_batches_of_one_event_id_create_one_row(journal: Journal) -> None:
    """Racing batches holding the same event_id: exactly one inserts it, the others get its row, none fails."""
    results = _race(4, lambda n: journal.record_many([entry(f"own-{n}"), entry("race", f"v{n}".encode())])[1][1])
    assert sorted(results) == [False, False, False, True]
    assert journal.count() == 5


def test_batches_crossing_the_same_ids_in_opposite_orders_both_succeed(journal: Journal) -> None:
    """PostgreSQL: batch [x, y] and batch [y, x], each paused after its first insert, deadlock; the one PostgreSQL
    aborts is journaled row by row instead, so both get their outcome and each id has one row."""
    if journal.engine.dialect.name != "postgresql":
        pytest.skip("SQLite lets one writer in at a time: batches cannot interleave")
    paused = threading.Barrier(2, timeout=10)
    local = threading.local()

    def pause_after_first_insert(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("INSERT INTO intake_journal") and getattr(local, "pause", False):
            local.pause = False
            paused.wait()

    sa.event.listen(journal.engine, "after_cursor_execute", pause_after_first_insert)
    results: dict[str, list[tuple[str, bool]]] = {}

    def write(name: str, ids: list[str]) -> None:
        local.pause = True
        results[name] = [(row.event_id, created) for row, created in journal.record_many([entry(i) for i in ids])]

    threads = [threading.Thread(target=write, args=("a", ["x", "y"])),
               threading.Thread(target=write, args=("b", ["y", "x"]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    sa.event.remove(journal.engine, "after_cursor_execute", pause_after_first_insert)
    assert set(results) == {"a", "b"}
    created = [c for rows in results.values() for _, c in rows]
    assert sorted(created) == [False, False, True, True]
    assert journal.count() == 2


class CrashingProducer:
    """A real producer that dies on send: the process 'crashes' after the journal insert."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def send(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("process died before publishing")

    def flush(self, timeout: float | None = None) -> None:
        self.real.flush(timeout)


def test_unpublished_row_is_published_once_after_restart(settings: Any, database_url: str) -> None:
    """A record journaled but never sent is published by the next intake's republish_pending exactly once."""
    upgrade(database_url)
    engine = make_engine(database_url)
    ensure_topics(settings, TOPICS.values())
    producer = make_producer(settings)
    try:
        record = sample("incident", "DOMESTIC_INCIDENT")
        record.pop("name_hash")
        crashed = build_intake(settings, engine, CrashingProducer(producer))
        assert crashed.submit("incident", record, ORIGIN).status == "accepted"
        assert crashed.journal.count(pending_only=True) == 1
        restarted = build_intake(settings, engine, producer)
        assert restarted.republish_pending() == 1
        assert restarted.republish_pending() == 0
        assert restarted.journal.count(pending_only=True) == 0
        records = read_topic(settings.kafka_bootstrap, settings.topic("incident"), 10, timeout=3.0, to_end=True)
        codec = AvroCodec(prefix=settings.topic_prefix)
        assert [codec.decode(value)["event_id"] for _, value, _ in records] == [record["event_id"]]
    finally:
        producer.close()
        engine.dispose()


def test_reseed_replays_the_journal_in_order(settings: Any, sqlite_url: str) -> None:
    """reseed sends every journal row (records and dead letters) again, in journal order."""
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    ensure_topics(settings, TOPICS.values())
    producer = make_producer(settings)
    try:
        intake = build_intake(settings, engine, producer)
        first, second = (sample("incident", "ARREST") for _ in range(2))
        for record in (first, second):
            record.pop("name_hash", None)
            assert intake.submit("incident", record, ORIGIN).status == "accepted"
        intake.refuse(ORIGIN, b"not json", "body is not valid JSON")
        assert intake.reseed() == 3
        codec = AvroCodec(prefix=settings.topic_prefix)
        records = read_topic(settings.kafka_bootstrap, settings.topic("incident"), 10, timeout=3.0, to_end=True)
        assert [codec.decode(v)["event_id"] for _, v, _ in records] == [first["event_id"], second["event_id"]] * 2
        assert len(read_topic(settings.kafka_bootstrap, settings.topic("dead-letter"), 10, timeout=3.0, to_end=True)) == 2
    finally:
        producer.close()
        engine.dispose()


def test_covered_rows_leave_the_re_seed_and_lose_their_payload_after_the_window(journal: Journal) -> None:
    """Acknowledged rows at (partition, offset); a checkpoint covers those below an offset: they are no longer
    re-seeded, and after the keep window only their idempotency key and content hash remain, until the dedupe
    window ends."""
    seqs = [journal.record(entry(event_id))[0].seq for event_id in ("a", "b", "c")]
    journal.mark_published([(seqs[0], 2, 10), (seqs[1], 2, 11), (seqs[2], 3, 10)])
    assert journal.mark_covered("incident", 2, 11) == 1  # only "a": below offset 11 of partition 2
    assert [e.event_id for e in journal.uncovered()] == ["b", "c"]
    now = datetime.now(UTC)
    assert journal.prune(now + timedelta(minutes=59), timedelta(hours=1), timedelta(days=30)) == (0, 0)
    assert journal.prune(now + timedelta(minutes=61), timedelta(hours=1), timedelta(days=30)) == (1, 0)
    erased = journal.get("a", "police-wm")
    assert erased is not None and erased.value is None and erased.key == "" and erased.content_sha256
    assert [e.event_id for e in journal.all_in_order()] == ["b", "c"]
    assert journal.prune(now + timedelta(days=31), timedelta(hours=1), timedelta(days=30)) == (0, 1)
    assert journal.get("a", "police-wm") is None


def test_a_fresh_broker_forgets_where_the_old_one_held_uncovered_rows(journal: Journal) -> None:
    """Before a re-seed the positions of uncovered rows are cleared, so a checkpoint of the new broker cannot cover
    them by an old offset; covered rows keep theirs."""
    a, b = (journal.record(entry(event_id))[0].seq for event_id in ("a", "b"))
    journal.mark_published([(a, 0, 1), (b, 0, 2)])
    journal.mark_covered("incident", 0, 2)
    assert journal.forget_positions() == 1
    assert journal.mark_covered("incident", 0, 100) == 0
    assert [e.event_id for e in journal.pending()] == ["b"]


def test_rows_acknowledged_by_a_durable_cluster_are_covered_at_once(journal: Journal) -> None:
    """Against a real cluster a published row is covered: nothing waits for a broker copy."""
    seq = journal.record(entry("a"))[0].seq
    journal.mark_published([(seq, 0, 0)], covered=True)
    assert list(journal.uncovered()) == []
