"""`drive-alerts worker`: one streams worker (identity resolution, correlation rules, alerts) until SIGTERM/SIGINT."""
from __future__ import annotations

import argparse
import asyncio

from entrypoints import bootstrap
from runtime.logging import get_logger
from runtime.settings import Settings
from streams.worker import start_worker

log = get_logger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`drive-alerts worker` takes only the global options (and DRIVE_* settings)."""


def run(_args: argparse.Namespace, settings: Settings) -> int:
    """Run one worker (the embedded broker when no bootstrap is set)."""
    with bootstrap.worker(settings) as process:
        log.info("streams_worker_starting", bootstrap=process.settings.kafka_bootstrap)
        asyncio.run(_serve(process))
    return 0


async def _serve(process: bootstrap.WorkerProcess) -> None:
    app = process.create_app()
    worker = await start_worker(app)
    process.ready.set()
    log.info("streams_worker_ready", app_id=app.conf.id, datadir=str(process.datadir), clock=process.settings.stream_clock)
    await worker.wait_until_stopped()  # SIGTERM / SIGINT make the worker stop itself
