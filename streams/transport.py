"""faust aiokafka transport whose worker consumer uses the app's fetch_max_wait_ms (faust hard-codes 1500 ms)."""
from __future__ import annotations

from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka


class FetchWaitConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Consumer thread that gives the aiokafka consumer the app's fetch_max_wait_ms."""

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Read by AIOKafkaConsumer.start() when it builds its Fetcher; the consumer is not started yet.
        consumer._fetch_max_wait_ms = self.app.fetch_max_wait_ms
        return consumer


class FetchWaitConsumer(faust_aiokafka.Consumer):
    """faust aiokafka Consumer using FetchWaitConsumerThread."""

    def _new_consumer_thread(self) -> FetchWaitConsumerThread:
        return FetchWaitConsumerThread(self, loop=self.loop, beacon=self.beacon)


class FetchWaitTransport(faust_aiokafka.Transport):
    """faust aiokafka Transport using FetchWaitConsumer."""

    Consumer = FetchWaitConsumer
