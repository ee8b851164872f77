"""Unit tests of the agency registry: YAML loading, API keys, HMAC signatures, replay and rate limits."""
from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from connectors.http.agencies import Agency, AgencyRegistry, AuthError, RateLimiter, load_agencies
from migrations import upgrade
from runtime.db import make_engine
from runtime.replay_guard import ReplayGuard
from runtime.settings import Settings

KEY = "test-key-police"
OLD_KEY = "test-key-police-old"
SECRET = "shh-police-secret"
YAML = f"""
agencies:
  - id: police.test
    topics: [incident, bail]
    event_types:
      bail: [BAIL_GRANTED]
    api_keys:
      - {{id: k1, sha256: {hashlib.sha256(KEY.encode()).hexdigest()}}}
      - {{id: k0, sha256: {hashlib.sha256(OLD_KEY.encode()).hexdigest()}}}
    revoked_key_ids: [k0]
    hmac_secrets:
      - {{id: h1, secret_env: TEST_POLICE_HMAC}}
    rate_limit_per_minute: 2
  - id: court.test
    topics: [court]
"""
NOW = 1_800_000_000


ENGINES: list[Engine] = []


@pytest.fixture(scope="module", autouse=True)
def guard_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One SQLite database for the module's replay guards (each registry gets its own scope in it)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('agencies') / 'guard.db'}"
    upgrade(url)
    ENGINES.append(make_engine(url))
    yield ENGINES[-1]
    ENGINES.pop().dispose()


def registry(now: float = NOW, env: dict[str, str] | None = None, scope: str | None = None) -> AgencyRegistry:
    guard = ReplayGuard(ENGINES[-1], scope or uuid.uuid4().hex[:16], 600)
    return AgencyRegistry(load_agencies(YAML, env={"TEST_POLICE_HMAC": SECRET} if env is None else env),
                          replays=guard, max_age_s=300, clock=lambda: now)


def signed(body: bytes, ts: int = NOW, secret: str = SECRET, agency: str = "police.test") -> dict[str, str]:
    sig = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Drive-Agency": agency, "X-Drive-Timestamp": str(ts), "X-Drive-Signature": f"v1={sig}"}


def agency_id(result: Any) -> str:
    assert isinstance(result, Agency), result
    return result.id


def test_bearer_key_identifies_agency() -> None:
    """A listed API key authenticates as its agency."""
    assert agency_id(registry().authenticate({"Authorization": f"Bearer {KEY}"}, b"{}")) == "police.test"


def test_missing_credentials() -> None:
    """No credentials: 401 saying what to send."""
    assert registry().authenticate({}, b"{}") == AuthError(
        401, "missing credentials: send Authorization: Bearer <api key> or an X-Drive-Signature")


def test_wrong_key() -> None:
    """An unknown key: 401 invalid API key."""
    assert registry().authenticate({"authorization": "Bearer nope"}, b"") == AuthError(401, "invalid API key")


def test_revoked_key() -> None:
    """A key whose id is revoked: 401 API key revoked."""
    assert registry().authenticate({"Authorization": f"Bearer {OLD_KEY}"}, b"") == AuthError(401, "API key revoked")


def test_bearer_key_for_another_claimed_agency_is_forbidden() -> None:
    """A valid key sent with X-Drive-Agency of another agency: 403."""
    result = registry().authenticate({"Authorization": f"Bearer {KEY}", "X-Drive-Agency": "court.test"}, b"")
    assert result == AuthError(403, "API key belongs to another agency than X-Drive-Agency")


def test_hmac_good_signature() -> None:
    """A fresh, correct signature authenticates."""
    body = b'{"a": 1}'
    assert agency_id(registry().authenticate(signed(body), body)) == "police.test"


def test_hmac_bad_signature() -> None:
    """A signature over other bytes (or with another secret): 401 invalid signature."""
    assert registry().authenticate(signed(b"other"), b"body") == AuthError(401, "invalid signature")
    assert registry().authenticate(signed(b"body", secret="x"), b"body") == AuthError(401, "invalid signature")


def test_hmac_stale_and_future_timestamps() -> None:
    """Timestamps outside the window either way: 401."""
    for ts in (NOW - 301, NOW + 301):
        assert registry().authenticate(signed(b"b", ts=ts), b"b") == AuthError(
            401, "signature timestamp outside the allowed window")


def test_hmac_replay() -> None:
    """The same signature a second time inside the window: 401 replay."""
    reg = registry()
    headers = signed(b"b")
    assert agency_id(reg.authenticate(headers, b"b")) == "police.test"
    assert reg.authenticate(headers, b"b") == AuthError(401, "signature already used (replay)")


def test_hmac_replay_is_refused_after_a_restart() -> None:
    """The guard is in the database: a new registry (a restarted intake) still refuses the used signature."""
    headers = signed(b"restart")
    assert agency_id(registry(scope="restart").authenticate(headers, b"restart")) == "police.test"
    assert registry(scope="restart").authenticate(headers, b"restart") == AuthError(
        401, "signature already used (replay)")


def test_hmac_timestamp_in_other_digits_is_refused() -> None:
    """Fullwidth or other non-ASCII digits in X-Drive-Timestamp: 401 with the reason, never an exception."""
    headers = signed(b"b")
    for timestamp in ("\uff11\uff18\uff10\uff10\uff10\uff10\uff10\uff10\uff10\uff10", "\u0661\u0668" + "0" * 8,
                      "1.8e9", "-1", ""):
        result = registry().authenticate({**headers, "X-Drive-Timestamp": timestamp}, b"b")
        assert isinstance(result, AuthError) and result.status == 401 and "X-Drive-Timestamp" in result.reason


def test_hmac_incomplete_headers_and_unknown_agency() -> None:
    """Missing timestamp, malformed signature, unknown agency: each its own 401 reason."""
    headers = signed(b"b")
    del headers["X-Drive-Timestamp"]
    assert registry().authenticate(headers, b"b") == AuthError(
        401, "HMAC needs X-Drive-Agency, X-Drive-Timestamp and X-Drive-Signature")
    assert registry().authenticate(signed(b"b", agency="nobody"), b"b") == AuthError(401, "unknown agency")
    bad = {**signed(b"b"), "X-Drive-Signature": "sha256=abc"}
    assert registry().authenticate(bad, b"b") == AuthError(401, "X-Drive-Signature must be 'v1=<hex hmac-sha256>'")


def test_hmac_secret_unset_in_env_cannot_sign() -> None:
    """When the secret's env variable is unset the agency cannot authenticate by HMAC."""
    assert registry(env={}).authenticate(signed(b"b"), b"b") == AuthError(401, "invalid signature")


def test_topic_and_event_type_scope() -> None:
    """may_send follows topics and the optional per-topic event types."""
    police = registry().get("police.test")
    assert police is not None
    assert police.may_send("incident", "ARREST")
    assert police.may_send("bail", "BAIL_GRANTED")
    assert not police.may_send("bail", "BAIL_VARIED")
    assert not police.may_send("court")


def test_yaml_must_hold_hashes_not_keys() -> None:
    """A clear key where a sha256 belongs is refused at load time."""
    with pytest.raises(ValueError, match="must be a sha256 hex digest"):
        load_agencies("agencies: [{id: a, topics: [incident], api_keys: [{id: k, sha256: my-clear-key}]}]", env={})


def test_yaml_unknown_topic_refused() -> None:
    """An agency allowed an unknown topic is a configuration error."""
    with pytest.raises(ValueError, match="unknown topics"):
        load_agencies("agencies: [{id: a, topics: [alert]}]", env={})


def test_rate_limiter_refills() -> None:
    """A bucket of rate_limit_per_minute tokens empties, then refills with time."""
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    police = registry().get("police.test")
    assert police is not None
    assert [limiter.allow(police) for _ in range(3)] == [True, True, False]
    now[0] = 30.0  # half a minute: one token back at 2 per minute
    assert [limiter.allow(police) for _ in range(2)] == [True, False]


def test_development_default_agencies(tmp_path: Path) -> None:
    """Without an agencies file the documented development agencies and keys work."""
    reg = AgencyRegistry.from_settings(Settings(data_dir=tmp_path), ENGINES[-1], env={})
    assert set(reg.agencies) == {"police.demo", "court.demo", "em.demo", "drive.casemgmt"}
    assert agency_id(reg.authenticate({"Authorization": "Bearer dev-police-demo-key"}, b"")) == "police.demo"
    assert agency_id(reg.authenticate({"Authorization": "Bearer dev-casemgmt-key"}, b"")) == "drive.casemgmt"
