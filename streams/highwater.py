"""True end offsets where the broker's ListOffsets(latest) answers "start of the last batch + 1" (Tansu)."""
from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

PROBE_TIMEOUT_S = 10.0


async def true_end_offsets(client_config: Mapping[str, Any], listed: Mapping[Any, int],
                           fetch_max_wait_ms: int) -> dict[Any, int]:
    """The listed end offsets, corrected by one fetch from each partition's listed end - 1: fetch responses carry
    the true high watermark. Keys keep their type (faust TPs stay faust TPs)."""
    result = dict(listed)
    probed = {TopicPartition(tp[0], tp[1]): tp for tp, end in listed.items() if end > 0}
    if not probed:
        return result
    consumer = AIOKafkaConsumer(group_id=None, enable_auto_commit=False, fetch_max_wait_ms=fetch_max_wait_ms,
                                **client_config)
    await consumer.start()
    try:
        consumer.assign(list(probed))
        for tp, key in probed.items():
            consumer.seek(tp, listed[key] - 1)
        pending, deadline = set(probed), time.monotonic() + PROBE_TIMEOUT_S
        while pending and time.monotonic() < deadline:
            await consumer.getmany(*pending, timeout_ms=2 * fetch_max_wait_ms, max_records=1)
            for tp in [tp for tp in pending if consumer.highwater(tp) is not None]:
                result[probed[tp]] = max(listed[probed[tp]], consumer.highwater(tp))
                pending.discard(tp)
        if pending:
            raise TimeoutError(f"no fetch answered for {sorted(map(tuple, pending))} in {PROBE_TIMEOUT_S:.0f} s")
    finally:
        await consumer.stop()
    return result
