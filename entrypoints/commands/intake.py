"""`drive-alerts intake`: the HTTP intake (POST /v1/topics/{topic}/events) until interrupted."""
from __future__ import annotations

import argparse

from aiohttp import web

from entrypoints import bootstrap
from runtime.logging import get_logger
from runtime.settings import Settings

log = get_logger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `drive-alerts intake` (each overrides its DRIVE_* setting)."""
    parser.add_argument("--intake-host", dest="intake_host", default=None, help="listen address (env DRIVE_INTAKE_HOST)")
    parser.add_argument("--intake-port", dest="intake_port", type=int, default=None, help="listen port (env DRIVE_INTAKE_PORT)")
    parser.add_argument("--agencies-file", dest="agencies_file", default=None,
                        help="agencies YAML (env DRIVE_AGENCIES_FILE); unset: development agencies")


def run(_args: argparse.Namespace, settings: Settings) -> int:
    """Serve until interrupted; an embedded broker started here is re-seeded from the journal first."""
    with bootstrap.http_intake(settings) as app:
        log.info("intake.starting", host=settings.intake_host, port=settings.intake_port)
        web.run_app(app, host=settings.intake_host, port=settings.intake_port, print=None, access_log=None)
    return 0
