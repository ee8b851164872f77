"""Runs the HTTP intake as a process (`drive-alerts intake`): database, topics, producer, re-seed, serve."""
from __future__ import annotations

import argparse
from typing import Any

from aiohttp import web

from connectors.http.agencies import AgencyRegistry
from connectors.http.app import make_app
from connectors.intake.session import intake_session
from runtime.logging import configure_logging, get_logger
from runtime.metrics_server import add_metrics_route

log = get_logger("connectors.http.service")


def run_intake(settings: Any) -> int:
    """Serve the intake until interrupted; an embedded broker started here is re-seeded from the journal."""
    configure_logging(settings)
    with intake_session(settings) as (intake, settings):
        log.info("intake.starting", host=settings.intake_host, port=settings.intake_port)
        app = make_app(settings, intake, AgencyRegistry.from_settings(settings))
        add_metrics_route(app)
        web.run_app(app, host=settings.intake_host, port=settings.intake_port, print=None, access_log=None)
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `drive-alerts intake` (each overrides its DRIVE_* setting)."""
    parser.add_argument("--intake-host", dest="intake_host", default=None, help="listen address (env DRIVE_INTAKE_HOST)")
    parser.add_argument("--intake-port", dest="intake_port", type=int, default=None, help="listen port (env DRIVE_INTAKE_PORT)")
    parser.add_argument("--agencies-file", dest="agencies_file", default=None,
                        help="agencies YAML (env DRIVE_AGENCIES_FILE); unset: development agencies")


def run(_args: argparse.Namespace, settings: Any) -> int:
    """CLI entry point of `drive-alerts intake`."""
    return run_intake(settings)
