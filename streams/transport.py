"""faust aiokafka transport: the app's fetch_max_wait_ms; batches of the app's topics; two rebalance races closed.

Every override of faust's consumer lives here (and the partition-writable stores in streams/stores.py); each is
pinned by a test: tests/reliability/test_backlog_at_assignment.py (the races), tests/unit/test_streams_transport.py
(the batch loop over the private hooks it relies on).
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from time import monotonic
from typing import Any

import structlog
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

from runtime.kafka import aiokafka_config
from streams.highwater import true_end_offsets

log = structlog.get_logger(__name__)


class FetchWaitConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Consumer thread that gives the aiokafka consumer the app's fetch_max_wait_ms (faust hard-codes 1500 ms)."""

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Read by AIOKafkaConsumer.start() when it builds its Fetcher; the consumer is not started yet.
        consumer._fetch_max_wait_ms = self.app.fetch_max_wait_ms
        return consumer

    def set_fetch_max_wait(self, ms: int) -> None:
        """The wait of the running consumer's next fetches (read per fetch request by aiokafka's Fetcher)."""
        fetcher = getattr(self._ensure_consumer(), "_fetcher", None)
        if fetcher is not None:
            fetcher._fetch_max_wait_ms = ms

    async def _highwaters(self, partitions: list[TP]) -> Mapping[TP, int]:
        """End offsets for table recovery; in the embedded profile corrected by a fetch, because Tansu lists the
        start of a partition's last batch + 1 and recovery would stop short of the changelog's last updates."""
        listed = await super()._highwaters(partitions)
        settings = self.app.settings
        if not settings.embedded_workarounds:
            return listed
        return await true_end_offsets(aiokafka_config(settings), listed, self.app.fetch_max_wait_ms)


class FetchWaitConsumer(faust_aiokafka.Consumer):
    """faust aiokafka Consumer using FetchWaitConsumerThread, safe against two record-dropping races of faust.

    1. After a rebalance faust's recovery resumes the stream partitions, seeks them to their committed offsets
       (a broker round trip per partition) and only then clears every agent's queue (flow_control.resume) and
       resumes the flow. What the fetcher delivers during the seek is wiped from the queues while the read
       position has moved past it. Here stream partitions resumed by the recovery wait for resume_flow(), which
       faust calls right after clearing the queues, so they are read from the committed offsets.
    2. faust hands its live set of active partitions to aiokafka, which reads an empty set as "every partition":
       when the last active partitions are paused during a fetch (the changelogs at the end of table recovery),
       records of paused partitions come back, and faust skips them. Each fetch gets a copy of the set instead.
    In both cases the next record read leaves a gap, which faust counts as processed, and the commit passes it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._held: set[TP] = set()  # stream partitions resumed by the recovery, waiting for resume_flow()
        super().__init__(*args, **kwargs)

    def _new_consumer_thread(self) -> FetchWaitConsumerThread:
        return FetchWaitConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _getmany(self, active_partitions: set[TP] | None, timeout: float) -> Any:
        """Fetches for a copy of the active partitions, never for an empty set (see race 2)."""
        if active_partitions is None:  # client-only app: every assigned partition
            return await super()._getmany(None, timeout)
        snapshot = set(active_partitions)
        return await super()._getmany(snapshot, timeout) if snapshot else {}

    def resume_partitions(self, tps: Iterable[TP]) -> None:
        """Changelog partitions resume now; stream partitions at the next resume_flow() (see race 1)."""
        tps = set(tps)
        streams = {tp for tp in tps if not self._is_changelog_tp(tp)}
        super().resume_partitions(tps - streams)
        if streams:
            self.pause_partitions(streams)
            self._buffered_partitions.difference_update(streams)  # faust delivers these even when paused
            self._held.update(streams)

    def resume_flow(self) -> None:
        """Resumes the held stream partitions that are still assigned, then the flow; recovery is over, so fetches
        wait the live wait (embedded profile: Tansu holds each fetch for all of it, which bounds latency)."""
        self._thread.set_fetch_max_wait(self.app.live_fetch_max_wait_ms)
        if self._held:
            super().resume_partitions(self._held & set(self.assignment()))
            self._held.clear()
        super().resume_flow()

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        """A rebalance pauses every partition again: nothing stays held."""
        self._held.clear()
        await super().on_partitions_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TP], generation_id: int = 0) -> None:
        """A new assignment starts with every partition paused: nothing stays held; table recovery follows, with the
        longer wait (at ~20 ms Tansu answered a large changelog partition one record per fetch)."""
        self._held.clear()
        self._thread.set_fetch_max_wait(self.app.fetch_max_wait_ms)
        await super().on_partitions_assigned(assigned, generation_id)

    async def _drain_messages(self, fetcher: Any) -> None:
        """faust's fetch loop, except that the records of the app's batch topics (`app.batch_topics`) of one fetch go
        to `app.handle_batch` together, and are acknowledged only once it returns. Other records (changelogs during
        recovery) take faust's per-record path. A fetch started in an older generation, or while the flow is
        stopped, is dropped unacknowledged and read again (as faust's getmany does)."""
        try:
            while not (self._stopped.is_set() or fetcher._stopped.is_set()):
                records, active = await self._wait_next_records(1.0)
                await self.sleep(0)
                if not records or self.should_stop:
                    continue
                if not self.flow_active:
                    await self.perform_seek()
                    continue
                await self._drain_fetch(records, active)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                return
            raise

    async def _drain_fetch(self, records: Mapping[TP, list[Any]], active: set[TP] | None) -> None:
        """One fetch: per-record messages delivered in order, then the batch handled and acknowledged."""
        app = self.app
        generation = app.consumer_generation_id
        batch: list[Any] = []
        for tp, tp_records in records.items():
            if active is not None and tp not in active and tp not in self._buffered_partitions:
                continue
            app.monitor.track_tp_end_offset(tp, self.highwater(tp))
            for record in tp_records:
                if not self.flow_active or app.consumer_generation_id != generation:
                    return self._forget(batch)
                message = self._to_message(tp, record)
                if not await self._advance(tp, message):
                    continue
                if tp.topic in app.batch_topics:
                    self.track_message(message)
                    batch.append(message)
                else:
                    await self.wait_first(self.callback(message), self.suspend_flow.wait())
        if not batch:
            return None
        await app.handle_batch(batch)
        if app.consumer_generation_id != generation:
            return self._forget(batch)  # revoked meanwhile: the new owner reads these again
        for message in batch:
            self.ack(message)
            app.monitor.stream_inbound_time[message.tp] = monotonic()
        return None

    async def _advance(self, tp: TP, message: Any) -> bool:
        """faust's read-offset bookkeeping for one message; False when it was read before (dropped)."""
        offset, read = message.offset, self._read_offset[tp]
        if read is not None and offset < read:
            return False
        if read and offset - read > 1 and self.app.topics.acks_enabled_for(message.topic):
            await self._add_gap(tp, read + 1, offset)
        if self._commit_every is not None and self._n_acked >= self._commit_every:
            self._n_acked = 0
            await self.commit()
        self._read_offset[tp] = offset
        return True

    def _forget(self, batch: list[Any]) -> None:
        """Unacknowledged messages of a dropped fetch no longer hold up a graceful stop."""
        for message in batch:
            self._unacked_messages.discard(message)

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        """faust treats missing offsets as processed (compaction); outside the changelogs that means records were
        skipped, which must never pass unnoticed."""
        if not self._is_changelog_tp(tp):
            log.warning("stream_records_skipped", topic=tp.topic, partition=tp.partition, from_offset=offset_from,
                        to_offset=offset_to - 1)
        await super()._add_gap(tp, offset_from, offset_to)


class FetchWaitTransport(faust_aiokafka.Transport):
    """faust aiokafka Transport using FetchWaitConsumer."""

    Consumer = FetchWaitConsumer
