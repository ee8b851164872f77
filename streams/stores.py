"""faust table stores that a batch writes into a given partition (faust's own write to the current event's one).

faust writes a table key into the partition of the event being processed (`current_event()`); a batch spans
partitions and has no current event. These stores add `get_in`/`put_in`/`delete_in` with an explicit partition,
for the in-memory store (embedded default) and the RocksDB store (rocksdict; production: a restarted worker reads
only the changelog tail). The changelog record itself is sent and acknowledged by the caller before the source
offsets are committed. This module and streams/transport.py are the only places that reach into faust.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import faust
from faust.stores import memory
from faust.types import TP

try:  # RocksDB (rocksdict) is an optional extra of faust: only the production store needs it
    from faust.stores import rocksdb
except ImportError:  # pragma: no cover - the memory store works without it
    rocksdb = None  # type: ignore[assignment]


class PartitionedMemoryStore(memory.Store):
    """faust's in-memory store, writable into a given partition (what recovery does for changelog records)."""

    def get_in(self, partition: int, key: bytes) -> bytes | None:
        """The value of a key (the partition is implied by the key in memory)."""
        return self.data.get(key)

    def put_in(self, partition: int, key: bytes, value: bytes) -> None:
        """Sets a key of `partition` (remembered, so a later rebalance drops it with its partition)."""
        self.data[key] = value
        self._key_partition[key] = partition

    def delete_in(self, partition: int, key: bytes) -> None:
        """Deletes a key."""
        self.data.pop(key, None)
        self._key_partition.pop(key, None)

    def all_items(self) -> Iterator[tuple[bytes, bytes]]:
        """Every (key, value) this worker holds (recovery drops the keys of partitions it no longer has)."""
        return iter(list(self.data.items()))

    def changelog_written(self, tp: TP, offset: int) -> None:
        """Nothing to remember: the memory store always recovers from the changelog's start."""


if rocksdb is not None:
    class PartitionedRocksStore(rocksdb.Store):
        """faust's RocksDB store, writable into a given partition; remembers the changelog offset it holds."""

        def get_in(self, partition: int, key: bytes) -> bytes | None:
            """The value of a key in the partition's database."""
            return self._db_for_partition(partition).get(key)

        def put_in(self, partition: int, key: bytes, value: bytes) -> None:
            """Sets a key in the partition's database."""
            self._db_for_partition(partition).put(key, value)
            self._key_index[key] = partition

        def delete_in(self, partition: int, key: bytes) -> None:
            """Deletes a key from the partition's database."""
            self._db_for_partition(partition).delete(key)
            self._key_index.pop(key, None)

        def all_items(self) -> Iterator[tuple[bytes, bytes]]:
            """Every (key, value) of the partitions this worker has open."""
            for _, db in sorted(self._dbs.items()):
                yield from self._visible_items(db)

        def changelog_written(self, tp: TP, offset: int) -> None:
            """The changelog holds this partition up to `offset`: a restart reads only what comes after."""
            self.set_persisted_offset(tp, offset)


class StateTable(faust.Table):
    """A bytes -> bytes faust table whose store a batch writes by partition (see the module docstring)."""

    def _new_store_by_url(self, url: Any) -> Any:
        scheme = str(url).split(":", 1)[0]
        if scheme == "memory":
            cls: Any = PartitionedMemoryStore
        elif scheme == "rocksdb" and rocksdb is not None:
            cls = PartitionedRocksStore
        else:
            raise ValueError(f"unsupported table store {url!r}: use memory:// or rocksdb:// (needs rocksdict)")
        return cls(url, self.app, self, table_name=self.name, key_type=self.key_type,
                   key_serializer=self.key_serializer, value_serializer=self.value_serializer,
                   value_type=self.value_type, loop=self.loop, options=self.options)

    @property
    def store(self) -> Any:
        """The partition-writable store (PartitionedMemoryStore or PartitionedRocksStore)."""
        return self.data

    @property
    def changelog_name(self) -> str:
        """The full name of the table's changelog topic."""
        return self.changelog_topic.get_topic_name()

    def changelog_tp(self, partition: int) -> TP:
        """One partition of the table's changelog."""
        return TP(self.changelog_name, partition)
