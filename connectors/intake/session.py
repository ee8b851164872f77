"""Process glue shared by the file drop and SQL polling commands: an Intake wired to the database and Kafka."""
from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from connectors.intake.submit import Intake, build_intake
from runtime.settings import Settings


@contextmanager
def intake_session(settings: Settings) -> Iterator[tuple[Intake, Settings]]:
    """Reach (or start) Kafka, migrate the database, provision topics, re-send what the journal holds unsent.

    Like `drive-alerts intake`: a broker started here is empty, so the whole journal is replayed;
    otherwise only rows journaled but never acknowledged (e.g. before a crash) are sent again.
    """
    from migrations import upgrade
    from runtime.db import make_engine
    from runtime.kafka import broker_for, ensure_topics, make_producer, with_bootstrap
    from schemas.catalogue import CATALOGUE

    started_broker = settings.uses_embedded_broker
    with broker_for(settings) as bootstrap:
        settings = with_bootstrap(settings, bootstrap)
        url = settings.resolved_database_url
        upgrade(url)
        engine = make_engine(url)
        ensure_topics(settings, CATALOGUE.values())
        producer = make_producer(settings)
        try:
            intake = build_intake(settings, engine, producer)
            intake.reseed_all() if started_broker else intake.republish_pending()
            yield intake, settings
            intake.flush()
        finally:
            producer.close()
            engine.dispose()


def signal_stop() -> threading.Event:
    """An event set by SIGINT or SIGTERM, for a polling loop to stop cleanly."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop
