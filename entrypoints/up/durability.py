"""What `up` keeps across restarts of the memory-only embedded broker: the broker copy, and the journal's coverage.

At start the copy is restored into the fresh broker, then only the journal rows it does not cover are re-seeded
(restart time grows with what is alive, not with history). While running, a checkpoint every
DRIVE_EMBEDDED_CHECKPOINT_S marks as covered the source records the worker has processed (their effects are in
the copied changelogs and tails) and the case records the copy holds; the intake then erases their payloads after
DRIVE_JOURNAL_KEEP_S. A last checkpoint is taken after the components stop and before the broker does.
"""
from __future__ import annotations

import threading
from pathlib import Path

from connectors.intake.journal import Journal
from connectors.intake.retention import Retention
from connectors.intake.submit import build_intake
from consumers.chronology.feed import group_id as chronology_group
from consumers.delivery.service import dispatcher_group
from runtime.broker_copy import BrokerCopy, Checkpoint, Kept
from runtime.db import make_engine
from runtime.kafka import make_producer
from runtime.logging import get_logger
from runtime.settings import Settings
from schemas.catalogue import TOPICS
from schemas.subject_events import SUBJECT_EVENTS
from streams.app import AGENCY_TOPICS, STATE_TABLE, TIMER_TABLE, app_id, changelog_short_name
from streams.case_registry import CASE

log = get_logger(__name__)
COPY_FILE = "broker-copy.db"


def kept_topics(settings: Settings) -> list[Kept]:
    """What a real cluster would hold that the pipeline needs again, with the groups that read it."""
    streams, dispatcher, n = app_id(settings), dispatcher_group(settings), settings.stream_partitions
    return [Kept(settings.topic(CASE), "compacted", TOPICS[CASE].partitions, (streams, dispatcher)),
            Kept(settings.topic(changelog_short_name(STATE_TABLE)), "compacted", n),
            Kept(settings.topic(changelog_short_name(TIMER_TABLE)), "compacted", n),
            Kept(settings.topic(SUBJECT_EVENTS), "tail", n, (streams, chronology_group(settings))),
            Kept(settings.topic("alert"), "tail", TOPICS["alert"].partitions, (dispatcher,))]


class Durability:
    """The broker copy of one `up` run, its checkpoint thread and the journal coverage it feeds."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        groups = (app_id(settings), dispatcher_group(settings), chronology_group(settings))
        self.copy = BrokerCopy(Path(settings.data_dir) / COPY_FILE, settings, kept_topics(settings), groups)
        self.engine = make_engine(settings.resolved_database_url)
        self.journal = Journal(self.engine)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def restore(self) -> tuple[int, int]:
        """Into the fresh broker: the copy, then the journal rows it does not cover; (copied, re-seeded)."""
        copied = self.copy.restore()
        producer = make_producer(self.settings)
        try:
            reseeded = build_intake(self.settings, self.engine, producer).reseed(uncovered_only=True)
        finally:
            producer.close()
        log.info("up.restored", copied=copied, reseeded=reseeded)
        return copied, reseeded

    def start(self) -> None:
        """Checkpoints every DRIVE_EMBEDDED_CHECKPOINT_S on a thread until close()."""
        self._thread = threading.Thread(target=self._run, name="up-broker-copy", daemon=True)
        self._thread.start()

    def checkpoint(self) -> Checkpoint:
        """One checkpoint, then the journal rows it covers."""
        cut = self.copy.checkpoint()
        prefix = self.settings.topic_prefix
        for tp, offset in cut.committed.get(app_id(self.settings), {}).items():
            short = tp.topic[len(prefix):]
            if short in AGENCY_TOPICS:
                self.journal.mark_covered(short, tp.partition, offset)
        for tp, read_to in cut.read_to.items():
            if tp.topic == self.settings.topic(CASE):
                self.journal.mark_covered(CASE, tp.partition, read_to)
        return cut

    def close(self, final_checkpoint: bool = True) -> None:
        """Stops the thread; a last checkpoint (the components have stopped: nothing is lost to the next start)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if final_checkpoint:
            try:
                self.checkpoint()
            except Exception as exc:  # noqa: BLE001 - the last one is best effort: the journal still holds the rest
                log.warning("up.last_checkpoint_failed", error=type(exc).__name__)
        self.copy.close()
        self.engine.dispose()

    def _run(self) -> None:
        retention = Retention.of(self.settings)
        while not self._stop.wait(self.settings.embedded_checkpoint_s):
            try:
                self.checkpoint()
            except Exception as exc:  # noqa: BLE001 - a missed checkpoint only means the next start re-seeds more
                log.warning("up.checkpoint_failed", error=type(exc).__name__)
            retention.maybe_prune(self.journal)
