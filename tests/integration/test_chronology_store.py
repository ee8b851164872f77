"""The chronology feed stores a polled batch at once: stored ids skipped, repeats within the batch once, each row
with the intake's acceptance time when the journal shares the database."""
from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from consumers.chronology.feed import chronology_entry, store_entries
from consumers.ledger.models import ChronologyEvent
from schemas.codec import AvroCodec
from schemas.jsonform import from_json
from tests.integration.test_delivery_ledger import session  # noqa: F401 - fixture
from tests.samples.events import sample

pytestmark = pytest.mark.integration
SUBJECT = b"DRV-000321"


def _entry(codec: AvroCodec, topic: str, event_type: str) -> ChronologyEvent:
    value = codec.encode(topic, from_json(topic, sample(topic, event_type, occurred_at="2026-11-22T09:30:00Z")))
    entry = chronology_entry(codec, SUBJECT, value, [("kind", b"event"), ("topic", topic.encode())], 1_764_000_000_000)
    assert entry is not None
    return entry


def test_a_batch_is_stored_once_whatever_was_stored_before(session: Session) -> None:
    codec = AvroCodec()
    first, second, third = (_entry(codec, "bail", "BAIL_GRANTED"), _entry(codec, "breach", "BREACH_REPORTED"),
                            _entry(codec, "court", "HEARING_LISTED"))
    assert store_entries(session, [first]) == 1
    session.commit()
    again = _entry(codec, "bail", "BAIL_GRANTED")
    again.event_id = first.event_id
    repeat = _entry(codec, "breach", "BREACH_REPORTED")
    repeat.event_id = second.event_id
    assert store_entries(session, [again, second, repeat, third]) == 2
    session.commit()
    assert store_entries(session, []) == 0
    stored = {row.event_id: row for row in session.query(ChronologyEvent)}
    assert set(stored) == {first.event_id, second.event_id, third.event_id}
    assert all(row.received_at is not None and row.subject_id == SUBJECT.decode() for row in stored.values())


def test_another_agencys_record_with_the_same_id_is_its_own_row(session: Session) -> None:
    """Each agency numbers its own events: a court record sharing a police record's id is kept beside it."""
    codec = AvroCodec()
    police, court = _entry(codec, "bail", "BAIL_GRANTED"), _entry(codec, "court", "HEARING_LISTED")
    court.event_id = police.event_id
    assert police.agency != court.agency
    assert store_entries(session, [police]) == 1
    assert store_entries(session, [court, _entry(codec, "bail", "BAIL_GRANTED")]) == 2
    session.commit()
    assert {(row.agency, row.event_id) for row in session.query(ChronologyEvent)} >= {
        (police.agency, police.event_id), (court.agency, police.event_id)}
