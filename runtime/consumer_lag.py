"""Consumer lag per group and topic as a Prometheus gauge, sampled by each consumer itself from what it already knows.

Lag is a partition's high watermark (from the last fetch response, which Tansu reports correctly, unlike its
ListOffsets) minus the consumer's position, summed per topic over the partitions this process owns: no broker
call, and at most once every DRIVE_METRICS_REFRESH_S. Each process exports its own share (sum by group and
topic across processes for the whole). A kafka-python consumer is wrapped (LagSampled: sampled on its own thread,
just before each poll, when the records of the previous poll are handled); a faust worker gets a timer.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from typing import Any

from prometheus_client import Gauge

from runtime.kafka import make_consumer
from runtime.logging import get_logger
from runtime.settings import Settings

log = get_logger(__name__)
CONSUMER_LAG = Gauge("drive_consumer_lag", "Records on a topic not yet handled by a consumer group, summed over the "
                     "partitions this process owns (high watermark of the last fetch minus position).",
                     ["group", "topic"])


def record_lag(group: str, topics: Iterable[str], lags: Iterable[tuple[str, int]]) -> None:
    """Set the gauge of each topic to the sum of its partitions' lags (0 for a topic with none owned here)."""
    totals = dict.fromkeys(topics, 0)
    for topic, lag in lags:
        totals[topic] = totals.get(topic, 0) + max(0, lag)
    for topic, total in totals.items():
        CONSUMER_LAG.labels(group=group, topic=topic).set(total)


class LagSampled:
    """A kafka-python consumer that samples its own lag before a poll, at most every `every_s` (else as it was)."""

    def __init__(self, consumer: Any, group: str, topics: Collection[str], every_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._consumer, self._group, self._topics = consumer, group, tuple(topics)
        self._every_s, self._clock, self._next = every_s, clock, 0.0

    def poll(self, *args: Any, **kwargs: Any) -> Any:
        """Sample when due, then poll."""
        if self._clock() >= self._next:
            self._next = self._clock() + self._every_s
            self.sample()
        return self._consumer.poll(*args, **kwargs)

    def sample(self) -> None:
        """Record the lag of every assigned partition whose high watermark and position are known."""
        try:
            lags = []
            for tp in self._consumer.assignment() or ():
                highwater = self._consumer.highwater(tp)
                position = self._consumer.position(tp, timeout_ms=0) if highwater is not None else None
                if position is not None:
                    lags.append((tp.topic, highwater - position))
            record_lag(self._group, self._topics, lags)
        except Exception as exc:  # noqa: BLE001 - a metric must never stop a consumer
            log.warning("consumer_lag_sample_failed", group=self._group, error=type(exc).__name__)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._consumer, name)


def lag_sampled(settings: Settings, topics: list[str], group: str) -> LagSampled:
    """A kafka-python consumer of the group on the topics that records its own lag."""
    return LagSampled(make_consumer(settings, *topics, group_id=group), group, topics, settings.metrics_refresh_s)


def watch_faust_lag(app: Any, group: str, topics: Collection[str], every_s: float) -> None:
    """A timer on a faust app recording its consumer's lag on `topics` (its changelogs are not work to do)."""
    wanted = frozenset(topics)

    async def sample() -> None:
        try:
            consumer = app.consumer
            lags = []
            for tp in consumer.assignment():
                if tp.topic in wanted and (highwater := consumer.highwater(tp)) is not None:
                    position = await consumer.position(tp)
                    if position is not None:
                        lags.append((tp.topic, highwater - position))
            record_lag(group, sorted(wanted), lags)
        except Exception as exc:  # noqa: BLE001 - a metric must never stop the worker
            log.warning("consumer_lag_sample_failed", group=group, error=type(exc).__name__)

    app.timer(interval=every_s, name="consumer-lag")(sample)
