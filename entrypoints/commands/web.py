"""`drive-alerts web`: the staff web app (sign-in, my alerts, acknowledge, chronologies, on call) until interrupted."""
from __future__ import annotations

import argparse

from aiohttp import web

from entrypoints import bootstrap
from runtime.logging import get_logger
from runtime.settings import Settings

log = get_logger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `drive-alerts web` (each overrides its DRIVE_* setting)."""
    parser.add_argument("--web-host", dest="web_host", default=None, help="listen address (env DRIVE_WEB_HOST)")
    parser.add_argument("--web-port", dest="web_port", type=int, default=None, help="listen port (env DRIVE_WEB_PORT)")
    parser.add_argument("--web-base-url", dest="web_base_url", default=None,
                        help="external base URL staff use (env DRIVE_WEB_BASE_URL)")


def run(_args: argparse.Namespace, settings: Settings) -> int:
    """Serve until interrupted."""
    with bootstrap.staff_web(settings) as app:
        log.info("web_starting", host=settings.web_host, port=settings.web_port, url=settings.resolved_web_base_url,
                 sign_in="oidc" if settings.uses_oidc else "code")
        web.run_app(app, host=settings.web_host, port=settings.web_port, print=None, access_log=None)
    return 0
