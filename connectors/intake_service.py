"""Runs the HTTP intake as a process (`drive-alerts intake`): database, topics, producer, re-seed, serve."""
from __future__ import annotations

import argparse
from typing import Any

from aiohttp import web

from connectors.agencies import AgencyRegistry
from connectors.http_intake import make_app
from connectors.intake import build_intake
from runtime.db import make_engine, upgrade
from runtime.kafka import broker_for, ensure_topics, make_producer, with_bootstrap
from runtime.logging import configure_logging, get_logger
from schemas.catalogue import CATALOGUE


def run_intake(settings: Any) -> int:
    """Serve the intake until interrupted; an embedded broker started here is re-seeded from the journal."""
    configure_logging(settings)
    log = get_logger("connectors.intake_service")
    started_broker = settings.uses_embedded_broker
    with broker_for(settings) as bootstrap:
        settings = with_bootstrap(settings, bootstrap)
        url = settings.resolved_database_url
        upgrade(url)
        engine = make_engine(url)
        ensure_topics(settings, CATALOGUE.values())
        producer = make_producer(settings)
        try:
            intake = build_intake(settings, engine, producer)
            # a broker we just started is empty: replay the whole journal; otherwise only what never got out
            sent = intake.reseed_all() if started_broker else intake.republish_pending()
            log.info("intake.starting", host=settings.intake_host, port=settings.intake_port, resent=sent)
            app = make_app(settings, intake, AgencyRegistry.from_settings(settings))
            web.run_app(app, host=settings.intake_host, port=settings.intake_port, print=None, access_log=None)
        finally:
            producer.close()
            engine.dispose()
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
