"""The intake journal: every accepted record, keyed by (agency, event_id), durable before it is published.

A row's payload is kept only until its effects are durable without it ("covered": against a cluster once the
broker has it; with the embedded broker once the worker has processed it and `up`'s broker copy holds the
result) and DRIVE_JOURNAL_KEEP_S has passed; then it is erased, and only the agency's event id and a hash of the
content stay, for DRIVE_INTAKE_DEDUPE_DAYS, so a repeat is still recognised.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, RowMapping
from sqlalchemy.exc import IntegrityError

from connectors.intake.tables import intake_journal
from runtime.db import as_utc

_PAGE = 500
_UPSERT = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
_DEADLOCK = "40P01"  # PostgreSQL's deadlock_detected


@dataclass(frozen=True)
class JournalEntry:
    """One journal row: the published bytes (Confluent-framed Avro), where they came from, when sent."""

    event_id: str
    topic: str
    key: str
    value: bytes | None  # None once erased
    content_sha256: str
    agency: str | None
    connector: str
    location: str
    received_at: datetime
    published_at: datetime | None = None
    seq: int | None = None


def _entry(row: RowMapping) -> JournalEntry:
    return JournalEntry(
        event_id=row["event_id"], topic=row["topic"], key=row["key"],
        value=bytes(row["value"]) if row["value"] is not None else None,
        content_sha256=row["content_sha256"], agency=row["agency"], connector=row["connector"],
        location=row["location"], received_at=as_utc(row["received_at"]),
        published_at=as_utc(row["published_at"]), seq=row["seq"],
    )


class Journal:
    """Insert-or-get by (agency, event_id) (race-safe), mark rows published, list what is still pending."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, entry: JournalEntry) -> tuple[JournalEntry, bool]:
        """Store the entry unless its agency already used its event_id; returns (stored row, True if inserted)."""
        values = {k: v for k, v in entry.__dict__.items() if k != "seq"}
        try:
            with self.engine.begin() as conn:
                seq = conn.execute(intake_journal.insert().values(**values)).inserted_primary_key[0]
            return replace(entry, seq=seq), True
        except IntegrityError:
            existing = self.get(entry.event_id, entry.agency)
            if existing is None:  # the violation was not about (agency, event_id): a real error
                raise
            return existing, False

    def record_many(self, entries: Sequence[JournalEntry]) -> list[tuple[JournalEntry, bool]]:
        """`record` for a batch in one transaction (one commit): each entry's stored row and True if inserted. A
        repeat of an (agency, event_id) in the batch gets the row of its first. Race-safe (INSERT ... ON CONFLICT
        DO NOTHING, then the row that won); databases without it go row by row."""
        if self.engine.dialect.name not in _UPSERT:
            return [self.record(entry) for entry in entries]
        c = intake_journal.c
        insert = _UPSERT[self.engine.dialect.name](intake_journal).on_conflict_do_nothing(
            index_elements=[c.event_id, c.agency]).returning(c.seq)
        try:
            return self._record_many(entries, insert)
        except sa.exc.OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != _DEADLOCK:
                raise
            # Another batch took some of these ids in another order; row by row takes one lock at a time.
            return [self.record(entry) for entry in entries]

    def _record_many(self, entries: Sequence[JournalEntry], insert: sa.Insert) -> list[tuple[JournalEntry, bool]]:
        stored: dict[tuple[str | None, str], JournalEntry] = {}
        results: list[tuple[JournalEntry, bool]] = []
        with self.engine.begin() as conn:
            for entry in entries:
                idem = (entry.agency, entry.event_id)
                if idem in stored:
                    results.append((stored[idem], False))
                    continue
                values = {k: v for k, v in entry.__dict__.items() if k != "seq"}
                seq = conn.execute(insert, values).scalar()
                row = replace(entry, seq=seq) if seq is not None else self._get(conn, entry.event_id, entry.agency)
                if row is None:  # agency None: no unique key, so no conflict either; cannot happen with a seq
                    raise RuntimeError("journal row neither inserted nor found")
                stored[idem] = row
                results.append((row, seq is not None))
        return results

    def get(self, event_id: str, agency: str | None) -> JournalEntry | None:
        """The row of an agency's event_id, or None."""
        with self.engine.connect() as conn:
            return self._get(conn, event_id, agency)

    @staticmethod
    def _get(conn: sa.Connection, event_id: str, agency: str | None) -> JournalEntry | None:
        same_agency = intake_journal.c.agency.is_(None) if agency is None else intake_journal.c.agency == agency
        row = conn.execute(sa.select(intake_journal).where(intake_journal.c.event_id == event_id, same_agency)
                           ).mappings().first()
        return _entry(row) if row is not None else None

    def mark_published(self, acks: Iterable[tuple[int, int, int]], at: datetime | None = None, *,
                       covered: bool = False) -> int:
        """Rows (seq, partition, offset) the broker acknowledged: published_at and the position where it holds
        them (`covered`: the broker's copy is durable, e.g. a real cluster). Returns how many rows changed."""
        at = at or datetime.now(UTC)
        c, changed = intake_journal.c, 0
        extra = {"covered_at": at} if covered else {}
        stmt = (intake_journal.update().where(c.seq == sa.bindparam("ack_seq"), c.published_at.is_(None))
                .values(published_at=at, kafka_partition=sa.bindparam("ack_partition"),
                        kafka_offset=sa.bindparam("ack_offset"), **extra))  # built once: per row it costs more
        with self.engine.begin() as conn:  # one transaction for the whole batch of acknowledgements
            for seq, partition, offset in dict.fromkeys(acks):
                changed += conn.execute(stmt, {"ack_seq": seq, "ack_partition": partition,
                                               "ack_offset": offset}).rowcount
        return changed

    def mark_covered(self, topic: str, partition: int, below_offset: int, at: datetime | None = None) -> int:
        """Rows the broker holds in `partition` of `topic` before `below_offset` are covered (embedded default:
        a checkpoint of `up`'s broker copy says the worker processed them, or the copy holds them)."""
        c = intake_journal.c
        stmt = (intake_journal.update()
                .where(c.topic == topic, c.kafka_partition == partition, c.kafka_offset < below_offset,
                       c.covered_at.is_(None))
                .values(covered_at=at or datetime.now(UTC)))
        with self.engine.begin() as conn:
            return int(conn.execute(stmt).rowcount)

    def uncovered(self, excluding: Iterable[str] = ()) -> Iterator[JournalEntry]:
        """Rows whose effects are not durable without them, in journal order (to re-seed a fresh broker)."""
        c = intake_journal.c
        return self._scan(sa.and_(c.covered_at.is_(None), c.value.is_not(None), c.topic.not_in(list(excluding))))

    def forget_positions(self) -> int:
        """Before re-seeding a fresh broker: uncovered rows are no longer where the old broker held them."""
        c = intake_journal.c
        with self.engine.begin() as conn:
            return int(conn.execute(intake_journal.update().where(c.covered_at.is_(None))
                                    .values(published_at=None, kafka_partition=None, kafka_offset=None)).rowcount)

    def prune(self, now: datetime, keep: timedelta, dedupe: timedelta, excluding: Iterable[str] = ()) -> tuple[int, int]:
        """Erases the payload of rows covered longer than `keep`; deletes erased rows received before `dedupe`
        ago. Rows of the `excluding` topics (dead letters, which have their own retention) are left alone.
        Returns (erased, deleted)."""
        c = intake_journal.c
        others = c.topic.not_in(list(excluding))
        with self.engine.begin() as conn:
            erased = conn.execute(intake_journal.update()
                                  .where(others, c.covered_at < now - keep, c.erased_at.is_(None))
                                  .values(value=None, key="", location="", erased_at=now)).rowcount
            deleted = conn.execute(intake_journal.delete()
                                   .where(others, c.erased_at.is_not(None), c.received_at < now - dedupe)).rowcount
        return int(erased), int(deleted)

    def pending(self) -> Iterator[JournalEntry]:
        """Rows never marked published, oldest first."""
        return self._scan(intake_journal.c.published_at.is_(None))

    def all_in_order(self) -> Iterator[JournalEntry]:
        """Every row still holding its payload, in journal order (for re-seeding an empty broker)."""
        return self._scan(intake_journal.c.value.is_not(None))

    def count(self, *, pending_only: bool = False) -> int:
        """Number of rows (or of unpublished rows)."""
        stmt = sa.select(sa.func.count()).select_from(intake_journal)
        if pending_only:
            stmt = stmt.where(intake_journal.c.published_at.is_(None))
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def _scan(self, condition: sa.ColumnElement[bool] | None) -> Iterator[JournalEntry]:
        # Keyset pages by seq: no long-lived cursor holds a connection while the caller publishes.
        last = 0
        while True:
            stmt = sa.select(intake_journal).where(intake_journal.c.seq > last)
            if condition is not None:
                stmt = stmt.where(condition)
            with self.engine.connect() as conn:
                rows = conn.execute(stmt.order_by(intake_journal.c.seq).limit(_PAGE)).mappings().all()
            if not rows:
                return
            for row in rows:
                yield _entry(row)
            last = rows[-1]["seq"]
