"""Agency registry from YAML: who may send what, API keys (sha256 only), HMAC signatures, replay and rate limits."""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import structlog
import yaml
from sqlalchemy.engine import Engine

from runtime.replay_guard import ReplayGuard
from runtime.settings import Settings
from schemas.catalogue import EVENT_TYPES, SOURCE_TOPICS

log = structlog.get_logger("connectors.http.agencies")

DEV_AGENCIES_RESOURCE = "agencies.dev.yaml"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_SIGNATURE = re.compile(r"^v1=([0-9a-fA-F]{64})$")
_UNIX_SECONDS = re.compile(r"^[0-9]{1,12}$")  # ASCII digits only: str.isdigit() also takes fullwidth and other digits


@dataclass(frozen=True)
class ApiKey:
    """An API key, known only by its id and the sha256 hex of the key."""

    key_id: str
    sha256: str


@dataclass(frozen=True, repr=False)
class HmacSecret:
    """A shared signing secret read from an environment variable (None when the variable is unset)."""

    key_id: str
    secret_env: str
    secret: bytes | None

    def __repr__(self) -> str:
        return f"HmacSecret(key_id={self.key_id!r}, secret_env={self.secret_env!r}, secret=***)"


@dataclass(frozen=True)
class Agency:
    """One sending agency: its id, what it may publish, and its credentials."""

    id: str
    topics: frozenset[str]
    event_types: Mapping[str, frozenset[str]] = field(default_factory=dict)
    api_keys: tuple[ApiKey, ...] = ()
    hmac_secrets: tuple[HmacSecret, ...] = ()
    revoked_key_ids: frozenset[str] = frozenset()
    rate_limit_per_minute: int | None = None

    def may_send(self, topic: str, event_type: str | None = None) -> bool:
        """True when the agency may publish to the topic (and, if restricted, this event type)."""
        if topic not in self.topics:
            return False
        allowed = self.event_types.get(topic)
        return allowed is None or event_type is None or event_type in allowed


@dataclass(frozen=True)
class AuthError:
    """Why a request was not authenticated: 401 (who are you?) or 403 (not you)."""

    status: int
    reason: str


def _parse_agency(raw: Mapping[str, Any], env: Mapping[str, str]) -> Agency:
    agency_id = str(raw["id"])
    topics = frozenset(raw.get("topics") or ())
    unknown = topics - set(SOURCE_TOPICS)
    if unknown:
        raise ValueError(f"agency {agency_id}: unknown topics {sorted(unknown)}")
    event_types = {t: frozenset(types) for t, types in (raw.get("event_types") or {}).items()}
    for topic, types in event_types.items():
        if topic not in topics or not types <= set(EVENT_TYPES[topic]):
            raise ValueError(f"agency {agency_id}: event_types for {topic} name unknown types or topic")
    keys = tuple(ApiKey(str(k["id"]), str(k["sha256"]).lower()) for k in raw.get("api_keys") or ())
    for key in keys:
        if not _HEX64.match(key.sha256):
            raise ValueError(f"agency {agency_id}: api key {key.key_id} must be a sha256 hex digest, not a key")
    secrets = []
    for s in raw.get("hmac_secrets") or ():
        value = env.get(str(s["secret_env"]))
        if not value:
            log.info("agencies.hmac_secret_unset", agency=agency_id, key_id=s["id"], env_var=s["secret_env"])
        secrets.append(HmacSecret(str(s["id"]), str(s["secret_env"]), value.encode() if value else None))
    limit = raw.get("rate_limit_per_minute")
    return Agency(agency_id, topics, event_types, keys, tuple(secrets),
                  frozenset(str(k) for k in raw.get("revoked_key_ids") or ()), int(limit) if limit else None)


def load_agencies(text: str, env: Mapping[str, str] | None = None) -> list[Agency]:
    """Parse the agencies YAML (`agencies: [...]`); HMAC secrets come from the named env variables."""
    document = yaml.safe_load(text) or {}
    agencies = [_parse_agency(raw, os.environ if env is None else env) for raw in document.get("agencies") or ()]
    ids = [a.id for a in agencies]
    if len(ids) != len(set(ids)):
        raise ValueError("agency ids must be unique")
    return agencies


def intake_replay_guard(engine: Engine, max_age_s: int) -> ReplayGuard:
    """The durable guard of signed intake requests: a signature is remembered for twice the timestamp window."""
    return ReplayGuard(engine, "intake-hmac", 2 * max_age_s)


class RateLimiter:
    """Token bucket per agency: rate_limit_per_minute requests, refilled continuously."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, agency: Agency) -> bool:
        """Take one token for the agency; False when its bucket is empty."""
        limit = agency.rate_limit_per_minute
        if not limit:
            return True
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(agency.id, (float(limit), now))
            tokens = min(float(limit), tokens + (now - at) * limit / 60.0)
            allowed = tokens >= 1.0
            self._buckets[agency.id] = (tokens - 1.0 if allowed else tokens, now)
            return allowed


class AgencyRegistry:
    """The agencies and how a request proves it comes from one of them."""

    def __init__(self, agencies: list[Agency], *, replays: ReplayGuard, max_age_s: int = 300,
                 clock: Callable[[], float] = time.time) -> None:
        self.agencies = {a.id: a for a in agencies}
        self.max_age_s = max_age_s
        self._clock = clock
        self._replays = replays  # durable: a signature stays used across restarts (2 x max_age_s window)
        self.rate_limiter = RateLimiter()

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine, env: Mapping[str, str] | None = None) -> AgencyRegistry:
        """The registry of settings.agencies_file (or the built-in development agencies), its replay guard on engine."""
        if settings.agencies_file is None:
            log.warning("agencies.development_default", hint="built-in development agencies; set DRIVE_AGENCIES_FILE")
            text = (resources.files("connectors.http") / DEV_AGENCIES_RESOURCE).read_text("utf-8")
        else:
            text = Path(settings.agencies_file).read_text("utf-8")
        max_age = settings.intake_signature_max_age_s
        return cls(load_agencies(text, env), replays=intake_replay_guard(engine, max_age), max_age_s=max_age)

    def known(self, agency_id: str | None) -> str | None:
        """The id if it names a registered agency, else None (a claimed id may be anything, even a name)."""
        return agency_id if agency_id is not None and agency_id in self.agencies else None

    def get(self, agency_id: str) -> Agency | None:
        """The agency of an id, or None."""
        return self.agencies.get(agency_id)

    def authenticate(self, headers: Mapping[str, str], body: bytes) -> Agency | AuthError:
        """Bearer API key or X-Drive-Agency/-Timestamp/-Signature HMAC; the agency, or why not."""
        lowered = {k.lower(): v for k, v in headers.items()}
        authorization = lowered.get("authorization", "")
        claimed = lowered.get("x-drive-agency")
        if authorization:
            scheme, _, key = authorization.partition(" ")
            if scheme.lower() != "bearer" or not key.strip():
                return AuthError(401, "Authorization must be 'Bearer <api key>'")
            agency = self._by_api_key(key.strip())
            if isinstance(agency, Agency) and claimed is not None and claimed != agency.id:
                return AuthError(403, "API key belongs to another agency than X-Drive-Agency")
            return agency
        if lowered.get("x-drive-signature") is not None or claimed is not None:
            return self._by_signature(claimed, lowered.get("x-drive-timestamp"), lowered.get("x-drive-signature"), body)
        return AuthError(401, "missing credentials: send Authorization: Bearer <api key> or an X-Drive-Signature")

    def by_api_key_only(self, headers: Mapping[str, str]) -> Agency | None:
        """The agency of a valid Bearer key, without the body (a body too large to read is never signed-checked)."""
        authorization = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        scheme, _, key = authorization.partition(" ")
        found = self._by_api_key(key.strip()) if scheme.lower() == "bearer" and key.strip() else None
        return found if isinstance(found, Agency) else None

    def _by_api_key(self, key: str) -> Agency | AuthError:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        found: tuple[Agency, ApiKey] | None = None
        # compare against every key (constant time each) so timing does not tell which agency is close
        for agency in self.agencies.values():
            for api_key in agency.api_keys:
                if hmac.compare_digest(digest, api_key.sha256):
                    found = (agency, api_key)
        if found is None:
            return AuthError(401, "invalid API key")
        agency, api_key = found
        if api_key.key_id in agency.revoked_key_ids:
            return AuthError(401, "API key revoked")
        return agency

    def _by_signature(self, agency_id: str | None, timestamp: str | None, signature: str | None,
                      body: bytes) -> Agency | AuthError:
        if not agency_id or not timestamp or not signature:
            return AuthError(401, "HMAC needs X-Drive-Agency, X-Drive-Timestamp and X-Drive-Signature")
        agency = self.agencies.get(agency_id)
        match = _SIGNATURE.match(signature.strip())
        if agency is None:
            return AuthError(401, "unknown agency")
        if match is None:
            return AuthError(401, "X-Drive-Signature must be 'v1=<hex hmac-sha256>'")
        if not _UNIX_SECONDS.match(timestamp):
            return AuthError(401, "X-Drive-Timestamp must be unix seconds in ASCII digits")
        now = self._clock()
        if abs(now - int(timestamp)) > self.max_age_s:
            return AuthError(401, "signature timestamp outside the allowed window")
        message = timestamp.encode("ascii") + b"." + body
        given = match.group(1).lower()
        valid = [s for s in agency.hmac_secrets if s.secret is not None and s.key_id not in agency.revoked_key_ids
                 and hmac.compare_digest(hmac.new(s.secret, message, hashlib.sha256).hexdigest(), given)]
        if not valid:
            return AuthError(401, "invalid signature")
        if not self._replays.first_use(f"{agency.id}:{given}", datetime.fromtimestamp(now, UTC)):
            return AuthError(401, "signature already used (replay)")
        return agency
