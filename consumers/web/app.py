"""The staff web app (aiohttp, server-rendered jinja2): its middlewares, templates, health and static files."""
from __future__ import annotations

from importlib import resources
from urllib.parse import urlsplit

import aiohttp_jinja2
import jinja2
import sqlalchemy as sa
from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp_session import get_session
from aiohttp_session import setup as setup_sessions

from consumers.chronology.render import add_filters
from consumers.ledger.models import audit
from consumers.web import pages, signin
from consumers.web.deps import DEPS, WebDeps, deps_of
from consumers.web.metrics import REQUESTS
from consumers.web.render import page
from consumers.web.sessions import STAFF, cookie_storage, csrf_ok

MAX_BODY_BYTES = 16 * 1024  # the app's forms are a few fields
STATIC = {"web.css": ("consumers.web", "static/web.css"),
          "chronology.css": ("consumers.chronology", "templates/chronology.css")}


def _csp(deps: WebDeps) -> str:
    form_action = "'self'"
    if deps.settings.uses_oidc and deps.settings.oidc_issuer:
        issuer = urlsplit(deps.settings.oidc_issuer)
        form_action += f" {issuer.scheme}://{issuer.netloc}"  # the sign-in form's redirect goes to the provider
    return (f"default-src 'none'; style-src 'self'; img-src 'self'; form-action {form_action}; "
            "frame-ancestors 'none'; base-uri 'none'")


@web.middleware
async def headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """No caching of what a page shows, no framing, no script, no referrer; every response."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    response.headers.setdefault("Content-Security-Policy", _csp(deps_of(request)))
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.update({"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                             "Referrer-Policy": "no-referrer"})
    REQUESTS.labels(status=str(response.status)[0] + "xx").inc()
    if isinstance(response, web.HTTPException):
        raise response
    return response


@web.middleware
async def csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every POST carries this browser's CSRF token, or is refused (403, audited) before any handler sees it."""
    if request.method == "POST":
        form = await request.post()
        if not await csrf_ok(request, str(form.get("csrf") or "")):
            deps, session = deps_of(request), await get_session(request)
            staff = session.get(STAFF)
            await deps.in_db(lambda db: audit(db, "WEB_CSRF_REFUSED", at=deps.now(), staff_id=staff, channel="WEB",
                                              detail={"path": request.path[:100]}))
            return await page(request, "message.html", {"title": "Refused", "message": (
                "This form was not sent from a page of this app, or your page is out of date. Go back, reload the "
                "page and try again.")}, status=403)
    return await handler(request)


@web.middleware
async def not_found(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Unknown paths answer the app's own 404 page."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return await page(request, "message.html", {"title": "Not found", "message": "There is nothing here."},
                          status=404)
    except web.HTTPMethodNotAllowed:
        return await page(request, "message.html", {"title": "Not allowed", "message": "Use the app's buttons."},
                          status=405)


async def healthz(_request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: the ledger database answers."""
    try:
        await deps_of(request).in_db(lambda db: db.execute(sa.text("SELECT 1")))
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        return web.json_response({"status": "unavailable", "reason": type(exc).__name__}, status=503)
    return web.json_response({"status": "ok"})


async def static(request: web.Request) -> web.Response:
    """The app's stylesheets, from the installed package."""
    found = STATIC.get(request.match_info["name"])
    if found is None:
        raise web.HTTPNotFound()
    text = (resources.files(found[0]) / found[1]).read_text("utf-8")
    return web.Response(text=text, content_type="text/css", headers={"Cache-Control": "max-age=3600"})


def make_app(deps: WebDeps) -> web.Application:
    """The web application over `deps`."""
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[headers, not_found])
    app[DEPS] = deps
    setup_sessions(app, cookie_storage(deps.settings))
    app.middlewares.append(csrf)
    env = aiohttp_jinja2.setup(app, loader=jinja2.ChoiceLoader([
        jinja2.PackageLoader("consumers.web", "templates"), jinja2.PackageLoader("consumers.chronology", "templates")]),
        autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    add_filters(env)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/static/{name}", static)
    signin.add_routes(app)
    pages.add_routes(app)

    async def shutdown(app: web.Application) -> None:
        app[DEPS].executor.shutdown(wait=True)

    app.on_cleanup.append(shutdown)
    return app
