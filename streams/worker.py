"""Running the streams: a faust Worker in our own event loop (start/stop for tests and replay) and `drive-alerts worker`."""
from __future__ import annotations

import argparse
import asyncio
import fcntl
import threading
import sys
from pathlib import Path
from typing import IO, Any

import faust
import structlog

from runtime.settings import Settings

log = structlog.get_logger(__name__)
READY = threading.Event()  # set once `drive-alerts worker` is started; its /readyz answers from it
READY_TIMEOUT_S = 120.0  # a restart after SIGKILL waits out the dead member's session (~25 s on Tansu)


class ReadyWorker(faust.Worker):
    """faust Worker with an asyncio.Event set once the app is fully started (tables recovered, agents running)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spinner = None  # faust's terminal spinner writes cursor escapes to stdout; we log instead
        self.ready = asyncio.Event()

    async def on_startup_finished(self) -> None:
        """faust calls this when startup is complete."""
        await super().on_startup_finished()
        self.ready.set()


async def start_worker(app: faust.App, ready_timeout_s: float = READY_TIMEOUT_S) -> ReadyWorker:
    """Starts a worker for the app in the running loop; returns once it is ready (installs SIGINT/SIGTERM handlers)."""
    # stdout=stderr: faust's progress spinner writes terminal codes to stdout, which replay keeps for alert lines
    worker = ReadyWorker(app, loop=asyncio.get_running_loop(), daemon=False, override_logging=False, quiet=True,
                         loglevel="warning", redirect_stdouts=False, stdout=sys.stderr)
    await worker.start()
    try:
        await asyncio.wait_for(worker.ready.wait(), ready_timeout_s)
    except BaseException:
        await worker.stop()
        raise
    return worker


async def stop_worker(worker: ReadyWorker) -> None:
    """Stops the worker (always before the broker it talks to)."""
    await worker.stop()


def claim_datadir(data_dir: Path) -> tuple[Path, IO[str]]:
    """data_dir/worker-<n> for the lowest n no running worker holds, and the open lock file that holds it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    n = 0
    while True:
        lock = open(data_dir / f"worker-{n}.lock", "w")  # noqa: SIM115 - held for the process lifetime
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            n += 1
            continue
        folder = data_dir / f"worker-{n}"
        folder.mkdir(exist_ok=True)
        return folder, lock


def provision(settings: Settings) -> dict[str, str]:
    """Creates the catalogue topics and the streams' internal topics (idempotent)."""
    from runtime.topics import ensure_topics
    from schemas.catalogue import CATALOGUE
    from streams.app import internal_topic_specs

    return ensure_topics(settings, [*CATALOGUE.values(), *internal_topic_specs(settings)])


async def _serve(settings: Settings, datadir: Path) -> None:
    from streams.app import create_app

    app = create_app(settings, datadir=datadir)
    worker = await start_worker(app)
    READY.set()
    log.info("streams_worker_ready", app_id=app.conf.id, datadir=str(datadir), clock=settings.stream_clock)
    await worker.wait_until_stopped()  # SIGTERM / SIGINT make the worker stop itself


def run_worker(settings: Settings) -> int:
    """Runs one streams worker until SIGTERM or SIGINT (the embedded broker when no bootstrap is set)."""
    from runtime.kafka import broker_for, with_bootstrap

    from runtime.metrics_server import start_metrics_server

    datadir, lock = claim_datadir(settings.data_dir)
    metrics = start_metrics_server(settings.metrics_host, settings.worker_metrics_port, READY.is_set)
    try:
        with broker_for(settings) as bootstrap:
            bound = with_bootstrap(settings, bootstrap)
            provision(bound)
            log.info("streams_worker_starting", bootstrap=bootstrap)
            asyncio.run(_serve(bound, datadir))
    finally:
        lock.close()
        if metrics is not None:
            metrics.stop()
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`drive-alerts worker` takes only the global options (and DRIVE_* settings)."""


def run(args: argparse.Namespace, settings: Settings) -> int:
    """CLI entry: run a worker."""
    return run_worker(settings)
