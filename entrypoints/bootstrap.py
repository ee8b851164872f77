"""One start-up for every process kind: each function builds what that process needs from Settings.

The shared part (`platform`): reach the cluster or start the embedded broker, migrate the database, create the topics
the process uses, serve /metrics, /healthz and /readyz. Each process kind then adds its own parts. Tests override the
defaults (a stop event, a clock, channels, a publisher) instead of rebuilding a process by hand.
"""
from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from aiohttp import web
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from connectors.filedrop.watcher import FileDrop
from connectors.http.agencies import AgencyRegistry
from connectors.http.app import make_app as make_intake_app
from connectors.intake.publisher import DEAD_LETTER_TOPIC
from connectors.intake.submit import Intake, build_intake
from connectors.mappings.config import FeedMapping, default_mappings_dir, load_mappings
from connectors.sqlpoll import SqlPoller, SqlSource, source_url
from consumers.acks.webhooks import WebhookDeps, publisher_of
from consumers.acks.webhooks import make_app as make_webhooks_app
from consumers.chronology.feed import ChronologyFeed
from consumers.chronology.feed import group_id as chronology_group
from consumers.delivery.channels.build import build_channels
from consumers.delivery.events import DELIVERY_TOPIC, DeliveryPublisher
from consumers.delivery.service import CONSUMED, DispatcherService, dispatcher_group
from consumers.ledger import utcnow
from consumers.metrics import LedgerGauges
from consumers.web.app import make_app as make_web_app
from consumers.web.deps import WebDeps
from consumers.web.oidc import OidcClient
from migrations import upgrade
from runtime.codec import codec_for
from runtime.consumer_lag import lag_sampled, watch_faust_lag
from runtime.db import make_engine
from runtime.folders import claim_numbered_folder
from runtime.kafka import broker_for, make_producer, with_bootstrap
from runtime.logging import get_logger
from runtime.metrics_server import MetricsServer, add_metrics_route, start_metrics_server
from runtime.settings import Settings
from runtime.topics import ensure_topics
from schemas.catalogue import SOURCE_TOPICS, TOPICS
from schemas.subject_events import SUBJECT_EVENTS
from streams.app import StreamsApp, app_id, create_app, internal_topic_specs

__all__ = ["DispatcherProcess", "Platform", "WorkerProcess", "chronology_feed", "database", "dispatcher",
           "feed_mappings", "filedrop", "filedrop_root", "http_intake", "intake_process", "platform", "provision",
           "signal_stop", "sqlpoll", "staff_web", "stepped_dispatcher", "webhooks", "worker"]

log = get_logger(__name__)
# The catalogue topics each process kind checks (and creates when missing) at start: only those it reads or writes,
# so that under per-service Kafka ACLs (deploy/k8s/kafka/kafka-users.yaml) its start-up needs no other topic.
INTAKE_TOPICS = (*SOURCE_TOPICS, DEAD_LETTER_TOPIC)
WORKER_TOPICS = (*SOURCE_TOPICS, "alert", DEAD_LETTER_TOPIC)
DISPATCHER_TOPICS = (*CONSUMED, DELIVERY_TOPIC)


@dataclass(frozen=True)
class Platform:
    """What every process stands on: settings bound to the broker in use, the database, and the broker's origin."""

    settings: Settings
    engine: Engine | None  # None for a process without a database (the streams worker)
    started_broker: bool  # True when this process started the (empty) embedded broker


@contextmanager
def platform(settings: Settings, *, topics: Iterable[Any] = (), database: bool = True, metrics_port: int = 0,
             ready: Callable[[], bool] | None = None) -> Iterator[Platform]:
    """The start-up every process shares; everything it opened is closed on the way out, in reverse order.

    The metrics server starts first, so /healthz answers (and /readyz says "not ready") while the rest starts.
    """
    metrics = _metrics(settings, metrics_port, ready)
    try:
        with broker_for(settings) as bootstrap, _database(settings, database) as engine:
            bound = with_bootstrap(settings, bootstrap)
            topics = list(topics)
            if topics:
                ensure_topics(bound, topics)
            yield Platform(bound, engine, started_broker=settings.uses_embedded_broker)
    finally:
        if metrics is not None:
            metrics.stop()


@contextmanager
def database(settings: Settings) -> Iterator[Engine]:
    """The process's database, migrated to the latest revision; disposed on the way out."""
    upgrade(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def _database(settings: Settings, wanted: bool) -> Iterator[Engine | None]:
    if not wanted:
        yield None
        return
    with database(settings) as engine:
        yield engine


def _metrics(settings: Settings, port: int, ready: Callable[[], bool] | None) -> MetricsServer | None:
    if not port:
        return None
    return start_metrics_server(settings.metrics_host, port, ready) if ready else start_metrics_server(
        settings.metrics_host, port)


def provision(settings: Settings) -> dict[str, str]:
    """Creates the catalogue topics and the streams' internal topics (idempotent)."""
    return ensure_topics(settings, [*TOPICS.values(), *internal_topic_specs(settings)])


@contextmanager
def intake_process(settings: Settings, *, metrics_port: int = 0) -> Iterator[tuple[Intake, Platform]]:
    """An Intake wired to the database and Kafka, with the journal's unsent rows sent (HTTP, file drop, SQL polling).

    A broker started here is empty, so the whole journal is replayed; otherwise only rows journaled but never
    acknowledged (e.g. before a crash) are sent again.
    """
    with platform(settings, topics=[TOPICS[t] for t in INTAKE_TOPICS], metrics_port=metrics_port) as base:
        producer = make_producer(base.settings)
        try:
            assert base.engine is not None
            intake = build_intake(base.settings, base.engine, producer)
            intake.reseed() if base.started_broker else intake.republish_pending()
            yield intake, base
            intake.flush()
        finally:
            producer.close()


def feed_mappings(settings: Settings) -> list[FeedMapping]:
    """The feed mappings named by the settings (default: the shipped examples)."""
    return load_mappings(settings.feed_mappings_dir or default_mappings_dir())


def filedrop_root(settings: Settings) -> Path:
    """The root of the file drop (one folder per agency)."""
    return settings.filedrop_dir or settings.data_dir / "filedrop"


def signal_stop() -> threading.Event:
    """An event set by SIGINT or SIGTERM, for a polling loop to stop cleanly."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


@contextmanager
def http_intake(settings: Settings) -> Iterator[web.Application]:
    """The HTTP intake's aiohttp application (with /metrics), over an intake process."""
    with intake_process(settings) as (intake, base):
        yield make_intake_app(base.settings, intake, AgencyRegistry.from_settings(base.settings, intake.journal.engine))


@contextmanager
def filedrop(settings: Settings, *, once: bool = False) -> Iterator[FileDrop]:
    """The file drop over an intake process (no metrics server for a single pass)."""
    port = 0 if once else settings.filedrop_metrics_port
    with intake_process(settings, metrics_port=port) as (intake, base):
        bound = base.settings
        yield FileDrop(filedrop_root(bound), intake, feed_mappings(bound), bound.filedrop_poll_s,
                       max_bytes=bound.filedrop_max_bytes, settle_s=bound.filedrop_settle_s,
                       max_cell_chars=bound.connector_max_cell_chars, batch_rows=bound.intake_max_batch)


@contextmanager
def sqlpoll(settings: Settings, *, once: bool = False) -> Iterator[list[SqlPoller]]:
    """One poller per SQL feed of the mappings, over an intake process (watermarks in the process's database)."""
    feeds = [m for m in feed_mappings(settings) if m.sql is not None]
    port = 0 if once else settings.sqlpoll_metrics_port
    with intake_process(settings, metrics_port=port) as (intake, base):
        assert base.engine is not None
        engines = {url: make_engine(url) for url in {source_url(settings, m) for m in feeds}}
        try:
            yield [SqlPoller(engines[source_url(settings, m)], SqlSource.from_mapping(m), intake, base.engine,
                             settings.sqlpoll_batch_size, settings.connector_max_cell_chars) for m in feeds]
        finally:
            for engine in engines.values():
                engine.dispose()


@dataclass
class WorkerProcess:
    """A streams worker to run: its settings, its own data folder, and the flag its /readyz answers from."""

    settings: Settings
    datadir: Path
    ready: threading.Event

    def create_app(self) -> StreamsApp:
        """The faust app; create it inside the event loop that runs it (faust binds its services to that loop).
        Its consumer's lag on the topics it works from is a gauge (its changelogs are not work to do)."""
        app = create_app(self.settings, datadir=self.datadir)
        watch_faust_lag(app, app_id(self.settings), app.batch_topics, self.settings.metrics_refresh_s)
        return app


@contextmanager
def worker(settings: Settings) -> Iterator[WorkerProcess]:
    """A streams worker in the lowest free data_dir/worker-<n> folder, its topics created."""
    datadir, lock = claim_numbered_folder(settings.data_dir, "worker")
    ready = threading.Event()
    try:
        with platform(settings, database=False, metrics_port=settings.worker_metrics_port,
                      ready=ready.is_set) as base:
            ensure_topics(base.settings, [*(TOPICS[t] for t in WORKER_TOPICS), *internal_topic_specs(base.settings)])
            yield WorkerProcess(base.settings, datadir, ready)
    finally:
        lock.close()


@contextmanager
def dispatcher(settings: Settings, *, now: Callable[[], datetime] = utcnow) -> Iterator[DispatcherProcess]:
    """The dispatcher (ledger, sender, escalation) and its companion, the ledger gauges."""
    ready = threading.Event()
    topics = [TOPICS[name] for name in DISPATCHER_TOPICS]
    with platform(settings, topics=topics, metrics_port=settings.dispatcher_metrics_port, ready=ready.is_set) as base:
        bound, sessions = base.settings, sessionmaker(base.engine)
        service = DispatcherService(bound, sessions, now=now, publisher=DeliveryPublisher.from_settings(bound),
                                    consumer=lag_sampled(bound, [bound.topic(t) for t in CONSUMED],
                                                          dispatcher_group(bound)), ready=ready)
        gauges = LedgerGauges(sessions, bound.metrics_refresh_s, now)
        yield DispatcherProcess(service, [gauges.run])


@contextmanager
def chronology_feed(settings: Settings) -> Iterator[ChronologyFeed]:
    """The chronology feed in its own process, out of the dispatcher's way (/readyz: feed.ready; lag: a gauge).
    subject-events is created as the worker creates it: subscribed first, a broker could make it with 1 partition."""
    ready = threading.Event()
    topics = [spec for spec in internal_topic_specs(settings) if spec.short_name == SUBJECT_EVENTS]
    with platform(settings, topics=topics, metrics_port=settings.chronology_metrics_port, ready=ready.is_set) as base:
        consumer = lag_sampled(base.settings, [base.settings.topic(SUBJECT_EVENTS)], chronology_group(base.settings))
        yield ChronologyFeed(consumer, sessionmaker(base.engine), codec_for(base.settings), ready=ready)


@dataclass
class DispatcherProcess:
    """The dispatcher service and the companions that run beside it on their own threads."""

    service: DispatcherService
    companions: list[Callable[[threading.Event], Any]]


@contextmanager
def webhooks(settings: Settings) -> Iterator[web.Application]:
    """The webhooks application; delivery events go to Kafka when a bootstrap is configured."""
    if settings.twilio_auth_token is None:
        log.warning("twilio_auth_token_unset", effect="every Twilio callback is refused with 403")
    with database(settings) as engine:
        publisher = DeliveryPublisher.from_settings(settings) if settings.kafka_bootstrap else None
        if publisher is None:
            log.warning("delivery_events_not_published", reason="no Kafka bootstrap; the audit trail still records all")
        try:
            app = make_webhooks_app(WebhookDeps(settings=settings, engine=engine, publish=publisher_of(publisher)))
            add_metrics_route(app)
            yield app
        finally:
            if publisher is not None:
                publisher.close()


@contextmanager
def staff_web(settings: Settings, *, now: Callable[[], datetime] = utcnow) -> Iterator[web.Application]:
    """The staff web app over the ledger database (no Kafka); sign-in codes go out through the delivery channels."""
    with database(settings) as engine:
        oidc = OidcClient(settings) if settings.uses_oidc else None
        app = make_web_app(WebDeps(settings=settings, engine=engine, channels=build_channels(settings), now=now,
                                   oidc=oidc))
        add_metrics_route(app)
        yield app


@contextmanager
def stepped_dispatcher(settings: Settings, *, now: Callable[[], datetime], out: IO[str] | None = None
                       ) -> Iterator[DispatcherService]:
    """A dispatcher with no consumer or publisher, handed records and driven step by step on the caller's clock
    (replay); the outbox, when used, also prints to `out`."""
    with database(settings) as engine:
        yield DispatcherService(settings, sessionmaker(engine), now=now, channels=build_channels(settings, out))
