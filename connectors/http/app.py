"""HTTP intake (aiohttp): agencies POST one record or a batch; every refusal gets a JSON reason and a dead letter.

What is a 503: only the intake's own trouble — its database cannot be reached (journal, replay guard, vault).
Everything a client sends is answered 2xx or 4xx; a record the intake fails to process for another reason is
refused 422 PROCESSING_FAILED and kept as a dead letter, so a client never retries into a loop of 5xx.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from aiohttp import web

from connectors.http.agencies import Agency, AgencyRegistry, AuthError
from connectors.intake.guards import parse_json
from connectors.intake.refusals import record_refusal
from connectors.intake.refused import record_bytes
from connectors.intake.submit import UNAVAILABLE, Intake, IntakeOutcome, IntakeUnavailable, Origin
from runtime.settings import Settings
from schemas.catalogue import SOURCE_TOPICS
from schemas.errors import FieldError

log = structlog.get_logger("connectors.http.app")

INTAKE_KEY = web.AppKey("intake", Intake)
AGENCIES_KEY = web.AppKey("agencies", AgencyRegistry)
EXECUTOR_KEY = web.AppKey("executor", ThreadPoolExecutor)
SETTINGS_KEY = web.AppKey("settings", object)
_SINGLE_STATUS = {"accepted": 202, "duplicate": 200, "rejected": 422, "conflict": 409}
_UNAVAILABLE = {"status": "error", "reason": "intake temporarily unavailable; retry", "code": "UNAVAILABLE"}


def _answer(http_status: int, **body: Any) -> web.Response:
    return web.json_response(body, status=http_status, headers={"Retry-After": "5"} if http_status == 503 else None)


def topic_label(topic: str | None) -> str:
    """A topic from the URL as logs, metrics and refusals may show it: a catalogue name, else `<unknown>`."""
    return topic if topic in SOURCE_TOPICS else "<unknown>"


@web.middleware
async def _json_errors(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """aiohttp's own errors (unknown route, wrong method, body too large) answered as JSON too."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _answer(exc.status, status="error", reason=exc.reason)


def _outcome_body(outcome: IntakeOutcome) -> dict[str, Any]:
    body: dict[str, Any] = {"status": outcome.status, "event_id": outcome.event_id}
    if outcome.status in ("rejected", "conflict"):
        body["errors"] = [{"path": e.path, "message": e.message} for e in outcome.errors]
        body["reason"], body["code"] = outcome.reason, outcome.code
    return body


class _Request:
    """One authenticated POST: its agency, topic and body, and how to refuse it whole."""

    def __init__(self, intake: Intake, agency: Agency, topic: str, body: bytes, content_type: str) -> None:
        self.intake, self.agency, self.topic, self.body = intake, agency, topic, body
        self.content_type = content_type
        self.location = f"POST /v1/topics/{topic_label(topic)}/events"

    def origin(self, index: int | None = None) -> Origin:
        return Origin("http", self.agency.id, self.location if index is None else f"{self.location}#{index}")

    def refuse_whole(self, status: int, code: str, reason: str, path: str = "") -> web.Response:
        """Dead-letter the whole body (from a known agency) and answer status with the reason."""
        topic = self.topic if self.topic in SOURCE_TOPICS else None
        outcome = self.intake.refuse(self.origin(), self.body, reason, (FieldError(path, reason),), topic,
                                     self.content_type, code=code)
        _log_request(self, status, outcome.status)
        return _answer(status, **_outcome_body(outcome))

    def submit(self, record: Any, index: int | None, raw: bytes | None) -> tuple[IntakeOutcome, bool]:
        """Refuse an event type the agency may not send (True: forbidden); otherwise hand it to the intake."""
        event_type = record.get("event_type") if isinstance(record, dict) else None
        if isinstance(event_type, str) and not self.agency.may_send(self.topic, event_type):
            reason = f"agency {self.agency.id} may not send this event type on topic {self.topic}"
            event_id = record.get("event_id") if isinstance(record.get("event_id"), str) else None
            return self.intake.refuse(self.origin(index), raw if raw is not None else record_bytes(record),
                                      reason, (FieldError("event_type", reason),), self.topic,
                                      "application/json", event_id=event_id, code="NOT_ALLOWED"), True
        return self.intake.submit(self.topic, record, self.origin(index), raw=raw), False


def _log_request(req: _Request, http_status: int, status: str) -> None:
    log.info("http_intake.request", agency=req.agency.id, topic=topic_label(req.topic), http_status=http_status,
             status=status)


def _single(req: _Request, record: dict[str, Any]) -> web.Response:
    outcome, forbidden = req.submit(record, None, req.body)
    status = 403 if forbidden else _SINGLE_STATUS[outcome.status]
    _log_request(req, status, outcome.status)
    return _answer(status, **_outcome_body(outcome))


def _batch(req: _Request, records: list[Any], max_batch: int) -> web.Response:
    if not records:
        return req.refuse_whole(400, "UNPARSEABLE", "records must hold at least one record", "records")
    if len(records) > max_batch:
        return req.refuse_whole(413, "TOO_LARGE", f"batch of {len(records)} records is over the limit of {max_batch}", "records")
    results, counts = [], {"accepted": 0, "duplicate": 0, "rejected": 0, "conflict": 0}
    for index, record in enumerate(records):
        outcome, _ = req.submit(record, index, None)
        counts[outcome.status] += 1
        results.append({"index": index, **_outcome_body(outcome),
                        "errors": [{"path": e.path, "message": e.message} for e in outcome.errors]})
    good = counts["accepted"] + counts["duplicate"]
    status = 202 if good == len(records) else 422 if good == 0 else 207
    _log_request(req, status, "batch")
    return _answer(status, results=results, accepted=counts["accepted"], duplicates=counts["duplicate"],
                   rejected=counts["rejected"], conflicts=counts["conflict"])


def _handle_body(req: _Request, max_batch: int) -> web.Response:
    """Everything after authentication, in the intake thread (the intake and kafka-python block)."""
    if req.topic not in SOURCE_TOPICS:
        return req.refuse_whole(404, "UNKNOWN_TOPIC", f"unknown topic; topics: {', '.join(SOURCE_TOPICS)}")
    if not req.agency.may_send(req.topic):
        return req.refuse_whole(403, "NOT_ALLOWED", f"agency {req.agency.id} may not send to topic {req.topic}")
    if req.content_type != "application/json" and not req.content_type.endswith("+json"):
        return req.refuse_whole(415, "UNSUPPORTED_MEDIA_TYPE", "content type must be application/json")
    parsed = parse_json(req.body)
    if parsed.code is not None:
        return req.refuse_whole(400, parsed.code, parsed.reason or "body is not valid JSON")
    document = parsed.value
    if not isinstance(document, dict):
        return req.refuse_whole(400, "NOT_AN_OBJECT", "body must be a JSON object (one record) or {\"records\": [...]}")
    if "records" in document:
        if set(document) != {"records"} or not isinstance(document["records"], list):
            return req.refuse_whole(400, "UNPARSEABLE", "a batch must be exactly {\"records\": [ ... ]}", "records")
        return _batch(req, document["records"], max_batch)
    return _single(req, document)


def _handled(req: _Request, max_batch: int) -> web.Response:
    """_handle_body; an unexpected failure refuses the body whole (dead letter) unless the database is down."""
    try:
        return _handle_body(req, max_batch)
    except (IntakeUnavailable, *UNAVAILABLE):
        raise
    except Exception as exc:  # noqa: BLE001 - client input never becomes a 5xx loop
        log.error("http_intake.request_failed", agency=req.agency.id, topic=topic_label(req.topic),
                  error=type(exc).__name__)
        return req.refuse_whole(422, "PROCESSING_FAILED", f"the intake could not process this body "
                                f"({type(exc).__name__}); it is kept as a dead letter for the operators")


async def _too_large(request: web.Request, limit: int, size: int | None) -> web.Response:
    """413 with a trace: a refusal row, a log line and, for a key-authenticated agency, a payload-free dead letter."""
    reason = f"body over the limit of {limit} bytes"
    registry, intake = request.app[AGENCIES_KEY], request.app[INTAKE_KEY]
    loop, executor = asyncio.get_running_loop(), request.app[EXECUTOR_KEY]
    agency = await loop.run_in_executor(executor, registry.by_api_key_only, request.headers)
    claimed = agency.id if agency else registry.known(request.headers.get("X-Drive-Agency"))
    log.info("http_intake.refused", http_status=413, reason=reason, agency=claimed, bytes=size)
    await _audit_refusal(request, 413, reason, claimed, size or 0)
    if agency is not None:
        topic = request.match_info.get("topic")
        origin = Origin("http", agency.id, f"POST /v1/topics/{topic_label(topic)}/events")
        message = f"{reason}: {size if size is not None else 'more'} bytes; the body was not read or kept"
        with contextlib.suppress(*UNAVAILABLE):
            await loop.run_in_executor(executor, lambda: intake.refuse(
                origin, b"", message, (FieldError("", message),), topic if topic in SOURCE_TOPICS else None,
                request.content_type, code="TOO_LARGE", size=size))
    return _answer(413, status="error", reason=reason, code="TOO_LARGE")


async def _post_events(request: web.Request) -> web.Response:
    settings: Settings = request.app[SETTINGS_KEY]
    limit = settings.intake_max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        return await _too_large(request, limit, request.content_length)
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return await _too_large(request, limit, None)
    loop, executor = asyncio.get_running_loop(), request.app[EXECUTOR_KEY]
    registry = request.app[AGENCIES_KEY]
    try:
        auth = await loop.run_in_executor(executor, registry.authenticate, request.headers, body)
    except UNAVAILABLE:
        return _answer(503, **_UNAVAILABLE)
    except Exception as exc:  # noqa: BLE001 - unreadable credentials are the caller's fault: 401, never 500
        log.warning("http_intake.credentials_unreadable", error=type(exc).__name__)
        auth = AuthError(401, "credentials could not be read")
    if isinstance(auth, AuthError):
        claimed = registry.known(request.headers.get("X-Drive-Agency"))
        log.info("http_intake.refused", http_status=auth.status, reason=auth.reason, agency=claimed)
        await _audit_refusal(request, auth.status, auth.reason, claimed, len(body))
        return _answer(auth.status, status="error", reason=auth.reason)
    if not registry.rate_limiter.allow(auth):
        await _audit_refusal(request, 429, "rate limit exceeded", auth.id, len(body))
        return web.json_response({"status": "error", "reason": "rate limit exceeded"}, status=429,
                                 headers={"Retry-After": "1"})
    req = _Request(request.app[INTAKE_KEY], auth, request.match_info["topic"], body, request.content_type)
    try:
        response = await loop.run_in_executor(executor, _handled, req, settings.intake_max_batch)
    except (IntakeUnavailable, *UNAVAILABLE) as exc:
        log.error("http_intake.unavailable", agency=auth.id, topic=topic_label(req.topic), error=type(exc).__name__)
        return _answer(503, **_UNAVAILABLE)
    if response.status == 403:
        await _audit_refusal(request, 403, "agency scope does not allow this topic or event type", auth.id, len(body))
    return response


async def _audit_refusal(request: web.Request, http_status: int, reason: str, agency: str | None,
                         body_bytes: int) -> None:
    """Record a refused request in intake_refusals (never its body); a failing audit write is logged, not raised."""

    engine = request.app[INTAKE_KEY].journal.engine
    try:
        await asyncio.get_running_loop().run_in_executor(
            request.app[EXECUTOR_KEY], lambda: record_refusal(
                engine, http_status=http_status, reason=reason, agency=agency,
                topic=topic_label(request.match_info.get("topic")), peer=request.remote, body_bytes=body_bytes))
    except Exception as exc:  # noqa: BLE001 - the refusal itself must still be answered
        log.warning("http_intake.refusal_audit_failed", error=type(exc).__name__)


async def _healthz(_request: web.Request) -> web.Response:
    return _answer(200, status="ok")


def _ready(intake: Intake) -> tuple[bool, str]:
    if not intake.publisher.connected():
        return False, "Kafka producer not connected"
    try:
        with intake.journal.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        return False, f"database unreachable ({type(exc).__name__})"
    return True, "ready"


async def _readyz(request: web.Request) -> web.Response:
    ready, reason = await asyncio.get_running_loop().run_in_executor(None, _ready, request.app[INTAKE_KEY])
    return _answer(200 if ready else 503, status="ok" if ready else "unavailable", reason=reason)


async def _republisher(app: web.Application, every_s: float) -> None:
    """Periodically resend rows whose send failed (broker hiccup) and mark acknowledged ones published."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(every_s)
        try:
            await loop.run_in_executor(app[EXECUTOR_KEY], app[INTAKE_KEY].republish_pending, timedelta(seconds=every_s))
        except Exception as exc:  # noqa: BLE001 - keep trying; the rows stay pending
            log.warning("http_intake.republish_failed", error=type(exc).__name__)


def make_app(settings: Settings, intake: Intake, agencies: AgencyRegistry, *, republish_every_s: float = 10.0) -> web.Application:
    """The intake web application; one intake thread keeps journal order equal to publish order."""
    app = web.Application(client_max_size=settings.intake_max_body_bytes, middlewares=[_json_errors])
    app[SETTINGS_KEY] = settings
    app[INTAKE_KEY] = intake
    app[AGENCIES_KEY] = agencies
    app[EXECUTOR_KEY] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="intake")
    app.router.add_post("/v1/topics/{topic}/events", _post_events)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)

    async def background(app: web.Application) -> Any:
        task = asyncio.create_task(_republisher(app, republish_every_s))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await asyncio.get_running_loop().run_in_executor(app[EXECUTOR_KEY], intake.flush)
        app[EXECUTOR_KEY].shutdown(wait=True)

    app.cleanup_ctx.append(background)
    return app
