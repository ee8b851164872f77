"""Every hostile-input case of issue 14 through the real HTTP intake (real broker; SQLite and PostgreSQL journals).

Each case is one POST an attacker or a broken integration could send: the answer is a 4xx with a reason code
and a field path (or 2xx), never a 5xx; a poisoned record in a batch costs no good record around it.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.intake.refusals import refusals
from tests.integration.intake_wiring import read_records
from tests.integration.test_http_intake import EM_KEY, POLICE_KEY, SECRET, incident
from tests.samples.events import sample
from tests.security.hostile_stack import LiveIntake, live_intake

pytestmark = pytest.mark.integration
JSON = {"Content-Type": "application/json"}
POLICE = {"Authorization": f"Bearer {POLICE_KEY}", **JSON}
LIMIT = 2_000_000
DIGITS = "<5000 digits>"  # written into the body as a bare 5,000-digit number (Python will not print one)


def deep(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = [value]
    return value


def good(tag: str = "") -> dict[str, Any]:
    return incident(event_id=f"good-{tag}{uuid.uuid4().hex[:12]}")


# poison name -> (change to a good incident, expected code, expected field error code, expected error path).
# The code is the refusal's (the dead letter's reason): the contract's bounded parser refuses what cannot be read
# (TOO_DEEP, TOO_LONG, NOT_UTF8), the contract's validator the rest (VALIDATION_FAILED, the field's own code).
POISONS: dict[str, tuple[dict[str, Any], str, str, str]] = {
    "deep field": ({"details__incident_ref": deep(900)}, "TOO_DEEP", "too_deep", "details.incident_ref"),
    "lone surrogate id": ({"event_id": "x-\ud800"}, "NOT_UTF8", "encoding", "event_id"),
    "time before year 1 in UTC": ({"occurred_at": "0001-01-01T00:30:00+01:00"}, "VALIDATION_FAILED", "out_of_range",
                                  "occurred_at"),
    "time after year 9999 in UTC": ({"occurred_at": "9999-12-31T23:30:00-01:00"}, "VALIDATION_FAILED", "out_of_range",
                                    "occurred_at"),
    "5,000-digit integer": ({"schema_version": DIGITS}, "TOO_LONG", "number_too_long", "schema_version"),
    "900 KB incident_ref": ({"details__incident_ref": "R" * 900_000}, "TOO_LONG", "too_long", "details.incident_ref"),
    "5,000-character PNC id": ({"person_ids": [{"scheme": "PNC", "value": "1" * 5000}]}, "VALIDATION_FAILED",
                               "too_long", "person_ids[0].value"),
    "NUL in event_id": ({"event_id": "evt-\x00-1"}, "VALIDATION_FAILED", "characters", "event_id"),
    "bidi override in event_id": ({"event_id": "evt-\u202e1-gpj"}, "VALIDATION_FAILED", "characters", "event_id"),
    "zero-width space in event_id": ({"event_id": "evt-\u200b1"}, "VALIDATION_FAILED", "characters", "event_id"),
    "an incident dated 2999": ({"occurred_at": "2999-01-01T00:00:00Z"}, "VALIDATION_FAILED", "out_of_window",
                               "occurred_at"),
    # codes are codes: free text in a code field never reaches an alert text
    "a street address as force_area": ({"details__force_area": "1 Leeds Rd"}, "VALIDATION_FAILED", "too_long",
                                       "details.force_area"),
    "a name as a victim ref": ({"details__victim_refs": ["Jane Smith"]}, "VALIDATION_FAILED", "pattern",
                               "details.victim_refs[0]"),
    "free text as incident_ref": ({"details__incident_ref": "Jane's flat"}, "VALIDATION_FAILED", "pattern",
                                  "details.incident_ref"),
}


def poisoned(name: str) -> dict[str, Any]:
    change = POISONS[name][0]
    return incident(**change) if "event_id" in change else incident(event_id=f"poison-{uuid.uuid4().hex}", **change)


def body_of(value: Any) -> bytes:
    # ensure_ascii: a lone surrogate travels as the \ud800 escape
    return json.dumps(value).encode().replace(json.dumps(DIGITS).encode(), b"9" * 5000)


@pytest.fixture
def live(settings_factory: Any, database_url: str) -> Iterator[LiveIntake]:
    with live_intake(settings_factory(intake_max_body_bytes=LIMIT), database_url) as served:
        yield served


def letters_by_reason(live: LiveIntake) -> dict[str, int]:
    live.intake.flush()
    counts: dict[str, int] = {}
    for _, letter in read_records(live.settings, "dead-letter", 1000, timeout=5):
        counts[letter["reason"]] = counts.get(letter["reason"], 0) + 1
    return counts


def published_ids(live: LiveIntake) -> list[str]:
    live.intake.flush()
    return [d["event_id"] for _, d in read_records(live.settings, "incident", 1000, timeout=5)]


@pytest.mark.parametrize("name", sorted(POISONS))
def test_each_poison_alone_is_a_422_with_its_code_and_path(live: LiveIntake, name: str) -> None:
    """One POST per case of the issue: 422 (problem+json) naming the field, its code and the refusal code, and one
    dead letter."""
    _, code, field_code, path = POISONS[name]
    status, body = live.post("incident", body_of(poisoned(name)), POLICE)
    assert (status, body["code"], body["type"].rsplit("#")[1]) == (422, code, code.lower().replace("_", "-")), body
    [error] = body["errors"]
    assert error["path"].startswith(path) and error["message"], error  # a deep one names where it got too deep
    assert error["code"] == field_code and error["pointer"].startswith("/" + path.replace(".", "/").replace("[0]", "/0"))
    assert letters_by_reason(live) == {code: 1}
    assert published_ids(live) == []


@pytest.mark.parametrize("name", sorted(POISONS))
def test_a_poisoned_record_in_a_batch_costs_no_good_record(live: LiveIntake, name: str) -> None:
    """[good1, poison, good2]: 207, good1 and good2 published, the poison alone refused and dead-lettered."""
    first, second = good("1-"), good("2-")
    status, body = live.post("incident", body_of({"records": [first, poisoned(name), second]}), POLICE)
    assert status == 207, body
    assert [r["status"] for r in body["results"]] == ["accepted", "rejected", "accepted"]
    assert body["results"][1]["code"] == POISONS[name][1]
    assert sorted(published_ids(live)) == sorted([first["event_id"], second["event_id"]])
    assert letters_by_reason(live) == {POISONS[name][1]: 1}


def test_bodies_too_deep_for_the_parser_are_400_with_the_reason(live: LiveIntake) -> None:
    """A body nested beyond any JSON parser's stack is refused whole: 400 TOO_DEEP, dead-lettered."""
    status, body = live.post("incident", b"[" * 100_000 + b"]" * 100_000, POLICE)
    assert (status, body["code"]) == (400, "TOO_DEEP")
    assert letters_by_reason(live) == {"TOO_DEEP": 1}


def test_fullwidth_digits_in_the_hmac_timestamp_are_401_and_audited(live: LiveIntake) -> None:
    """X-Drive-Timestamp in fullwidth digits: 401 with the reason and an intake_refusals row (was a 500)."""
    data = body_of(good())
    fullwidth = "".join(chr(0xFF10 + int(d)) for d in str(int(time.time())))
    signature = hmac.new(SECRET.encode(), fullwidth.encode() + b"." + data, hashlib.sha256).hexdigest()
    headers = {**JSON, "X-Drive-Agency": "police-wm", "X-Drive-Timestamp": fullwidth.encode("utf-8"),
               "X-Drive-Signature": f"v1={signature}"}
    status, body = live.post("incident", data, headers)
    assert (status, body["reason"]) == (401, "X-Drive-Timestamp must be unix seconds in ASCII digits")
    rows = refusals(live.intake.journal.engine)
    assert [(r["http_status"], r["agency"], r["reason"]) for r in rows] == [(401, "police-wm", body["reason"])]


def test_a_signed_request_replayed_after_the_intake_restarts_is_401(settings_factory: Any, database_url: str) -> None:
    """The HMAC replay guard is in the database: the same signed request to a restarted intake is refused."""
    settings = settings_factory(intake_max_body_bytes=LIMIT)
    data = body_of(good())
    stamp = str(int(time.time()))
    signature = hmac.new(SECRET.encode(), stamp.encode() + b"." + data, hashlib.sha256).hexdigest()
    headers = {**JSON, "X-Drive-Agency": "police-wm", "X-Drive-Timestamp": stamp, "X-Drive-Signature": f"v1={signature}"}
    with live_intake(settings, database_url) as first:
        assert first.post("incident", data, headers)[0] == 202
    with live_intake(settings, database_url) as restarted:
        status, body = restarted.post("incident", data, headers)
        assert status == 401 and "replay" in body["reason"].lower(), body
        assert 401 in [r["http_status"] for r in refusals(restarted.intake.journal.engine)]


def test_a_413_leaves_a_refusal_row_a_log_line_and_a_payload_free_dead_letter(
        live: LiveIntake, capsys: pytest.CaptureFixture[str]) -> None:
    """Over DRIVE_INTAKE_MAX_BODY_BYTES: 413 TOO_LARGE; audited, logged, and dead-lettered by size only."""
    data = b'{"person_name": "Ottoline Fitzwarren-Blythe", "pad": "' + b"x" * LIMIT + b'"}'
    status, body = live.post("incident", data, POLICE)
    assert (status, body["code"]) == (413, "TOO_LARGE")
    [row] = refusals(live.intake.journal.engine)
    assert (row["http_status"], row["agency"], row["body_bytes"]) == (413, "police-wm", len(data))
    assert "http_intake.refused" in capsys.readouterr().out
    live.intake.flush()
    [(_, letter)] = read_records(live.settings, "dead-letter", 5, timeout=5)
    assert letter["reason"] == "TOO_LARGE" and json.loads(letter["raw"]) == {
        "bytes": len(data), "content_type": "application/json", "format": "withheld", "sealed": False}


def test_another_agency_may_reuse_an_event_id(live: LiveIntake) -> None:
    """Idempotency is per agency: em-provider's own record with police-wm's event id is accepted, not a 409."""
    shared = f"shared-{uuid.uuid4().hex}"
    police = sample("breach", "EM_ZONE_ENTRY", event_id=shared, source={"agency": "police-wm", "system": "rms"})
    em = sample("breach", "EM_ZONE_ENTRY", event_id=shared, source={"agency": "em-provider", "system": "em-hub"})
    assert live.post("breach", body_of(police), POLICE)[0] == 202
    assert live.post("breach", body_of(em), {"Authorization": f"Bearer {EM_KEY}", **JSON})[0] == 202
    assert live.post("breach", body_of(em), {"Authorization": f"Bearer {EM_KEY}", **JSON})[0] == 200
    changed = {**police, "details": {**police["details"], "zone_ref": "ZONE-0002"}}
    assert live.post("breach", body_of(changed), POLICE)[0] == 409
    live.intake.flush()
    assert len(read_records(live.settings, "breach", 10, timeout=5)) == 2
