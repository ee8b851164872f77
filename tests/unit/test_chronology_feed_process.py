"""The chronology feed's own process fails loudly: a feed that cannot read stays up with /readyz unready."""
from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import kafka.errors
from sqlalchemy.orm import sessionmaker

from consumers.chronology.feed import ChronologyFeed
from consumers.delivery.service import DispatcherService
from migrations import upgrade
from runtime.codec import codec_for
from runtime.db import make_engine
from runtime.metrics_server import MetricsServer
from runtime.settings import Settings


class _IdleConsumer:
    """A consumer with nothing to read (a stand-in for kafka-python's KafkaConsumer)."""

    def poll(self, timeout_ms: int = 0, **_: Any) -> dict[Any, Any]:
        time.sleep(timeout_ms / 1000)
        return {}

    def commit(self) -> None:
        """Nothing polled, nothing to commit."""

    def close(self) -> None:
        """Nothing to release."""


class _DeniedConsumer(_IdleConsumer):
    """What kafka-python's poll raises when the broker's ACLs deny the topic."""

    def poll(self, timeout_ms: int = 0, **_: Any) -> dict[Any, Any]:
        raise kafka.errors.TopicAuthorizationFailedError({"drive.subject-events"})


def _wait(condition: Any, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _feed(tmp_path: Path, consumer: Any) -> tuple[ChronologyFeed, MetricsServer]:
    """The feed as bootstrap.chronology_feed builds it, over a real SQLite ledger, /readyz served from feed.ready."""
    settings = Settings(data_dir=tmp_path)
    upgrade(settings.resolved_database_url)
    feed = ChronologyFeed(consumer, sessionmaker(make_engine(settings.resolved_database_url)), codec_for(settings),
                          poll_ms=50)
    return feed, MetricsServer("127.0.0.1", 0, feed.ready.is_set).start()


def _readyz(server: MetricsServer) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/readyz", timeout=2) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def _serve(feed: ChronologyFeed) -> tuple[threading.Event, threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(target=feed.serve, args=(stop,), daemon=True)
    thread.start()
    return stop, thread


def test_a_feed_denied_its_topic_is_unready_and_stays_up(tmp_path: Path) -> None:
    """Its process goes on (so /readyz and the log say why) but answers 503: it fails loudly, not quietly."""
    feed, server = _feed(tmp_path, _DeniedConsumer())
    stop, thread = _serve(feed)
    try:
        assert _wait(lambda: _readyz(server) == 503), "the feed stayed ready while it cannot read"
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(timeout=30)
        server.stop()
    assert not thread.is_alive()


def test_a_reading_feed_is_ready(tmp_path: Path) -> None:
    feed, server = _feed(tmp_path, _IdleConsumer())
    stop, thread = _serve(feed)
    try:
        assert _wait(lambda: _readyz(server) == 200)
        time.sleep(0.5)
        assert _readyz(server) == 200
    finally:
        stop.set()
        thread.join(timeout=30)
        server.stop()


def test_a_failing_dispatcher_companion_makes_the_dispatcher_unready(tmp_path: Path) -> None:
    """The dispatcher's own companions (the ledger gauges) fail loudly too: deliveries go on, /readyz says 503."""
    settings = Settings(data_dir=tmp_path, sender_interval_s=0.1, escalation_interval_s=3600)
    upgrade(settings.resolved_database_url)
    ready = threading.Event()
    service = DispatcherService(settings, sessionmaker(make_engine(settings.resolved_database_url)),
                                consumer=_IdleConsumer(), poll_ms=50, ready=ready)
    server = MetricsServer("127.0.0.1", 0, ready.is_set).start()

    def broken(_stop: threading.Event) -> None:
        raise RuntimeError("gauges cannot read the ledger")

    stop = threading.Event()
    thread = threading.Thread(target=service.serve, args=(stop, [broken]), daemon=True)
    thread.start()
    try:
        assert _wait(lambda: _readyz(server) == 503)
        assert thread.is_alive()  # deliveries go on
    finally:
        stop.set()
        thread.join(timeout=30)
        server.stop()
