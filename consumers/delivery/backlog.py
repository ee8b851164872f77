"""Deliver what is on the topics now, then stop: the ledger, messages and chronology a replayed scenario leaves behind."""
from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from consumers.chronology.feed import ingest_record
from consumers.delivery.channels.build import build_channels
from consumers.delivery.service import CONSUMED, DispatcherService
from consumers.ledger.models import PENDING, Delivery
from runtime.codec import codec_for
from runtime.kafka import read_all
from runtime.settings import Settings
from schemas.subject_events import SUBJECT_EVENTS


@dataclass(frozen=True)
class BacklogSummary:
    """What one pass delivered."""

    alerts_recorded: int
    messages_attempted: int
    still_pending: int
    chronology_events: int


def deliver_backlog(settings: Settings, engine: Engine, out: IO[str] | None = None,
                    max_rounds: int = 20) -> BacklogSummary:
    """Record every alert on the alert topic in the ledger, send the due messages, feed the chronology; no group, no loop.

    The ledger makes it idempotent: running it twice over the same topics records and sends nothing new.
    """
    sessions = sessionmaker(engine)
    service = DispatcherService(settings, sessions, channels=build_channels(settings, out))
    recorded = service.handle(read_all(settings, *(settings.topic(t) for t in CONSUMED)))
    sent = 0
    for _ in range(max_rounds):  # transient faults back off into the future; this pass does not wait for them
        batch = service.sender.send_due()
        sent += batch
        if not batch:
            break
    chronology = _feed_chronology(settings, sessions)
    with sessions() as session:
        pending = session.scalar(select(func.count()).select_from(Delivery).where(Delivery.state == PENDING)) or 0
    return BacklogSummary(recorded, sent, pending, chronology)


def _feed_chronology(settings: Settings, sessions: sessionmaker[Any]) -> int:
    codec = codec_for(settings)
    with sessions.begin() as session:
        return sum(ingest_record(session, codec, r.key, r.value, r.headers)
                   for r in read_all(settings, settings.topic(SUBJECT_EVENTS)))
