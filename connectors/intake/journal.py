"""The intake journal: every accepted record, keyed by (agency, event_id), durable before it is published."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine, RowMapping
from sqlalchemy.exc import IntegrityError

from connectors.intake.tables import intake_journal
from runtime.db import as_utc

_PAGE = 500


@dataclass(frozen=True)
class JournalEntry:
    """One journal row: the published bytes (Confluent-framed Avro), where they came from, when sent."""

    event_id: str
    topic: str
    key: str
    value: bytes
    content_sha256: str
    agency: str | None
    connector: str
    location: str
    received_at: datetime
    published_at: datetime | None = None
    seq: int | None = None


def _entry(row: RowMapping) -> JournalEntry:
    return JournalEntry(
        event_id=row["event_id"], topic=row["topic"], key=row["key"], value=bytes(row["value"]),
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

    def get(self, event_id: str, agency: str | None) -> JournalEntry | None:
        """The row of an agency's event_id, or None."""
        same_agency = intake_journal.c.agency.is_(None) if agency is None else intake_journal.c.agency == agency
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(intake_journal).where(intake_journal.c.event_id == event_id, same_agency)
                               ).mappings().first()
        return _entry(row) if row is not None else None

    def mark_published(self, seqs: Iterable[int], at: datetime | None = None) -> int:
        """Set published_at on rows (by seq) not yet marked; returns how many rows changed."""
        ids = list(dict.fromkeys(seqs))
        if not ids:
            return 0
        at = at or datetime.now(UTC)
        changed = 0
        with self.engine.begin() as conn:
            for start in range(0, len(ids), _PAGE):
                stmt = (intake_journal.update()
                        .where(intake_journal.c.seq.in_(ids[start:start + _PAGE]))
                        .where(intake_journal.c.published_at.is_(None))
                        .values(published_at=at))
                changed += conn.execute(stmt).rowcount
        return changed

    def pending(self) -> Iterator[JournalEntry]:
        """Rows never marked published, oldest first."""
        return self._scan(intake_journal.c.published_at.is_(None))

    def all_in_order(self) -> Iterator[JournalEntry]:
        """Every row in journal order (for re-seeding an empty broker)."""
        return self._scan(None)

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
