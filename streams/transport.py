"""faust aiokafka transport: the app's fetch_max_wait_ms; a consumer closing two rebalance races that lose records."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
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
        """Resumes the held stream partitions that are still assigned, then the flow."""
        if self._held:
            super().resume_partitions(self._held & set(self.assignment()))
            self._held.clear()
        super().resume_flow()

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        """A rebalance pauses every partition again: nothing stays held."""
        self._held.clear()
        await super().on_partitions_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TP], generation_id: int = 0) -> None:
        """A new assignment starts with every partition paused: nothing stays held."""
        self._held.clear()
        await super().on_partitions_assigned(assigned, generation_id)

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
