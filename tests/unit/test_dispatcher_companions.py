"""A chronology feed that cannot read fails loudly: the dispatcher keeps delivering but its /readyz goes unready."""
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
    """The dispatcher's own consumer with nothing to read (a stand-in for kafka-python's KafkaConsumer)."""

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


def _dispatcher(tmp_path: Path, feed_consumer: Any) -> tuple[DispatcherService, list[Any], MetricsServer]:
    settings = Settings(data_dir=tmp_path, sender_interval_s=0.1, escalation_interval_s=3600)
    upgrade(settings.resolved_database_url)
    sessions = sessionmaker(make_engine(settings.resolved_database_url))
    ready = threading.Event()
    service = DispatcherService(settings, sessions, consumer=_IdleConsumer(), poll_ms=50, ready=ready)
    feed = ChronologyFeed(feed_consumer, sessions, codec_for(settings), poll_ms=50)
    return service, [feed.run], MetricsServer("127.0.0.1", 0, ready.is_set).start()


def _readyz(server: MetricsServer) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/readyz", timeout=2) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def _serve(service: DispatcherService, companions: list[Any]) -> tuple[threading.Event, threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(target=service.serve, args=(stop, companions), daemon=True)
    thread.start()
    return stop, thread


def test_a_feed_denied_its_topic_makes_the_dispatcher_unready(tmp_path: Path) -> None:
    service, companions, server = _dispatcher(tmp_path, _DeniedConsumer())
    stop, thread = _serve(service, companions)
    try:
        assert _wait(lambda: _readyz(server) == 503), "the dispatcher stayed ready with a dead chronology feed"
        assert thread.is_alive()  # deliveries go on
    finally:
        stop.set()
        thread.join(timeout=30)
        server.stop()


def test_a_reading_feed_leaves_the_dispatcher_ready(tmp_path: Path) -> None:
    service, companions, server = _dispatcher(tmp_path, _IdleConsumer())
    stop, thread = _serve(service, companions)
    try:
        assert _wait(lambda: _readyz(server) == 200)
        time.sleep(0.5)
        assert _readyz(server) == 200
    finally:
        stop.set()
        thread.join(timeout=30)
        server.stop()
