"""`drive-alerts webhooks`: Twilio status and inbound-SMS callbacks and e-mail ack links until interrupted."""
from __future__ import annotations

import argparse

from aiohttp import web

from entrypoints import bootstrap
from runtime.logging import get_logger
from runtime.settings import Settings

log = get_logger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `drive-alerts webhooks` (each overrides its DRIVE_* setting)."""
    parser.add_argument("--webhooks-host", dest="webhooks_host", default=None,
                        help="listen address (env DRIVE_WEBHOOKS_HOST)")
    parser.add_argument("--webhooks-port", dest="webhooks_port", type=int, default=None,
                        help="listen port (env DRIVE_WEBHOOKS_PORT)")
    parser.add_argument("--public-base-url", dest="public_base_url", default=None,
                        help="external base URL Twilio and mail clients use (env DRIVE_PUBLIC_BASE_URL)")


def run(_args: argparse.Namespace, settings: Settings) -> int:
    """Serve until interrupted."""
    with bootstrap.webhooks(settings) as app:
        log.info("webhooks_starting", host=settings.webhooks_host, port=settings.webhooks_port,
                 public_base_url=settings.public_base_url)
        web.run_app(app, host=settings.webhooks_host, port=settings.webhooks_port, print=None, access_log=None)
    return 0
