"""Dead-letter tooling end to end: real intake, real Tansu broker, SQLite and PostgreSQL journals."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from connectors.dead_letters.replay import DeadLetterStore, Resubmitter, replay
from connectors.filedrop.watcher import FileDrop
from connectors.intake.pseudonymise import NameHasher
from connectors.intake.sealed import vault_for
from connectors.intake.submit import Origin
from connectors.mappings.config import default_mappings_dir, load_mappings
from runtime.db import make_engine
from schemas.codec import AvroCodec
from tests.integration.intake_wiring import read_records, real_intake
from tests.integration.test_filedrop import HEADER, drop, incident_line
from tests.kafka_helpers import read_topic

pytestmark = pytest.mark.integration


def _store(settings: Any, url: str) -> DeadLetterStore:
    engine = make_engine(url)
    return DeadLetterStore(engine, AvroCodec(prefix=settings.topic_prefix), vault_for(settings, engine))


def _count(settings: Any, topic: str) -> int:
    """How many records the topic holds now (reads until quiet)."""
    return len(read_topic(settings.kafka_bootstrap, settings.topic(topic), 10_000, timeout=3.0))


def _fixed_mappings() -> list[Any]:
    """The shipped mappings, with the met incidents feed now knowing offence code XYZ (the 'fix')."""
    fixed = []
    for mapping in load_mappings(default_mappings_dir()):
        if mapping.name == "met:incidents":
            values = {**mapping.values, "offence_category": {**mapping.values["offence_category"], "XYZ": "OTHER"}}
            mapping = dataclasses.replace(mapping, values=values)
        fixed.append(mapping)
    return fixed


def test_filedrop_row_fixed_by_mapping_is_replayed_once(settings: Any, database_url: str, tmp_path: Path) -> None:
    """A CSV row refused by its mapping is re-mapped after the fix, published once with the same name hash; again: nothing."""
    root = tmp_path / "drop"
    text = HEADER + incident_line("L-0001", offence="XYZ") + "L-0002,DA_INC,too,few\n"
    drop(root, "met", "incidents_bad.csv", text)
    with real_intake(settings, database_url) as intake:
        FileDrop(root, intake, load_mappings(default_mappings_dir()), poll_s=0.1, settle_s=3600).run_once()
        store = _store(settings, database_url)
        letters = store.list()
        assert sorted(d.reason for d in letters) == ["MAPPING_FAILED", "UNPARSEABLE"]
        assert all("SMITH" not in d.raw.decode() for d in letters)
        assert store.list(reason="UNPARSEABLE")[0].location == "met/incidents_bad.csv#row=2"
        assert _count(settings, "incident") == 0

        assert not (root / "met" / "failed" / "incidents_bad.csv").exists()  # only sealed: the header is in the letter
        results = replay(store.list(), store, Resubmitter(_fixed_mappings(), None), intake)

        assert sorted(r.status for r in results) == ["accepted", "not-replayable"]
        published = read_records(settings, "incident", 5, timeout=3.0)
        assert [d["event_id"] for _, d in published] == ["met:incidents:L-0001"]
        assert published[0][1]["name_hash"] == NameHasher(settings.name_hash_key).hash_name("SMITH John")
        assert published[0][1]["details"]["offence_category"] == "OTHER"
        dead_before = _count(settings, "dead-letter")

        again = replay(store.list(), store, Resubmitter(_fixed_mappings(), root), intake)

        assert sorted(r.status for r in again) == ["not-replayable", "skipped"]
        assert _count(settings, "incident") == 1
        assert _count(settings, "dead-letter") == dead_before
        store.engine.dispose()


def _incident(event_id: str) -> dict[str, Any]:
    return {"event_id": event_id, "event_type": "ARREST", "source": {"agency": "met", "system": "niche-rms"},
            "person_ids": [{"scheme": "PNC", "value": "2019/0001234A"}], "occurred_at": "2026-07-01T21:30:00Z",
            "recorded_at": "2026-07-01T21:45:00Z", "schema_version": 2, "person_name": "Jane Example",
            "details": {"incident_ref": "MPS-1", "force_area": "E23000001", "offence_category": "ASSAULT"}}


def test_http_record_refused_under_an_old_contract_is_replayed_once(settings: Any, sqlite_url: str) -> None:
    """An HTTP body dead-lettered earlier but valid under today's contract is published once; its name stays hashed."""
    body = json.dumps(_incident("met-arrest-1")).encode()
    origin = Origin("http", "met", "POST /v1/topics/incident/events")
    with real_intake(settings, sqlite_url) as intake:
        # What the intake did when the contract of the day refused this body (the fault is now fixed).
        intake.refuse(origin, body, "1 invalid field(s)", topic="incident", content_type="application/json",
                      code="VALIDATION_FAILED", event_id="met-arrest-1")
        intake.flush()
        store = _store(settings, sqlite_url)
        [dead] = store.list()
        assert b"Jane" not in dead.raw and dead.connector == "http" and dead.agency == "met"

        first = replay([dead], store, Resubmitter([], None), intake)
        second = replay(store.list(), store, Resubmitter([], None), intake)

        assert [r.status for r in first] == ["accepted"] and [r.status for r in second] == ["skipped"]
        assert store.get(dead.dead_letter_id).replay_status == "accepted"
        published = read_records(settings, "incident", 5, timeout=3.0)
        assert [d["event_id"] for _, d in published] == ["met-arrest-1"]
        assert published[0][1]["name_hash"] == NameHasher(settings.name_hash_key).hash_name("Jane Example")
        store.engine.dispose()


def test_sender_supplied_name_hash_stays_refused(settings: Any, sqlite_url: str) -> None:
    """A record refused because the sender put name_hash in it is not replayable (only door-made hashes are trusted)."""
    record = {k: v for k, v in _incident("met-arrest-2").items() if k != "person_name"} | {"name_hash": "ab" * 32}
    with real_intake(settings, sqlite_url) as intake:
        intake.submit("incident", record, Origin("http", "met", "POST /v1/topics/incident/events"),
                      raw=json.dumps(record).encode())
        intake.flush()
        store = _store(settings, sqlite_url)

        results = replay(store.list(), store, Resubmitter([], None), intake)

        assert [r.status for r in results] == ["not-replayable"]
        assert _count(settings, "incident") == 0
        store.engine.dispose()
