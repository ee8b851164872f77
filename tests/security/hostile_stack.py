"""A real HTTP intake (real broker, SQLite journal) served from a background thread, for synchronous property tests."""
from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from connectors.http.app import make_app
from connectors.intake.submit import Intake
from runtime.settings import Settings
from tests.integration.intake_wiring import real_intake
from tests.integration.test_http_intake import AGENCIES_YAML, registry_for


@dataclass
class LiveIntake:
    """Where the intake listens and the Intake behind it."""

    url: str
    intake: Intake
    settings: Settings

    def post(self, topic: str, body: bytes, headers: Mapping[str, str | bytes]) -> tuple[int, Any]:
        """POST and return (status, parsed JSON body or None); bytes header values are sent as they are."""
        request = urllib.request.Request(f"{self.url}/v1/topics/{topic}/events", data=body, method="POST")
        for name, value in headers.items():
            request.add_header(name, value)  # type: ignore[arg-type] - http.client sends bytes values unchanged
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


@contextmanager
def live_intake(settings: Settings, database_url: str, agencies_yaml: str = AGENCIES_YAML) -> Iterator[LiveIntake]:
    """Serve the intake app on a free 127.0.0.1 port in a thread with its own event loop."""
    with real_intake(settings, database_url) as intake:
        agencies = registry_for(settings, intake, agencies_yaml)
        loop = asyncio.new_event_loop()
        # access_log=None as `drive-alerts intake` runs it: an access log would keep request paths
        runner = web.AppRunner(make_app(settings, intake, agencies, republish_every_s=3600), access_log=None)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        try:
            yield LiveIntake(f"http://127.0.0.1:{port}", intake, settings)
        finally:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()
