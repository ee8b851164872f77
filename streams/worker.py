"""Running the streams: a faust Worker in our own event loop, started and stopped by the worker process, replay and tests."""
from __future__ import annotations

import asyncio
import sys
from typing import Any

import faust

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
