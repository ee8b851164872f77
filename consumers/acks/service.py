"""`drive-alerts webhooks`: serve the webhooks app; delivery events go to Kafka when a bootstrap is configured."""
from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from aiohttp import web

from consumers.delivery.events import DeliveryPublisher
from consumers.acks.webhooks import WebhookDeps, make_app
from migrations import upgrade
from runtime.db import make_engine
from runtime.logging import configure_logging, get_logger
from runtime.metrics_server import add_metrics_route
from schemas.events import DeliveryEvent

log = get_logger(__name__)


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


def run_webhooks(settings: Any) -> int:
    """Serve Twilio callbacks and ack links until interrupted."""
    configure_logging(settings)
    if settings.twilio_auth_token is None:
        log.warning("twilio_auth_token_unset", effect="every Twilio callback is refused with 403")
    upgrade(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    publisher = DeliveryPublisher.from_settings(settings) if settings.kafka_bootstrap else None
    if publisher is None:
        log.warning("delivery_events_not_published", reason="no Kafka bootstrap; the audit trail still records all")
    try:
        app = make_app(WebhookDeps(settings=settings, engine=engine, publish=publisher_of(publisher)))
        add_metrics_route(app)
        log.info("webhooks_starting", host=settings.webhooks_host, port=settings.webhooks_port,
                 public_base_url=settings.public_base_url)
        web.run_app(app, host=settings.webhooks_host, port=settings.webhooks_port, print=None, access_log=None)
    finally:
        if publisher is not None:
            publisher.close()
        engine.dispose()
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `drive-alerts webhooks` (each overrides its DRIVE_* setting)."""
    parser.add_argument("--webhooks-host", dest="webhooks_host", default=None,
                        help="listen address (env DRIVE_WEBHOOKS_HOST)")
    parser.add_argument("--webhooks-port", dest="webhooks_port", type=int, default=None,
                        help="listen port (env DRIVE_WEBHOOKS_PORT)")
    parser.add_argument("--public-base-url", dest="public_base_url", default=None,
                        help="external base URL Twilio and mail clients use (env DRIVE_PUBLIC_BASE_URL)")


def run(_args: argparse.Namespace, settings: Any) -> int:
    """CLI entry point of `drive-alerts webhooks`."""
    return run_webhooks(settings)
