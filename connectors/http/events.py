"""POST /v1/topics/{topic}/events: authenticate, bound and read the body, hand each record to the intake, answer.

What is a 503: only the intake's own trouble — its database cannot be reached (journal, replay guard, vault).
Everything a client sends is answered 2xx or 4xx; a record the intake fails to process for another reason is
refused 422 PROCESSING_FAILED and kept as a dead letter, so a client never retries into a loop of 5xx.
Bodies are read with the contract's bounded parser (connectors.http.body); answers are built in answers.py.
"""
from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import structlog
from aiohttp import web

from connectors.http import answers
from connectors.http.agencies import Agency, AgencyRegistry, AuthError
from connectors.http.body import Item, about_a_field, read_body
from connectors.http.problems import Problems
from connectors.intake.codes import RefusalCode, parser_code
from connectors.intake.refusals import record_refusal
from connectors.intake.submit import UNAVAILABLE, Intake, IntakeOutcome, IntakeUnavailable, Origin, Submission
from runtime.settings import Settings
from schemas.catalogue import SOURCE_TOPICS
from schemas.errors import FieldError
from schemas.jsonparse import JsonLimits, JsonRefused

log = structlog.get_logger("connectors.http.events")

INTAKE_KEY = web.AppKey("intake", Intake)
AGENCIES_KEY = web.AppKey("agencies", AgencyRegistry)
EXECUTOR_KEY = web.AppKey("executor", ThreadPoolExecutor)
SETTINGS_KEY = web.AppKey("settings", object)
PROBLEMS_KEY = web.AppKey("problems", Problems)
OPENAPI_KEY = web.AppKey("openapi", dict)
_SINGLE_STATUS = {"accepted": 202, "duplicate": 200, "rejected": 422, "conflict": 409}
_UNAVAILABLE = "intake temporarily unavailable; retry"


def topic_label(topic: str | None) -> str:
    """A topic from the URL as logs, metrics and refusals may show it: a catalogue name, else `<unknown>`."""
    return topic if topic in SOURCE_TOPICS else "<unknown>"


class _Request:
    """One authenticated POST: its agency, topic and body, and how to refuse it whole."""

    def __init__(self, intake: Intake, problems: Problems, agency: Agency, topic: str, body: bytes,
                 content_type: str) -> None:
        self.intake, self.problems, self.agency, self.topic, self.body = intake, problems, agency, topic, body
        self.content_type = content_type
        self.location = f"POST /v1/topics/{topic_label(topic)}/events"

    def origin(self, index: int | None = None) -> Origin:
        return Origin("http", self.agency.id, self.location if index is None else f"{self.location}#{index}")

    def refuse_whole(self, status: int, code: str, reason: str, path: str = "", field_code: str | None = None
                     ) -> web.Response:
        """Dead-letter the whole body (from a known agency) and answer status with the reason."""
        topic = self.topic if self.topic in SOURCE_TOPICS else None
        error = FieldError(path, reason) if field_code is None else FieldError(path, reason, field_code)
        outcome = self.intake.refuse(self.origin(), self.body, reason, (error,), topic, self.content_type, code=code)
        _log_request(self, status, outcome.status)
        return answers.single(self.problems, status, outcome)

    def refuse_unread(self, index: int | None, raw: bytes, refused: JsonRefused, whole: str) -> IntakeOutcome:
        """Dead-letter a record the parser refused: its bytes, the parser's code and the place it names."""
        reason = f"{whole} is {refused.message}" + (f" (at {refused.path})" if refused.path else "")
        return self.intake.refuse(self.origin(index), raw, reason, (FieldError(refused.path, reason, refused.code),),
                                  self.topic, "application/json", code=parser_code(refused.code))

    def admit(self, record: Any, index: int | None, raw: bytes) -> Submission | IntakeOutcome:
        """Refuse an event type the agency may not send (the outcome, code NOT_ALLOWED); otherwise the record to
        submit."""
        event_type = record.get("event_type") if isinstance(record, dict) else None
        if isinstance(event_type, str) and not self.agency.may_send(self.topic, event_type):
            reason = f"agency {self.agency.id} may not send this event type on topic {self.topic}"
            event_id = record.get("event_id") if isinstance(record.get("event_id"), str) else None
            return self.intake.refuse(self.origin(index), raw, reason, (FieldError("event_type", reason),),
                                      self.topic, "application/json", event_id=event_id,
                                      code=RefusalCode.NOT_ALLOWED)
        return Submission(self.topic, record, self.origin(index), raw=raw)


def _log_request(req: _Request, http_status: int, status: str) -> None:
    log.info("http_intake.request", agency=req.agency.id, topic=topic_label(req.topic), http_status=http_status,
             status=status)


def _single(req: _Request, record: dict[str, Any]) -> web.Response:
    admitted = req.admit(record, None, req.body)
    outcome = req.intake.submit_many([admitted])[0]
    status = 403 if isinstance(admitted, IntakeOutcome) else _SINGLE_STATUS[outcome.status]
    _log_request(req, status, outcome.status)
    return answers.single(req.problems, status, outcome)


def _batch(req: _Request, items: list[Item], max_batch: int) -> web.Response:
    if not items:
        return req.refuse_whole(400, RefusalCode.UNPARSEABLE, "records must hold at least one record", "records")
    if len(items) > max_batch:
        return req.refuse_whole(413, RefusalCode.TOO_LARGE,
                                f"batch of {len(items)} records is over the limit of {max_batch}", "records")
    outcomes = req.intake.submit_many([  # one journal commit for the batch
        req.refuse_unread(index, item.raw, item.refused, "the record") if item.refused is not None
        else req.admit(item.value, index, item.raw) for index, item in enumerate(items)])
    status, response = answers.batch(req.problems, outcomes)
    _log_request(req, status, "batch")
    return response


def _handle_body(req: _Request, limits: JsonLimits, max_batch: int) -> web.Response:
    """Everything after authentication, in the intake thread (the intake and kafka-python block)."""
    if req.topic not in SOURCE_TOPICS:
        return req.refuse_whole(404, RefusalCode.UNKNOWN_TOPIC, f"unknown topic; topics: {', '.join(SOURCE_TOPICS)}")
    if not req.agency.may_send(req.topic):
        return req.refuse_whole(403, RefusalCode.NOT_ALLOWED, f"agency {req.agency.id} may not send to topic {req.topic}")
    if req.content_type != "application/json" and not req.content_type.endswith("+json"):
        return req.refuse_whole(415, RefusalCode.UNSUPPORTED_MEDIA_TYPE, "content type must be application/json")
    body = read_body(req.body, limits)
    if body.items is not None:
        return _batch(req, body.items, max_batch)
    if body.refused is not None:
        if about_a_field(body.refused):  # one value of the record is over a limit: the record is refused, 422
            outcome = req.refuse_unread(None, req.body, body.refused, "the record")
            _log_request(req, 422, outcome.status)
            return answers.single(req.problems, 422, outcome)
        return req.refuse_whole(400, parser_code(body.refused.code), f"body is {body.refused.message}",
                                body.refused.path, body.refused.code)
    if not isinstance(body.document, dict):
        return req.refuse_whole(400, RefusalCode.NOT_AN_OBJECT,
                                "body must be a JSON object (one record) or {\"records\": [...]}")
    if "records" in body.document:
        return req.refuse_whole(400, RefusalCode.UNPARSEABLE, "a batch must be exactly {\"records\": [ ... ]}",
                                "records")
    return _single(req, body.document)


def _handled(req: _Request, limits: JsonLimits, max_batch: int) -> web.Response:
    """_handle_body; an unexpected failure refuses the body whole (dead letter) unless the database is down."""
    try:
        return _handle_body(req, limits, max_batch)
    except (IntakeUnavailable, *UNAVAILABLE):
        raise
    except Exception as exc:  # noqa: BLE001 - client input never becomes a 5xx loop
        log.error("http_intake.request_failed", agency=req.agency.id, topic=topic_label(req.topic),
                  error=type(exc).__name__)
        return req.refuse_whole(422, RefusalCode.PROCESSING_FAILED, f"the intake could not process this body "
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
                request.content_type, code=RefusalCode.TOO_LARGE, size=size))
    return answers.error(request.app[PROBLEMS_KEY], 413, RefusalCode.TOO_LARGE, reason)


async def post_events(request: web.Request) -> web.Response:
    settings: Settings = request.app[SETTINGS_KEY]
    problems = request.app[PROBLEMS_KEY]
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
        return answers.error(problems, 503, "UNAVAILABLE", _UNAVAILABLE)
    except Exception as exc:  # noqa: BLE001 - unreadable credentials are the caller's fault: 401, never 500
        log.warning("http_intake.credentials_unreadable", error=type(exc).__name__)
        auth = AuthError(401, "credentials could not be read")
    if isinstance(auth, AuthError):
        claimed = registry.known(request.headers.get("X-Drive-Agency"))
        log.info("http_intake.refused", http_status=auth.status, reason=auth.reason, agency=claimed)
        await _audit_refusal(request, auth.status, auth.reason, claimed, len(body))
        if auth.status == 401:
            return answers.unauthenticated(problems, auth.reason, request.headers)
        return answers.error(problems, auth.status, RefusalCode.NOT_ALLOWED, auth.reason)
    if not registry.rate_limiter.allow(auth):
        await _audit_refusal(request, 429, "rate limit exceeded", auth.id, len(body))
        return answers.error(problems, 429, "RATE_LIMITED", "rate limit exceeded")
    req = _Request(request.app[INTAKE_KEY], problems, auth, request.match_info["topic"], body, request.content_type)
    limits = JsonLimits(max_bytes=limit)
    try:
        response = await loop.run_in_executor(executor, _handled, req, limits, settings.intake_max_batch)
    except (IntakeUnavailable, *UNAVAILABLE) as exc:
        log.error("http_intake.unavailable", agency=auth.id, topic=topic_label(req.topic), error=type(exc).__name__)
        return answers.error(problems, 503, "UNAVAILABLE", _UNAVAILABLE)
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


