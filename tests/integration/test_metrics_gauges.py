"""The gauges ops look at, computed from real parts: consumer lag on the real broker, the ledger gauges and the
escalations counter over a real ledger (SQLite and PostgreSQL)."""
from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy.orm import Session

from consumers.acks.acknowledge import acknowledge
from consumers.chronology.feed import group_id as chronology_group
from consumers.delivery.service import dispatcher_group
from consumers.escalation.runner import run_escalations
from consumers.ledger.models import FAILED, Delivery, deliveries_of
from consumers.metrics import UNACKNOWLEDGED, LedgerGauges, refresh_ledger_gauges
from entrypoints import bootstrap
from entrypoints.bootstrap import provision
from runtime.consumer_lag import LagSampled
from runtime.kafka import make_consumer, make_producer
from runtime.topics import ensure_topics
from schemas.catalogue import TOPICS
from schemas.subject_events import SUBJECT_EVENTS
from streams.app import app_id
from tests.fakes import delivery_samples as samples
from tests.fakes.delivery_samples import CM, IDVA
from tests.integration.streams_harness import Feed, idle, start_worker, stop_worker, wait_until
from tests.integration.test_delivery_dispatcher import (  # noqa: F401 - fixture
    _publish,
    _run_dispatcher,
    _wait_for,
    dispatcher_settings,
)
from tests.unit.ack_ledger_helpers import T0, ledger_session, seed_alert, seed_staff
from tests.unit.test_escalation_runner import SETTINGS

pytestmark = pytest.mark.integration


def _value(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def test_a_consumer_records_its_own_lag_from_its_fetches(settings: Any) -> None:
    """30 records, 10 handled: lag 20 on that topic for that group; all handled: 0 (sampled before each poll)."""
    ensure_topics(settings, [TOPICS["delivery"]])
    topic, group = settings.topic("delivery"), f"lag-test-{uuid.uuid4().hex[:8]}"
    producer = make_producer(settings)
    for n in range(30):
        producer.send(topic, key=b"k", value=f"record-{n}".encode())
    producer.flush()
    producer.close()
    consumer = LagSampled(make_consumer(settings, topic, group_id=group), group, [topic], every_s=0)
    try:
        taken = 0
        for _ in range(100):
            taken += sum(len(batch) for batch in consumer.poll(timeout_ms=500, max_records=10 - taken).values())
            if taken == 10:
                break
        assert taken == 10
        consumer.sample()
        assert _value("drive_consumer_lag", group=group, topic=topic) == 20
        for _ in range(100):
            taken += sum(len(batch) for batch in consumer.poll(timeout_ms=500).values())
            if taken == 30:
                break
        consumer.poll(timeout_ms=100)  # sampled before polling: the 30 are handled
        assert taken == 30 and _value("drive_consumer_lag", group=group, topic=topic) == 0
    finally:
        consumer.close()


def test_the_ledger_gauges_count_duties_and_deliveries_by_their_state(database_url: str) -> None:
    """Two recipients unacknowledged, then one; four messages pending, then a failed one counted as failed."""
    with ledger_session(database_url) as session:
        seed_staff(session)
        row = seed_alert(session)
        session.commit()
        refresh_ledger_gauges(session, T0 + timedelta(minutes=5))
        assert _value("drive_unacknowledged_alerts", severity="CRITICAL") == 2
        assert _value("drive_unacknowledged_alerts", severity="HIGH") == 0
        assert _value("drive_oldest_unacknowledged_seconds", severity="CRITICAL") == 300
        assert (_value("drive_deliveries_pending", channel="SMS"), _value("drive_deliveries_pending", channel="EMAIL")) \
            == (2, 2)
        assert _value("drive_oldest_pending_delivery_seconds") == 300
        assert acknowledge(session, row.ack_code, CM, "WEB", T0 + timedelta(minutes=6)).status == "ACKNOWLEDGED"
        sms = next(d for d in deliveries_of(session, row.alert_id, IDVA) if d.channel == "SMS")
        sms.state, sms.failed_at = FAILED, T0 + timedelta(minutes=6)
        session.commit()
        refresh_ledger_gauges(session, T0 + timedelta(minutes=7))
        assert _value("drive_unacknowledged_alerts", severity="CRITICAL") == 1
        assert _value("drive_deliveries_pending", channel="SMS") == 1
        assert _value("drive_deliveries_failed_recent", channel="SMS") == 1
        refresh_ledger_gauges(session, T0 + timedelta(days=2))  # failed more than a day ago: no longer recent
        assert _value("drive_deliveries_failed_recent", channel="SMS") == 0


def test_escalations_are_counted_once_committed(database_url: str) -> None:
    """A rolled-back escalation counts nothing; a committed one counts each recipient escalated, by level."""
    before = _value("drive_escalations_total", level="1") or 0
    with ledger_session(database_url) as session:
        seed_staff(session)
        seed_alert(session)
        session.commit()
        assert len(run_escalations(session, T0 + timedelta(minutes=15), SETTINGS).escalated) == 2
        session.rollback()
        assert (_value("drive_escalations_total", level="1") or 0) == before
        assert len(run_escalations(session, T0 + timedelta(minutes=15), SETTINGS).escalated) == 2
        session.commit()
    assert _value("drive_escalations_total", level="1") == before + 2


def test_the_dispatchers_gauge_companion_refreshes_until_stopped(database_url: str) -> None:
    """LedgerGauges.run refreshes at once and then every interval, and returns when stopped."""
    with ledger_session(database_url) as session:
        seed_staff(session)
        seed_alert(session, severity="HIGH")
        session.commit()
        UNACKNOWLEDGED.labels(severity="HIGH").set(-1)  # the registry is the process's: no value left by another test
        stop = threading.Event()
        gauges = LedgerGauges(lambda: Session(session.get_bind()), every_s=0.05, now=lambda: T0)
        thread = threading.Thread(target=gauges.run, args=(stop,))
        thread.start()
        try:
            for _ in range(100):
                if _value("drive_unacknowledged_alerts", severity="HIGH") == 2:
                    break
                stop.wait(0.05)
            assert _value("drive_unacknowledged_alerts", severity="HIGH") == 2
        finally:
            stop.set()
            thread.join(5)
        assert not thread.is_alive()
        assert session.query(Delivery).count() == 4


def test_the_dispatcher_process_exports_its_gauges(dispatcher_settings: Any) -> None:  # noqa: F811
    """`drive-alerts dispatcher` as built by the bootstrap: ledger gauges and the lag of its group appear."""
    settings = dispatcher_settings.model_copy(update={"metrics_refresh_s": 0.2})
    for staff_id in (samples.CM, samples.IDVA):
        _publish(settings, "case", f"staff:{staff_id}", samples.staff_event(staff_id))
    alert = samples.sample_alert_record(severity="CRITICAL")
    _publish(settings, "alert", alert["subject_id"], alert)
    UNACKNOWLEDGED.labels(severity="CRITICAL").set(-1)
    stop = threading.Event()
    thread = threading.Thread(target=_run_dispatcher, args=(settings, stop), daemon=True)
    thread.start()
    try:
        _wait_for(lambda: _value("drive_unacknowledged_alerts", severity="CRITICAL") == 2, what="the ledger gauge")
        assert _wait_for(lambda: _value("drive_consumer_lag", group=dispatcher_group(settings),
                                        topic=settings.topic("alert")) is not None, what="the dispatcher's lag")
        _wait_for(lambda: _value("drive_consumer_lag", group=dispatcher_group(settings),
                                 topic=settings.topic("alert")) == 0, what="the alert consumed")
    finally:
        stop.set()
        thread.join(30)


def test_the_chronology_feed_process_exports_its_lag_and_is_ready(dispatcher_settings: Any) -> None:  # noqa: F811
    """`drive-alerts chronology-feed` as built by the bootstrap: ready once it reads, the lag of its group appears."""
    settings = dispatcher_settings.model_copy(update={"metrics_refresh_s": 0.2, "chronology_metrics_port": 0})
    stop = threading.Event()
    feeds: list[Any] = []

    def run() -> None:
        with bootstrap.chronology_feed(settings) as feed:
            feeds.append(feed)
            feed.serve(stop)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        _wait_for(lambda: _value("drive_consumer_lag", group=chronology_group(settings),
                                 topic=settings.topic(SUBJECT_EVENTS)) is not None, what="the chronology feed's lag")
        assert feeds and feeds[0].ready.is_set()
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()


@pytest.mark.timeout(180)
async def test_a_worker_records_its_lag_on_the_topics_it_works_from(settings: Any, tmp_path: Any) -> None:
    """The worker as the bootstrap builds it: a lag gauge per topic it reads (not its changelogs), 0 once idle."""
    settings = settings.model_copy(update={"metrics_refresh_s": 0.2})
    await asyncio.to_thread(provision, settings)
    feed = Feed(settings)
    try:
        feed.send("case", "CASE_OPENED")
        feed.send("bail", "BAIL_GRANTED")
        app = bootstrap.WorkerProcess(settings, tmp_path / "w", threading.Event()).create_app()
        worker = await start_worker(app)
        try:
            await wait_until(lambda: idle(app, {"case": 1, "bail": 1}), timeout=60)
            group, bail = app_id(settings), settings.topic("bail")
            await wait_until(lambda: _value("drive_consumer_lag", group=group, topic=bail) == 0, timeout=30)
            assert _value("drive_consumer_lag", group=group, topic=settings.topic(SUBJECT_EVENTS)) is not None
            changelogs = [t for t in app.consumer.assignment() if t.topic.endswith("-changelog")]
            assert all(_value("drive_consumer_lag", group=group, topic=t.topic) is None for t in changelogs)
        finally:
            await stop_worker(worker)
    finally:
        feed.close()
