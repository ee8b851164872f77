"""Sign-in and sign-out pages: a one-time code by SMS or e-mail (embedded default) or OpenID Connect (production).

Every sign-in, every failure (with its reason code, never what was typed) and every sign-out is audited.
"""
from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp_session import get_session
from sqlalchemy.orm import Session

from consumers.delivery.retry import DeliveryFault
from consumers.ledger.models import audit
from consumers.web import codes, sessions
from consumers.web.deps import WebDeps, deps_of
from consumers.web.metrics import SIGN_INS
from consumers.web.oidc import CALLBACK_PATH, OidcRefused, staff_for
from consumers.web.render import page
from runtime.logging import get_logger

log = get_logger(__name__)
PENDING, OIDC = "pending_code", "oidc"
PROBLEMS = {
    codes.BAD_CODE: "That code is not right. Check it and try again, or ask for a new one.",
    codes.EXPIRED: "That code has expired. Ask for a new one.",
    codes.EXHAUSTED: "That code can no longer be used. Ask for a new one.",
    "NOT_REGISTERED": "Your account is not registered as active staff in the Drive case registry. Ask your manager.",
    "BAD_STATE": "The sign-in took too long or was started elsewhere. Start again.",
}


async def _failed(deps: WebDeps, via: str, reason: str, staff_id: str | None = None) -> None:
    SIGN_INS.labels(kind=via, status=reason).inc()
    log.info("web_sign_in_failed", via=via, reason=reason, staff_id=staff_id)
    await deps.in_db(lambda db: audit(db, "WEB_SIGN_IN_FAILED", at=deps.now(), staff_id=staff_id, channel="WEB",
                                      detail={"via": via, "reason": reason}))


async def _signed_in(request: web.Request, deps: WebDeps, staff_id: str, via: str) -> web.Response:
    await sessions.start(request, deps, staff_id, via)
    SIGN_INS.labels(kind=via, status="OK").inc()
    log.info("web_signed_in", via=via, staff_id=staff_id)
    raise web.HTTPSeeOther("/")


async def sign_in_page(request: web.Request) -> web.Response:
    """GET /sign-in: the code form, or the button to the identity provider."""
    if await sessions.current_viewer(request) is not None:
        raise web.HTTPSeeOther("/")
    return await page(request, "sign_in.html", {"oidc": deps_of(request).settings.uses_oidc})


async def send_code(request: web.Request) -> web.Response:
    """POST /sign-in: a code to the named staff member's registered phone or e-mail (the same answer for anyone)."""
    deps = deps_of(request)
    if deps.settings.uses_oidc:
        raise web.HTTPNotFound()
    who = str((await request.post()).get("who") or "")
    now = deps.now()

    def issue(db: Session) -> codes.Issued | None:
        staff = codes.find_staff(db, who)
        if staff is None:
            audit(db, "WEB_SIGN_IN_FAILED", at=now, channel="WEB", detail={"via": "CODE", "reason": "UNKNOWN_STAFF"})
            return None
        return codes.issue(db, staff, deps.settings, now)
    issued = await deps.in_db(issue)
    if issued is not None:
        await _send(deps, issued)
    session = await get_session(request)
    session[PENDING] = issued.code_id if issued is not None else 0
    raise web.HTTPSeeOther("/sign-in/code")


async def _send(deps: WebDeps, issued: codes.Issued) -> None:
    channel = deps.channels[issued.message.channel]
    try:
        await deps.off_loop(lambda: channel.send(issued.message))
    except (DeliveryFault, OSError) as exc:
        reason = exc.code if isinstance(exc, DeliveryFault) else type(exc).__name__
        log.warning("web_sign_in_code_not_sent", channel=issued.message.channel, reason=reason)
        await deps.in_db(lambda db: codes.void(db, issued.code_id, deps.now(), str(reason)[:40]))


async def code_page(request: web.Request) -> web.Response:
    """GET /sign-in/code: where the code is typed."""
    if PENDING not in await get_session(request):
        raise web.HTTPSeeOther("/sign-in")
    minutes = max(1, deps_of(request).settings.web_sign_in_code_ttl_s // 60)
    return await page(request, "sign_in_code.html", {"minutes": minutes})


async def check_code(request: web.Request) -> web.Response:
    """POST /sign-in/code: the right code in time signs its staff member in; anything else is refused and counted."""
    deps, session = deps_of(request), await get_session(request)
    if PENDING not in session:
        raise web.HTTPSeeOther("/sign-in")
    typed = str((await request.post()).get("code") or "")[:20]
    status, staff_id = await deps.in_db(lambda db: codes.check(db, int(session[PENDING] or 0), typed, deps.settings,
                                                               deps.now()))
    if status == codes.OK and staff_id is not None:
        return await _signed_in(request, deps, staff_id, "CODE")
    await _failed(deps, "CODE", status, staff_id)
    if status != codes.BAD_CODE:
        session.pop(PENDING, None)
    minutes = max(1, deps.settings.web_sign_in_code_ttl_s // 60)
    return await page(request, "sign_in_code.html", {"problem": PROBLEMS[status], "minutes": minutes}, status=403)


async def start_oidc(request: web.Request) -> web.Response:
    """POST /sign-in/oidc: off to the identity provider, with state, nonce and a PKCE verifier kept in the session."""
    deps = deps_of(request)
    if deps.oidc is None:
        raise web.HTTPNotFound()
    try:
        url, challenge = await deps.oidc.authorization_url()
    except OidcRefused as refused:
        await _failed(deps, "OIDC", refused.reason)
        return await page(request, "sign_in.html", {"oidc": True, "problem": "The identity provider cannot be "
                                                    "reached. Try again in a minute."}, status=503)
    (await get_session(request))[OIDC] = challenge.as_dict()
    raise web.HTTPSeeOther(url)


async def oidc_callback(request: web.Request) -> web.Response:
    """GET /sign-in/oidc/callback: a verified ID token naming active registered staff signs them in."""
    deps, session = deps_of(request), await get_session(request)
    if deps.oidc is None:
        raise web.HTTPNotFound()
    kept: Any = session.pop(OIDC, None)
    try:
        claims = await deps.oidc.claims(dict(request.query), kept if isinstance(kept, dict) else None)
    except OidcRefused as refused:
        await _failed(deps, "OIDC", refused.reason)
        return await page(request, "sign_in.html", {"oidc": True, "problem": PROBLEMS.get(
            refused.reason, "The identity provider's answer could not be accepted. Start again.")}, status=403)
    staff = await deps.in_db(lambda db: _staff_id(db, claims, deps.settings.oidc_staff_claim))
    if staff is None:
        await _failed(deps, "OIDC", "NOT_REGISTERED")
        return await page(request, "sign_in.html", {"oidc": True, "problem": PROBLEMS["NOT_REGISTERED"]},
                          status=403)
    return await _signed_in(request, deps, staff, "OIDC")


def _staff_id(db: Session, claims: dict[str, Any], claim: str) -> str | None:
    staff = staff_for(db, claims, claim)
    return staff.staff_id if staff is not None else None


async def sign_out(request: web.Request) -> web.Response:
    """POST /sign-out: the session ends on the server and in the browser."""
    await sessions.end(request, deps_of(request))
    raise web.HTTPSeeOther("/sign-in")


def add_routes(app: web.Application) -> None:
    """The sign-in routes."""
    app.router.add_get("/sign-in", sign_in_page)
    app.router.add_post("/sign-in", send_code)
    app.router.add_get("/sign-in/code", code_page)
    app.router.add_post("/sign-in/code", check_code)
    app.router.add_post("/sign-in/oidc", start_oidc)
    app.router.add_get(CALLBACK_PATH, oidc_callback)
    app.router.add_post("/sign-out", sign_out)
