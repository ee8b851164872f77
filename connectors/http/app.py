"""HTTP intake (aiohttp): the event route (events.py), health, readiness, metrics, the OpenAPI document, problem types.

Every refusal, aiohttp's own (unknown route, wrong method) included, is application/problem+json (answers.py).
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

from connectors.http import answers
from connectors.http.agencies import AgencyRegistry
from connectors.http.events import (
    AGENCIES_KEY,
    EXECUTOR_KEY,
    INTAKE_KEY,
    OPENAPI_KEY,
    PROBLEMS_KEY,
    SETTINGS_KEY,
    post_events,
    topic_label,
)
from connectors.http.openapi import openapi_document
from connectors.http.problems import PAGE_TITLE, SECTIONS, Problems, intake_public_url
from connectors.intake.codes import RefusalCode
from connectors.intake.submit import Intake
from runtime.metrics_server import add_metrics_route
from runtime.problems import page_route
from runtime.settings import Settings

__all__ = ["make_app", "topic_label"]
log = structlog.get_logger("connectors.http.app")
_ROUTE_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: RefusalCode.TOO_LARGE}


@web.middleware
async def _problem_errors(request: web.Request,
                          handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """aiohttp's own errors (unknown route, wrong method) answered as problem+json too."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _ROUTE_CODES.get(exc.status, "HTTP_ERROR")
        return answers.error(request.app[PROBLEMS_KEY], exc.status, code, exc.reason)


async def _healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


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
    return web.json_response({"status": "ok" if ready else "unavailable", "reason": reason}, status=200 if ready else 503)


async def _openapi(request: web.Request) -> web.Response:
    return web.json_response(request.app[OPENAPI_KEY])


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
    app = web.Application(client_max_size=settings.intake_max_body_bytes, middlewares=[_problem_errors])
    app[SETTINGS_KEY] = settings
    app[PROBLEMS_KEY] = Problems(intake_public_url(settings))
    app[OPENAPI_KEY] = openapi_document()
    app[INTAKE_KEY] = intake
    app[AGENCIES_KEY] = agencies
    app[EXECUTOR_KEY] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="intake")
    app.router.add_post("/v1/topics/{topic}/events", post_events)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/openapi.json", _openapi)
    add_metrics_route(app)
    page_route(app, PAGE_TITLE, SECTIONS)

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
