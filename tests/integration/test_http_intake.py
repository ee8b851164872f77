"""Integration tests of the HTTP intake on a real server, the real Tansu broker and SQLite/PostgreSQL."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from connectors.http.agencies import AgencyRegistry, intake_replay_guard, load_agencies
from connectors.http.app import make_app
from connectors.intake.submit import Intake, build_intake
from migrations import upgrade
from runtime.db import make_engine
from runtime.kafka import make_producer
from runtime.settings import Settings
from runtime.topics import ensure_topics
from schemas.catalogue import TOPICS
from schemas.codec import AvroCodec
from tests.kafka_helpers import read_topic
from tests.samples.events import sample

pytestmark = pytest.mark.integration

POLICE_KEY, OLD_KEY, COURT_KEY, EM_KEY = "it-police-key", "it-police-old", "it-court-key", "it-em-key"
SECRET = "it-police-hmac-secret"
NAME = "Zebedee Quartermaine"


def _sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


AGENCIES_YAML = f"""
agencies:
  - id: police-wm
    topics: [incident, bail, breach]
    api_keys: [{{id: p1, sha256: {_sha(POLICE_KEY)}}}, {{id: p0, sha256: {_sha(OLD_KEY)}}}]
    revoked_key_ids: [p0]
    hmac_secrets: [{{id: h1, secret_env: IT_POLICE_HMAC}}]
  - id: hmcts
    topics: [court]
    api_keys: [{{id: c1, sha256: {_sha(COURT_KEY)}}}]
  - id: em-provider
    topics: [breach]
    event_types: {{breach: [EM_ZONE_ENTRY, EM_ZONE_EXIT]}}
    api_keys: [{{id: e1, sha256: {_sha(EM_KEY)}}}]
"""


@dataclass
class Stack:
    settings: Settings
    intake: Intake
    codec: AvroCodec

    def read(self, topic: str, n: int = 100, timeout: float = 2.0) -> list[tuple[bytes, dict[str, Any]]]:
        """Flush, then every record on a topic as (key, decoded value)."""
        self.intake.flush()
        records = read_topic(self.settings.kafka_bootstrap, self.settings.topic(topic), n, timeout, to_end=True)
        return [(key, self.codec.decode(value)) for key, value, _ in records]


@pytest.fixture
def stack(settings_factory: Any, database_url: str) -> Iterator[Stack]:
    settings = settings_factory(intake_max_body_bytes=16_384, intake_max_batch=4)
    upgrade(database_url)
    engine = make_engine(database_url)
    ensure_topics(settings, TOPICS.values())
    producer = make_producer(settings)
    try:
        yield Stack(settings, build_intake(settings, engine, producer), AvroCodec(prefix=settings.topic_prefix))
    finally:
        producer.close()
        engine.dispose()


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[TestClient]:
    agencies = registry_for(stack.settings, stack.intake)
    app = make_app(stack.settings, stack.intake, agencies, republish_every_s=3600)
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client


def registry_for(settings: Settings, intake: Intake, yaml: str = AGENCIES_YAML) -> AgencyRegistry:
    """The test agencies, their HMAC replay guard in the intake's database."""
    max_age = settings.intake_signature_max_age_s
    return AgencyRegistry(load_agencies(yaml, env={"IT_POLICE_HMAC": SECRET}),
                          replays=intake_replay_guard(intake.journal.engine, max_age), max_age_s=max_age)


def incident(**overrides: Any) -> dict[str, Any]:
    """A DOMESTIC_INCIDENT as police-wm sends it (without the downstream-only name_hash)."""
    record = sample("incident", "DOMESTIC_INCIDENT", **overrides)
    record.pop("name_hash", None)
    return record


def bearer(key: str = POLICE_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def signed(body: bytes, ts: int | None = None, secret: str = SECRET) -> dict[str, str]:
    ts = int(time.time()) if ts is None else ts
    signature = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Drive-Agency": "police-wm", "X-Drive-Timestamp": str(ts), "X-Drive-Signature": f"v1={signature}",
            "Content-Type": "application/json"}


PROBLEM_MEMBERS = ("type", "title", "detail")


def legacy(body: Any) -> Any:
    """An answer as it was before problem+json: without the members problem+json adds (the rest must be unchanged)."""
    if not isinstance(body, dict):
        return body
    out = {k: v for k, v in body.items() if k not in PROBLEM_MEMBERS}
    if "errors" in out:
        out["errors"] = [{"path": e["path"], "message": e["message"]} for e in out["errors"]]
    if "results" in out:
        out["results"] = [legacy(r) for r in out["results"]]
    return out


async def post_raw(client: TestClient, topic: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **(bearer() if headers is None else headers)}
    return await client.post(f"/v1/topics/{topic}/events", data=data, headers=headers)


async def post(client: TestClient, topic: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """POST; the status and the answer's fields as they were before problem+json (legacy)."""
    response = await post_raw(client, topic, body, headers)
    return response.status, legacy(await response.json())


def dead_letters(stack: Stack) -> list[dict[str, Any]]:
    return [value for _, value in stack.read("dead-letter")]


def sealed_raw(stack: Stack, letter: dict[str, Any]) -> bytes:
    """The raw bytes a dead letter keeps sealed in the vault."""
    found = stack.intake.vault.open(letter["dead_letter_id"])
    assert found is not None
    return found.data


async def test_single_record_accepted_and_published(client: TestClient, stack: Stack) -> None:
    """202 with the event id; the record is on the topic, keyed by its first person id, with the name hashed."""
    record = incident(person_name=NAME)
    status, body = await post(client, "incident", record)
    assert (status, body) == (202, {"status": "accepted", "event_id": record["event_id"]})
    [(key, value)] = stack.read("incident")
    assert key == b"PNC:2019/0012345A"
    assert value["event_id"] == record["event_id"]
    assert value["name_hash"] == stack.intake.hasher.hash_name(NAME)


async def test_duplicate_answers_the_same_and_publishes_nothing(client: TestClient, stack: Stack) -> None:
    """Resending a record gives 200 duplicate with the same body, and the topic still holds one record."""
    record = incident()
    assert (await post(client, "incident", record))[0] == 202
    status, body = await post(client, "incident", record)
    assert (status, body) == (200, {"status": "duplicate", "event_id": record["event_id"]})
    assert len(stack.read("incident")) == 1


async def test_conflict(client: TestClient, stack: Stack) -> None:
    """The same event_id with other content: 409 and a dead letter; only the first record is published."""
    record = incident()
    await post(client, "incident", record)
    status, body = await post(client, "incident", incident(event_id=record["event_id"], details__weapon=True))
    assert status == 409
    assert body == {"status": "conflict", "event_id": record["event_id"],
                    "errors": [{"path": "event_id", "message": "already used by this agency for a different record"}],
                    "reason": "event_id reused with different content", "code": "EVENT_ID_CONFLICT"}
    assert len(stack.read("incident")) == 1
    assert [d["reason"] for d in dead_letters(stack)] == ["EVENT_ID_CONFLICT"]


@pytest.mark.parametrize(("headers", "reason"), [
    ({}, "missing credentials: send Authorization: Bearer <api key> or an X-Drive-Signature"),
    ({"Authorization": "Bearer not-a-key"}, "invalid API key"),
    ({"Authorization": f"Bearer {OLD_KEY}"}, "API key revoked"),
    ({"Authorization": "Basic abc"}, "Authorization must be 'Bearer <api key>'"),
])
async def test_bad_credentials_get_401(client: TestClient, stack: Stack, headers: dict[str, str], reason: str) -> None:
    """Missing, wrong, revoked or malformed credentials: 401 with the reason; nothing published or dead-lettered."""
    status, body = await post(client, "incident", incident(), headers)
    assert (status, body) == (401, {"status": "error", "reason": reason, "code": "UNAUTHENTICATED"})
    assert stack.read("incident", timeout=1.5) == [] and dead_letters(stack) == []


async def test_hmac_good_bad_stale_replayed(client: TestClient, stack: Stack) -> None:
    """A good signature is accepted once; a bad, stale or replayed one gets 401 with its reason."""
    body = json.dumps(incident()).encode()
    good = signed(body)
    assert (await post(client, "incident", body, good))[0] == 202
    refused = {"status": "error", "code": "UNAUTHENTICATED"}
    assert await post(client, "incident", body, good) == (401, {**refused, "reason": "signature already used (replay)"})
    assert await post(client, "incident", body, signed(body, secret="wrong")) == (
        401, {**refused, "reason": "invalid signature"})
    assert await post(client, "incident", body, signed(body, ts=int(time.time()) - 301)) == (
        401, {**refused, "reason": "signature timestamp outside the allowed window"})
    assert len(stack.read("incident")) == 1


async def test_topic_outside_agency_scope_is_403(client: TestClient, stack: Stack) -> None:
    """An agency posting to a topic it may not use: 403 with the reason, and a NOT_ALLOWED dead letter."""
    record = sample("court", "HEARING_LISTED")
    status, body = await post(client, "court", record, bearer(POLICE_KEY))
    assert status == 403
    assert body["reason"] == "agency police-wm may not send to topic court"
    assert [(d["reason"], d["intended_topic"]) for d in dead_letters(stack)] == [("NOT_ALLOWED", "court")]


async def test_event_type_outside_agency_scope_is_403(client: TestClient, stack: Stack) -> None:
    """An agency limited to some event types of a topic gets 403 for the others."""
    record = sample("breach", "EM_TAG_TAMPER")
    status, body = await post(client, "breach", record, bearer(EM_KEY))
    reason = "agency em-provider may not send this event type on topic breach"
    assert (status, body) == (403, {"status": "rejected", "event_id": record["event_id"],
                                    "errors": [{"path": "event_type", "message": reason}], "reason": reason,
                                    "code": "NOT_ALLOWED"})
    ok = sample("breach", "EM_ZONE_ENTRY")
    assert await post(client, "breach", ok, bearer(EM_KEY)) == (202, {"status": "accepted", "event_id": ok["event_id"]})


async def test_unknown_topic_is_404(client: TestClient, stack: Stack) -> None:
    """An unknown topic: 404 naming the topics, and an UNKNOWN_TOPIC dead letter."""
    status, body = await post(client, "parking", incident())
    assert status == 404
    assert body["reason"] == "unknown topic; topics: incident, bail, court, breach, case"
    assert [(d["reason"], d["intended_topic"]) for d in dead_letters(stack)] == [("UNKNOWN_TOPIC", None)]


async def test_body_not_json_is_400_and_dead_lettered(client: TestClient, stack: Stack) -> None:
    """Bytes that are not JSON: 400 with the parser's reason; the raw bytes are dead-lettered."""
    raw = b'{"event_id": "x", oops'
    status, body = await post(client, "incident", raw)
    assert (status, body["reason"]) == (400, "body is not valid JSON: Expecting property name enclosed in double "
                                             "quotes at line 1 column 19")
    [letter] = dead_letters(stack)
    assert (letter["reason"], letter["source"]["agency"]) == ("UNPARSEABLE", "police-wm")
    assert sealed_raw(stack, letter) == raw and b"event_id" not in letter["raw"]
    assert json.loads(letter["raw"])["bytes"] == len(raw)


async def test_body_not_an_object_is_400(client: TestClient) -> None:
    """A JSON array or string is not a record."""
    status, body = await post(client, "incident", [incident()])
    assert (status, body["reason"]) == (400, 'body must be a JSON object (one record) or {"records": [...]}')


async def test_wrong_content_type_is_415(client: TestClient) -> None:
    """Only JSON bodies are accepted."""
    status, body = await post(client, "incident", b"a,b,c", {**bearer(), "Content-Type": "text/csv"})
    assert (status, body["reason"]) == (415, "content type must be application/json")


async def test_oversized_body_is_413_with_json(client: TestClient) -> None:
    """A body over the limit is refused as 413 with a JSON reason, by Content-Length and when streamed."""
    big = json.dumps({"records": [incident()] * 40}).encode()
    assert len(big) > 16_384
    assert await post(client, "incident", big) == (413, {"status": "error", "reason": "body over the limit of 16384 bytes",
                                                         "code": "TOO_LARGE"})

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 4096):
            yield big[start:start + 4096]

    response = await client.post("/v1/topics/incident/events", data=chunks(),
                                  headers={**bearer(), "Content-Type": "application/json"})
    assert (response.status, legacy(await response.json())) == (
        413, {"status": "error", "reason": "body over the limit of 16384 bytes", "code": "TOO_LARGE"})


async def test_batch_too_large_is_413(client: TestClient, stack: Stack) -> None:
    """More records than intake_max_batch: 413 and nothing published."""
    status, body = await post(client, "incident", {"records": [incident() for _ in range(5)]})
    assert (status, body["reason"]) == (413, "batch of 5 records is over the limit of 4")
    assert stack.read("incident", timeout=1.5) == []


@pytest.mark.parametrize(("change", "path", "message"), [
    ({"details__offence_category": "FIGHTING"}, "details.offence_category",
     "must be one of ASSAULT, CRIMINAL_DAMAGE, HARASSMENT, STALKING, COERCIVE_CONTROL, THREATS, SEXUAL, "
     "BREACH_OF_ORDER, OTHER"),
    ({"shoe_size": 42}, "shoe_size", "unknown field"),
    ({"occurred_at": "2026-11-22T09:41:00"}, "occurred_at",
     "must include a time zone (Z or +HH:MM), e.g. 2026-11-22T10:00:00Z"),
    ({"event_type": "BAIL_GRANTED"}, "event_type",
     "must be one of DOMESTIC_INCIDENT, ARREST, CUSTODY_RELEASE, CHARGE_DECISION"),
    ({"source__agency": "police-xx"}, "source.agency", "must be the sending agency 'police-wm'"),
])
async def test_invalid_record_is_422_with_the_field(client: TestClient, stack: Stack, change: dict[str, Any],
                                                    path: str, message: str) -> None:
    """An invalid field, unknown field, naive timestamp, wrong event type or foreign source.agency: 422 by path."""
    record = incident(**change)
    status, body = await post(client, "incident", record)
    assert status == 422
    assert body == {"status": "rejected", "event_id": record["event_id"], "errors": [{"path": path, "message": message}],
                    "reason": f"1 invalid field(s): {path}: {message}", "code": body["code"]}
    assert body["code"] in ("VALIDATION_FAILED", "AGENCY_MISMATCH")
    [letter] = dead_letters(stack)
    kept_path = path if path != "shoe_size" else f"#{stack.intake.hasher.fingerprint('shoe_size')[:8]}"
    assert letter["errors"] == [{"path": kept_path, "message": message}]  # an unknown field name may be anything
    assert json.loads(sealed_raw(stack, letter)) == record
    assert stack.read("incident", timeout=1.5) == []


async def test_mixed_batch_is_207_and_good_records_flow(client: TestClient, stack: Stack) -> None:
    """A batch with good and bad records: 207, per-record results, good ones published, bad ones dead-lettered."""
    good, bad, again = incident(), incident(details__injury="yes"), incident()
    status, body = await post(client, "incident", {"records": [good, bad, again, good]})
    assert status == 207
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 1, 1)
    assert [(r["index"], r["status"], r["event_id"]) for r in body["results"]] == [
        (0, "accepted", good["event_id"]), (1, "rejected", bad["event_id"]),
        (2, "accepted", again["event_id"]), (3, "duplicate", good["event_id"])]
    assert body["results"][1]["errors"] == [{"path": "details.injury", "message": body["results"][1]["errors"][0]["message"]}]
    assert {v["event_id"] for _, v in stack.read("incident")} == {good["event_id"], again["event_id"]}
    [letter] = dead_letters(stack)
    assert letter["source"]["location"] == "POST /v1/topics/incident/events#1"


async def test_batch_statuses_all_good_and_all_bad(client: TestClient) -> None:
    """202 when every record is accepted or duplicate; 422 when every record is refused."""
    first = incident()
    status, body = await post(client, "incident", {"records": [first, incident()]})
    assert (status, body["accepted"]) == (202, 2)
    status, body = await post(client, "incident", {"records": [first, incident()]})
    assert (status, body["duplicates"], body["accepted"]) == (202, 1, 1)
    status, body = await post(client, "incident", {"records": [{"event_id": "x"}, 7]})
    assert (status, body["rejected"]) == (422, 2)


async def test_person_name_never_leaves_in_clear(client: TestClient, stack: Stack, capsys: pytest.CaptureFixture[str],
                                                 caplog: pytest.LogCaptureFixture) -> None:
    """A seeded name is in no topic bytes, dead-letter bytes, journal row or log line."""
    caplog.set_level("DEBUG")
    await post(client, "incident", incident(person_name=NAME))
    await post(client, "incident", incident(person_name=NAME, details__weapon="knife"))
    await post(client, "incident", {"records": [incident(person_name=NAME), incident(person_name=NAME, x=1)]})
    await post(client, "incident", json.dumps(incident(person_name=NAME)).encode()[:-3])
    stack.intake.flush()
    bootstrap = stack.settings.kafka_bootstrap
    raw_records = [r for t in ("incident", "dead-letter")
                   for r in read_topic(bootstrap, stack.settings.topic(t), 100, timeout=3.0, to_end=True)]
    assert len(raw_records) == 5
    for key, value, _ in raw_records:
        assert NAME.encode() not in (key or b"") + (value or b"")
        assert NAME.lower().encode() not in (value or b"").lower()
    for entry in stack.intake.journal.all_in_order():
        assert NAME.encode() not in entry.value and NAME not in entry.location + entry.key
    captured = capsys.readouterr()
    assert NAME not in caplog.text + captured.out + captured.err


async def test_health_and_readiness(client: TestClient) -> None:
    """/healthz is 200; /readyz is 200 with the producer connected and the database reachable."""
    response = await client.get("/healthz")
    assert (response.status, await response.json()) == (200, {"status": "ok"})
    response = await client.get("/readyz")
    assert (response.status, await response.json()) == (200, {"status": "ok", "reason": "ready"})


async def test_unknown_route_answers_json(client: TestClient) -> None:
    """Routes that do not exist answer 404 in JSON too."""
    response = await client.get("/v2/nothing")
    assert (response.status, legacy(await response.json())) == (
        404, {"status": "error", "reason": "Not Found", "code": "NOT_FOUND"})
    assert response.content_type == "application/problem+json"


async def test_readiness_is_503_when_the_database_is_unreachable(stack: Stack, tmp_path: Any) -> None:
    """/readyz answers 503 naming the database when the journal cannot be reached."""
    import sqlalchemy as sa

    from connectors.intake.journal import Journal

    engine = sa.create_engine(f"sqlite:///{tmp_path}/missing/dir/x.db")
    broken = Intake(journal=Journal(engine), publisher=stack.intake.publisher, hasher=stack.intake.hasher,
                    vault=stack.intake.vault)
    app = make_app(stack.settings, broken, AgencyRegistry([], replays=intake_replay_guard(engine, 300)),
                   republish_every_s=3600)
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        response = await test_client.get("/readyz")
        assert (response.status, await response.json()) == (
            503, {"status": "unavailable", "reason": "database unreachable (OperationalError)"})
        # The one real 503 of a POST: the intake's own database is down (retry later), never the client's input.
        broken_agencies = AgencyRegistry(load_agencies(AGENCIES_YAML, env={}), replays=intake_replay_guard(engine, 300))
        app_down = make_app(stack.settings, broken, broken_agencies, republish_every_s=3600)
        async with TestClient(TestServer(app_down, host="127.0.0.1")) as down:
            response = await down.post("/v1/topics/incident/events", json=incident(), headers=bearer())
            assert response.status == 503 and response.headers["Retry-After"] == "5"
            assert (await response.json())["code"] == "UNAVAILABLE"
