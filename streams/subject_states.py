"""Subjects' states and timers over two faust tables: objects cached between events, changes written once a batch.

The state table holds each subject's state as bytes (JSON of the compact dict form); the timer table holds when
the subject's timers are next due. In memory: a bounded cache of decoded states (so a busy subject is not decoded
and encoded on every event) and, per partition, a heap of (due time, subject) for the ticks. A batch stages its
changes here; `take_writes` hands them to the caller, which sends the changelog records, waits for the broker and
only then `apply_writes` them to the stores — what is in a store has always reached its changelog first.
"""
from __future__ import annotations

import heapq
import json
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from streams.rules import SubjectState
from streams.rules.state_codec import state_from_dict, state_to_dict

CACHE_SIZE = 10_000  # decoded states kept between events (LRU); the table holds every state as bytes


@dataclass(frozen=True, slots=True)
class Write:
    """One table change of a batch: the key's new value (None deletes) in one partition of one table."""

    table: Any  # streams.stores.StateTable
    partition: int
    key: bytes
    value: bytes | None


def subject_key(subject_id: str) -> bytes:
    """The table key of a subject (JSON text, as faust's json key serializer wrote it)."""
    return json.dumps(subject_id).encode()


def encode_state(state: SubjectState) -> bytes:
    """The stored bytes of a state: its compact JSON (orjson: deflating saved 38% of ~580 bytes but doubled the cost)."""
    return orjson.dumps(state_to_dict(state))


def decode_state(value: bytes) -> SubjectState:
    """The state of stored bytes."""
    return state_from_dict(orjson.loads(value))


class SubjectStates:
    """What a worker knows of its subjects: see the module docstring."""

    def __init__(self, states: Any, timers: Any, partition_of: Callable[[str], int],
                 cache_size: int = CACHE_SIZE) -> None:
        self.states = states
        self.timers = timers
        self.partition_of = partition_of
        self.cache_size = cache_size
        self._cache: OrderedDict[str, SubjectState] = OrderedDict()
        self._staged: dict[str, tuple[int, SubjectState, float | None, bool]] = {}
        self._heaps: dict[int, list[tuple[float, str]]] | None = None  # built on first use after a rebalance

    # ------------------------------------------------------------------ reading

    def get(self, subject: str) -> SubjectState | None:
        """The subject's state as this batch leaves it (None: nothing known)."""
        staged = self._staged.get(subject)
        if staged is not None:
            return staged[1]
        cached = self._cache.get(subject)
        if cached is not None:
            self._cache.move_to_end(subject)
            return cached
        value = self.states.store.get_in(self.partition_of(subject), subject_key(subject))
        if value is None:
            return None
        state = decode_state(value)
        self._remember(subject, state)
        return state

    def due(self, partition: int, now_s: float) -> list[str]:
        """Subjects of `partition` whose timers are due at now_s (epoch seconds), each once, in subject order."""
        heap = self._heap(partition)
        due: set[str] = set()
        while heap and heap[0][0] <= now_s:
            when, subject = heapq.heappop(heap)
            if self._due_at(subject) == when:  # stale entries (rescheduled since) are dropped
                due.add(subject)
        return sorted(due)

    # ------------------------------------------------------------------ a batch's changes

    def stage(self, subject: str, state: SubjectState, due_s: float | None, *, changed: bool = True) -> None:
        """The subject's new state (`changed`: its bytes must be written) and when its timers are next due."""
        partition = self.partition_of(subject)
        earlier = self._staged.get(subject)
        self._staged[subject] = (partition, state, due_s, changed or bool(earlier and earlier[3]))
        if due_s is not None:
            heapq.heappush(self._heap(partition), (due_s, subject))

    def drop_timer(self, subject: str) -> None:
        """The subject has nothing pending (no state, or its timers failed): forget its timer."""
        state = self.get(subject)
        if state is not None:
            self.stage(subject, state, None, changed=False)

    def take_writes(self) -> list[Write]:
        """The staged changes as table writes (state bytes encoded once per subject per batch)."""
        writes: list[Write] = []
        for subject, (partition, state, due_s, changed) in self._staged.items():
            key = subject_key(subject)
            if changed:
                writes.append(Write(self.states, partition, key, encode_state(state)))
            if due_s != self._stored_due(subject):
                writes.append(Write(self.timers, partition, key, None if due_s is None else repr(due_s).encode()))
        return writes

    def apply_writes(self, writes: Iterable[Write]) -> None:
        """Puts acknowledged writes into the stores; the staged states become the cached ones."""
        for w in writes:
            if w.value is None:
                w.table.store.delete_in(w.partition, w.key)
            else:
                w.table.store.put_in(w.partition, w.key, w.value)
        for subject, (_, state, _, _) in self._staged.items():
            self._remember(subject, state)
        self._staged.clear()

    def discard_staged(self) -> None:
        """Forget what a batch staged (it was not written): the cache still holds what the stores hold."""
        self._staged.clear()
        self._heaps = None  # staged timers were pushed: rebuild from the store

    def forget(self) -> None:
        """After a rebalance: partitions came and went, so the cache and the timer heaps start again."""
        self._cache.clear()
        self._staged.clear()
        self._heaps = None

    # ------------------------------------------------------------------ internals

    def _remember(self, subject: str, state: SubjectState) -> None:
        self._cache[subject] = state
        self._cache.move_to_end(subject)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def _due_at(self, subject: str) -> float | None:
        staged = self._staged.get(subject)
        return staged[2] if staged is not None else self._stored_due(subject)

    def _stored_due(self, subject: str) -> float | None:
        value = self.timers.store.get_in(self.partition_of(subject), subject_key(subject))
        return float(value) if value is not None else None

    def _heap(self, partition: int) -> list[tuple[float, str]]:
        if self._heaps is None:
            self._heaps = self._build_heaps()
        return self._heaps.setdefault(partition, [])

    def _build_heaps(self) -> dict[int, list[tuple[float, str]]]:
        heaps: dict[int, list[tuple[float, str]]] = {}
        for key, value in self.timers.store.all_items():
            subject = json.loads(key)
            heaps.setdefault(self.partition_of(subject), []).append((float(value), subject))
        for heap in heaps.values():
            heapq.heapify(heap)
        return heaps
