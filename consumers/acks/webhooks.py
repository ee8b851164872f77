"""The webhooks app (aiohttp): Twilio status callbacks and inbound SMS (signature-checked), e-mail ack links, health."""
from __future__ import annotations

import asyncio
import hashlib
import html
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator

from consumers.acks.acknowledge import (
    ACKNOWLEDGED,
    ALREADY_ACKNOWLEDGED,
    ESCALATION_ACKNOWLEDGED,
    VIA_LINK,
    AckOutcome,
    acknowledge,
    acknowledge_sms,
)
from consumers.acks.links import AckLinkRefused, link_secret, verify_token
from consumers.delivery.events import DeliveryPublisher
from consumers.delivery.twilio_status import StatusUpdate, apply_status
from consumers.ledger.models import audit
from runtime.logging import get_logger
from runtime.problems import Section, page_route, problem, type_uri
from runtime.replay_guard import ReplayGuard
from runtime.settings import Settings
from schemas.events import DeliveryEvent

log = get_logger(__name__)
Publish = Callable[[list[DeliveryEvent]], None]
DEPS: web.AppKey[WebhookDeps] = web.AppKey("webhook_deps")
SIGNATURE_HEADER = "X-Twilio-Signature"
MAX_BODY_BYTES = 64 * 1024  # Twilio's form posts are small


@dataclass
class WebhookDeps:
    """What the handlers need: settings, the database, where delivery events go, and the clock."""

    settings: Settings
    engine: sa.Engine
    publish: Publish
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="webhooks"))

    def __post_init__(self) -> None:
        self.sessions = sessionmaker(self.engine)
        self.replays = ReplayGuard(self.engine, "twilio", self.settings.webhook_replay_window_s)
        token = self.settings.twilio_auth_token
        self.validator = RequestValidator(token.get_secret_value()) if token is not None else None

    async def in_db(self, work: Callable[[Session], Any]) -> Any:
        """Run `work` in one committed transaction on the database thread."""
        def run() -> Any:
            with self.sessions.begin() as session:
                return work(session)
        return await asyncio.get_running_loop().run_in_executor(self.executor, run)

    async def publish_after_commit(self, events: list[DeliveryEvent]) -> None:
        """Publish events; the ledger already holds the fact, so a broker failure is logged, not raised."""
        if not events:
            return
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.publish, events)
        except Exception as exc:  # noqa: BLE001 - the audit trail is the record of truth
            log.error("delivery_event_publish_failed", count=len(events), error=type(exc).__name__)


def external_url(settings: Settings, request: web.Request) -> str:
    """The URL Twilio signed: public_base_url + the path and query (behind a proxy the Host differs)."""
    return settings.public_base_url.rstrip("/") + request.rel_url.raw_path_qs


# Why a Twilio webhook is refused (403): the code is audited and answered, with what the sender can do about it.
REFUSALS = {
    "NO_AUTH_TOKEN": "DRIVE_TWILIO_AUTH_TOKEN is not set here, so no Twilio signature can be checked",
    "MISSING_SIGNATURE": "the X-Twilio-Signature header is missing",
    "BAD_SIGNATURE": "X-Twilio-Signature does not match DRIVE_PUBLIC_BASE_URL + path and the form body",
    "REPLAYED": "this signed request was already received (replay)",
    "BAD_FORM": "the body is not a readable form",
}
WEBHOOK_REFUSALS = Section("Webhook refusals", "The `reason` of a refused Twilio callback (403), as its problem "
                           "`type`: what the sender can do about it.", REFUSALS, prefix="webhook-")
PAGE_TITLE = "drive-alerts webhooks: problem types"


async def _refuse(deps: WebhookDeps, request: web.Request, reason: str) -> web.Response:
    """403 (problem+json) with the reason code and what it means; audited WEBHOOK_REFUSED and logged (path and reason,
    never the body)."""
    log.warning("webhook_refused", path=request.path, reason=reason)
    await deps.in_db(lambda s: audit(s, "WEBHOOK_REFUSED", at=deps.now(), detail={"path": request.path,
                                                                                   "reason": reason}))
    return problem(403, {"type": type_uri(deps.settings.public_base_url, WEBHOOK_REFUSALS, reason),
                         "title": REFUSALS[reason], "status": "refused", "reason": reason, "code": reason,
                         "message": REFUSALS[reason]})


def _replay_token(signature: str, params: Any) -> str:
    return hashlib.sha256(repr((signature, sorted((k, str(v)) for k, v in params.items()))).encode(
        "utf-8", "surrogatepass")).hexdigest()


async def _signed_params(deps: WebhookDeps, request: web.Request) -> Any:
    """The form params of a genuine, fresh Twilio request, or the 403 response to give instead."""
    try:
        params = await request.post()
    except (ValueError, UnicodeError):
        return await _refuse(deps, request, "BAD_FORM")
    signature = request.headers.get(SIGNATURE_HEADER)
    if deps.validator is None:
        return await _refuse(deps, request, "NO_AUTH_TOKEN")
    if not signature:
        return await _refuse(deps, request, "MISSING_SIGNATURE")
    if not deps.validator.validate(external_url(deps.settings, request), params, signature):
        return await _refuse(deps, request, "BAD_SIGNATURE")
    first = await asyncio.get_running_loop().run_in_executor(
        deps.executor, deps.replays.first_use, _replay_token(signature, params), deps.now())
    if not first:
        return await _refuse(deps, request, "REPLAYED")
    return params


async def twilio_status(request: web.Request) -> web.Response:
    """POST /twilio/status: MessageSid + MessageStatus (+ ErrorCode) update the delivery in the ledger."""
    deps = request.app[DEPS]
    params = await _signed_params(deps, request)
    if isinstance(params, web.Response):
        return params
    update = StatusUpdate(message_sid=str(params.get("MessageSid", "")), status=str(params.get("MessageStatus", "")),
                          error_code=str(params.get("ErrorCode", "") or "") or None)
    events = await deps.in_db(lambda s: apply_status(s, update, deps.settings, deps.now()))
    await deps.publish_after_commit(events)
    return web.Response(status=204)


def _twiml(message: str | None) -> web.Response:
    inner = f"<Message>{html.escape(message)}</Message>" if message else ""
    return web.Response(text=f'<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>',
                        content_type="text/xml")


async def twilio_inbound(request: web.Request) -> web.Response:
    """POST /twilio/inbound: an `ACK <code>` from a recipient's registered number acknowledges the alert."""
    deps = request.app[DEPS]
    params = await _signed_params(deps, request)
    if isinstance(params, web.Response):
        return params
    sender, body = str(params.get("From", "")), str(params.get("Body", ""))
    outcome: AckOutcome = await deps.in_db(lambda s: acknowledge_sms(s, sender, body, deps.now()))
    await deps.publish_after_commit(list(outcome.events))
    log.info("sms_ack", status=outcome.status, alert_id=outcome.alert_id, staff_id=outcome.staff_id)
    if outcome.status == ACKNOWLEDGED:
        return _twiml(f"DRIVE alert {outcome.ack_code} acknowledged. Thank you.")
    if outcome.status == ALREADY_ACKNOWLEDGED:
        return _twiml(f"DRIVE alert {outcome.ack_code} was already acknowledged.")
    if outcome.status == ESCALATION_ACKNOWLEDGED:
        return _twiml(f"DRIVE alert {outcome.ack_code}: escalation acknowledged. Thank you.")
    return _twiml(None)  # refused: tell an unknown sender nothing


def _page(status: int, title: str, message: str, form: str = "") -> web.Response:
    body = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<meta name="robots" content="noindex"></head><body><h1>{html.escape(title)}</h1>'
            f"<p>{html.escape(message)}</p>{form}</body></html>")
    return web.Response(status=status, text=body, content_type="text/html",
                        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


async def _claim(deps: WebhookDeps, request: web.Request) -> Any:
    """The verified claim of the link's token, or the refusal page: 410 expired, 403 tampered or garbage (audited)."""
    try:
        return verify_token(link_secret(deps.settings), request.match_info["token"], deps.now())
    except AckLinkRefused as refused:
        reason, claim = refused.reason, refused.claim  # only an expired token's claim is genuine (its signature held)
        log.info("ack_link_refused", reason=reason, method=request.method)
        await deps.in_db(lambda s: audit(s, "ACK_LINK_REFUSED", at=deps.now(),
                                         alert_id=claim.alert_id if claim else None,
                                         staff_id=claim.staff_id if claim else None, channel=VIA_LINK,
                                         detail={"reason": reason, "method": request.method}))
        if reason == "EXPIRED":
            return _page(410, "Link expired", "This acknowledgement link has expired. Reply ACK with the code "
                                               "by SMS, or contact the duty manager.")
        return _page(403, "Link not valid", "This acknowledgement link is not valid: it was changed or is "
                                            "incomplete. Use the link exactly as sent, or reply ACK with the code.")


async def ack_link_page(request: web.Request) -> web.Response:
    """GET /ack/{token}: a confirmation page (link scanners follow GETs, so a GET never acknowledges)."""
    deps = request.app[DEPS]
    claim = await _claim(deps, request)
    if isinstance(claim, web.Response):
        return claim
    form = ('<form method="post"><button type="submit">Acknowledge this alert</button></form>')
    return _page(200, "Acknowledge alert", "Press the button to acknowledge that you have seen this alert.", form)


async def ack_link_confirm(request: web.Request) -> web.Response:
    """POST /ack/{token}: acknowledge the alert as the staff member the link was sent to."""
    deps = request.app[DEPS]
    claim = await _claim(deps, request)
    if isinstance(claim, web.Response):
        return claim
    outcome = await deps.in_db(lambda s: acknowledge(s, claim.alert_id, claim.staff_id, VIA_LINK, deps.now()))
    await deps.publish_after_commit(list(outcome.events))
    log.info("link_ack", status=outcome.status, alert_id=outcome.alert_id, staff_id=claim.staff_id)
    if outcome.status == ACKNOWLEDGED:
        return _page(200, "Acknowledged", f"Alert {outcome.ack_code} is acknowledged. Thank you.")
    if outcome.status == ALREADY_ACKNOWLEDGED:
        return _page(200, "Acknowledged", f"Alert {outcome.ack_code} was already acknowledged.")
    if outcome.status == ESCALATION_ACKNOWLEDGED:
        return _page(200, "Acknowledged", f"The escalation of alert {outcome.ack_code} is acknowledged. Thank you.")
    return _page(404, "Link not valid", "This acknowledgement link does not match an alert sent to you.")


async def healthz(_request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: the database answers."""
    deps = request.app[DEPS]
    try:
        await deps.in_db(lambda s: s.execute(sa.text("SELECT 1")))
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        return web.json_response({"status": "unavailable", "reason": type(exc).__name__}, status=503)
    return web.json_response({"status": "ok"})


def make_app(deps: WebhookDeps) -> web.Application:
    """The webhooks application over `deps`."""
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[DEPS] = deps
    app.router.add_post("/twilio/status", twilio_status)
    app.router.add_post("/twilio/inbound", twilio_inbound)
    app.router.add_get("/ack/{token}", ack_link_page)
    app.router.add_post("/ack/{token}", ack_link_confirm)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    page_route(app, PAGE_TITLE, [WEBHOOK_REFUSALS])

    async def shutdown(app: web.Application) -> None:
        app[DEPS].executor.shutdown(wait=True)

    app.on_cleanup.append(shutdown)
    return app


def publisher_of(publisher: DeliveryPublisher | None) -> Callable[[list[DeliveryEvent]], None]:
    """A publish function sending each DeliveryEvent through the delivery core's publisher (or nowhere)."""
    def publish(events: list[DeliveryEvent]) -> None:
        if publisher is None:
            return
        for e in events:
            publisher.publish(e.kind.value, e.alert_id, e.at, staff_id=e.staff_id,
                              channel=e.channel.value if e.channel else None, code=e.code,
                              event_id=e.delivery_event_id)
    return publish
