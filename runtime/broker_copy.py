"""The embedded broker's durable copy: what a real cluster would keep, kept in SQLite and put back after a restart.

Tansu keeps everything in memory, so `drive-alerts up` keeps, beside it, what a real cluster keeps durably and
the pipeline needs again: the latest record per key of the compacted topics (the case registry, the state
changelogs), the records of the other internal topics that a consumer group has not committed yet (subject-events,
alerts), and every group's committed offsets. A checkpoint is a consistent cut: the committed offsets are read
first, then every kept partition up to its end, and both are stored in one transaction — so what the offsets say was
processed is always in the copy. After a restart `restore` produces the copy into the fresh broker and commits the
groups' offsets renumbered for it; source records the copy does not hold come back from the intake journal.
"""
from __future__ import annotations

import bisect
import json
import sqlite3
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from runtime.kafka import make_admin, make_consumer, make_producer, read_to_end
from runtime.settings import Settings

READ_TIMEOUT_S = 60.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS latest (topic TEXT, part INTEGER, key BLOB, off INTEGER, value BLOB, headers TEXT,
                                   PRIMARY KEY (topic, part, key));
CREATE TABLE IF NOT EXISTS tail (topic TEXT, part INTEGER, off INTEGER, key BLOB, value BLOB, headers TEXT,
                                 PRIMARY KEY (topic, part, off));
CREATE TABLE IF NOT EXISTS positions (topic TEXT, part INTEGER, read_to INTEGER, PRIMARY KEY (topic, part));
CREATE TABLE IF NOT EXISTS committed (grp TEXT, topic TEXT, part INTEGER, off INTEGER,
                                      PRIMARY KEY (grp, topic, part));
"""


@dataclass(frozen=True)
class Kept:
    """A topic the copy keeps: compacted (the latest record per key) or the tail its groups have not committed."""

    topic: str  # full name
    mode: Literal["compacted", "tail"]
    partitions: int
    groups: tuple[str, ...] = ()  # consumer groups that read it (a tail is kept from the slowest one's offset)


@dataclass
class Checkpoint:
    """What one checkpoint stored: per group its committed offsets; per kept partition how far the copy reaches."""

    committed: dict[str, dict[TopicPartition, int]] = field(default_factory=dict)
    read_to: dict[TopicPartition, int] = field(default_factory=dict)
    records: int = 0


class BrokerCopy:
    """See the module docstring. Not thread-safe: one supervisor thread checkpoints, restore runs before it."""

    def __init__(self, path: Path, settings: Settings, kept: Iterable[Kept], groups: Iterable[str]) -> None:
        self.path = path
        self.settings = settings
        self.kept = {k.topic: k for k in kept}
        self.groups = tuple(groups)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_SCHEMA)
        # One admin and one reader for every checkpoint (a new pair each second cost CPU and logged their closing).
        self._admin: Any = None
        self._reader: KafkaConsumer | None = None

    def close(self) -> None:
        """Closes the copy's Kafka clients and its database."""
        for client in (self._reader, self._admin):
            if client is not None:
                client.close()
        self._reader = self._admin = None
        self.db.close()

    # ------------------------------------------------------------------ checkpoint

    def checkpoint(self) -> Checkpoint:
        """Reads the groups' offsets, then every kept partition to its end; stores both at once."""
        cut = Checkpoint(committed=self._group_offsets())
        starts = {tp: self._start(tp, cut.committed) for tp in self._partitions()}
        records, cut.read_to = self._read(starts)
        with self._transaction():
            for tp, batch in records.items():
                self._store(tp, batch)
                cut.records += len(batch)
            for tp, end in cut.read_to.items():
                self.db.execute("INSERT OR REPLACE INTO positions VALUES (?, ?, ?)", (tp.topic, tp.partition, end))
                if self.kept[tp.topic].mode == "tail":
                    self.db.execute("DELETE FROM tail WHERE topic=? AND part=? AND off<?",
                                    (tp.topic, tp.partition, starts[tp]))
            self.db.execute("DELETE FROM committed")
            self.db.executemany("INSERT INTO committed VALUES (?, ?, ?, ?)",
                                [(g, tp.topic, tp.partition, off) for g, offsets in cut.committed.items()
                                 for tp, off in offsets.items()])
        return cut

    def _group_offsets(self) -> dict[str, dict[TopicPartition, int]]:
        """Each group's committed offsets (one request per group: not every broker answers several at once)."""
        if self._admin is None:
            self._admin = make_admin(self.settings)
        found = {group: self._admin.list_group_offsets({group: None}).get(group) or {} for group in self.groups}
        return {group: {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
                for group, offsets in found.items()}

    def _start(self, tp: TopicPartition, committed: dict[str, dict[TopicPartition, int]]) -> int:
        """Where to read from: where the copy stopped; a tail never before its slowest group's committed offset."""
        row = self.db.execute("SELECT read_to FROM positions WHERE topic=? AND part=?", tp).fetchone()
        read_to = row[0] if row else 0
        kept = self.kept[tp.topic]
        if kept.mode == "compacted":
            return read_to
        slowest = min((committed.get(g, {}).get(tp, 0) for g in kept.groups), default=0)
        return max(read_to, slowest)

    def _store(self, tp: TopicPartition, batch: list[Any]) -> None:
        rows = [(tp.topic, tp.partition, r.offset, r.key, r.value, _headers(r.headers)) for r in batch]
        if self.kept[tp.topic].mode == "tail":
            self.db.executemany("INSERT OR REPLACE INTO tail VALUES (?, ?, ?, ?, ?, ?)", rows)
            return
        for topic, part, off, key, value, headers in rows:
            if value is None:  # a tombstone: the key is gone
                self.db.execute("DELETE FROM latest WHERE topic=? AND part=? AND key=?", (topic, part, key))
            else:
                self.db.execute("INSERT OR REPLACE INTO latest VALUES (?, ?, ?, ?, ?, ?)",
                                (topic, part, key, off, value, headers))

    # ------------------------------------------------------------------ restore

    def restore(self) -> int:
        """Produces the copy into a fresh broker (same partitions, old order), commits every group's offsets
        renumbered for it, and renumbers the copy itself; the number of records produced."""
        renumber: dict[TopicPartition, list[int]] = {}  # old offsets, in order, of what was produced
        producer = make_producer(self.settings)
        try:
            for tp in self._partitions():
                rows = self._kept_rows(tp)
                for _, key, value, headers in rows:
                    producer.send(tp.topic, key=key, value=value, partition=tp.partition, headers=_unheaders(headers))
                renumber[tp] = [off for off, *_ in rows]
            producer.flush()
        finally:
            producer.close()
        self._commit_renumbered(renumber)
        with self._transaction():
            for tp, olds in renumber.items():
                self._renumber(tp, olds)
        return sum(len(olds) for olds in renumber.values())

    def _kept_rows(self, tp: TopicPartition) -> list[tuple[int, bytes, bytes, str]]:
        table = "latest" if self.kept[tp.topic].mode == "compacted" else "tail"
        return self.db.execute(f"SELECT off, key, value, headers FROM {table} WHERE topic=? AND part=? "  # noqa: S608
                               "ORDER BY off", tp).fetchall()

    def _commit_renumbered(self, renumber: dict[TopicPartition, list[int]]) -> None:
        by_group: dict[str, dict[TopicPartition, OffsetAndMetadata]] = defaultdict(dict)
        for group, topic, part, off in self.db.execute("SELECT grp, topic, part, off FROM committed").fetchall():
            tp = TopicPartition(topic, part)
            if tp in renumber:  # source topics start empty: their groups begin at offset 0 anyway
                by_group[group][tp] = OffsetAndMetadata(bisect.bisect_left(renumber[tp], off), "", -1)
        for group, offsets in by_group.items():
            consumer = make_consumer(self.settings, group_id=group)
            try:
                consumer.assign(list(offsets))
                consumer.commit(offsets)
            finally:
                consumer.close()

    def _renumber(self, tp: TopicPartition, olds: list[int]) -> None:
        table = "latest" if self.kept[tp.topic].mode == "compacted" else "tail"
        for new, old in enumerate(olds):
            self.db.execute(f"UPDATE {table} SET off=? WHERE topic=? AND part=? AND off=?",  # noqa: S608
                            (-1 - new, tp.topic, tp.partition, old))
        self.db.execute(f"UPDATE {table} SET off=-1-off WHERE topic=? AND part=? AND off<0", tp)  # noqa: S608
        self.db.execute("INSERT OR REPLACE INTO positions VALUES (?, ?, ?)", (tp.topic, tp.partition, len(olds)))
        for group, off in self.db.execute("SELECT grp, off FROM committed WHERE topic=? AND part=?", tp).fetchall():
            self.db.execute("UPDATE committed SET off=? WHERE grp=? AND topic=? AND part=?",
                            (bisect.bisect_left(olds, off), group, tp.topic, tp.partition))

    # ------------------------------------------------------------------ reading and helpers

    def _partitions(self) -> list[TopicPartition]:
        return [TopicPartition(k.topic, p) for k in self.kept.values() for p in range(k.partitions)]

    def _read(self, starts: dict[TopicPartition, int]) -> tuple[dict[TopicPartition, list[Any]],
                                                                 dict[TopicPartition, int]]:
        """Every record from each start to the partition's true end (a fetch's high watermark), and that end."""
        if self._reader is None:
            self._reader = make_consumer(self.settings, fetch_max_wait_ms=self.settings.stream_fetch_max_wait_ms)
        consumer = self._reader
        consumer.assign(list(starts))
        for tp, start in starts.items():
            consumer.seek(tp, start)
        listed = consumer.end_offsets(list(starts))
        records: dict[TopicPartition, list[Any]] = defaultdict(list)
        deadline = time.monotonic() + READ_TIMEOUT_S
        while not all(read_to_end(consumer, tp, listed[tp]) for tp in starts):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the broker copy could not read to the end within {READ_TIMEOUT_S:g} s")
            for tp, batch in consumer.poll(timeout_ms=200).items():
                records[tp].extend(batch)
        return records, {tp: consumer.position(tp) for tp in starts}

    def _transaction(self) -> Any:
        return _Transaction(self.db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


def _headers(headers: Any) -> str:
    return json.dumps([[k, v.hex() if isinstance(v, bytes) else v] for k, v in headers or ()])


def _unheaders(text: str) -> list[tuple[str, bytes]]:
    return [(k, bytes.fromhex(v)) for k, v in json.loads(text or "[]")]
