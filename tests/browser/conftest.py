"""Browser fixtures: Debian's Chromium driven by Playwright, and the real web app on loopback over a filled ledger.

The app runs on its own thread and event loop: Playwright's sync API owns the main thread's. Chromium comes from
the Debian packages `chromium` and `chromium-driver` (dev.py installs them); never `playwright install`.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from consumers.delivery.channels.build import build_channels
from consumers.web.app import make_app
from consumers.web.deps import WebDeps
from runtime.db import make_engine
from tests.conftest import skip_loudly
from tests.fakes.delivery_harness import SimClock
from tests.fakes.web_world import World, build_world

CHROMIUM = os.environ.get("DRIVE_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


@dataclass
class LiveWeb:
    """The app as a browser reaches it, the world behind it and the app's clock."""

    base: str
    world: World
    clock: SimClock
    shots: Path

    def shot(self, page: Any, name: str, full_page: bool = True) -> Path:
        """A screenshot under the test's temp folder (named in the report), checked to be a PNG."""
        path = self.shots / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        assert path.read_bytes()[:4] == b"\x89PNG"
        return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module (a loud skip where the Debian package is missing); closed with the
    module, since Playwright's sync API holds the thread's event loop while it runs."""
    if not os.path.exists(CHROMIUM):
        skip_loudly("Chromium (Debian package chromium)", f"{CHROMIUM} not found; `python3 dev.py test` installs it")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        skip_loudly("Playwright", f"package missing: {exc}")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A fresh phone-sized browser context (its own cookies) and one page."""
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveWeb]:
    """The web app on 127.0.0.1 (own thread and loop) over a world built through the real code paths."""
    world = build_world(tmp_path / "data")
    clock = SimClock(world.now)
    engine = make_engine(world.settings.resolved_database_url)
    app = make_app(WebDeps(settings=world.settings, engine=engine, channels=build_channels(world.settings),
                           now=clock))
    ready, box = threading.Event(), {}

    def serve() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        runner = web.AppRunner(app, access_log=None)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
        box.update(loop=loop, port=runner.addresses[0][1])
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=serve, name="web-under-test", daemon=True)
    thread.start()
    assert ready.wait(15)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    try:
        yield LiveWeb(f"http://127.0.0.1:{box['port']}", world, clock, shots)
    finally:
        box["loop"].call_soon_threadsafe(box["loop"].stop)
        thread.join(15)
        engine.dispose()
