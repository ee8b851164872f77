"""The staff web app on a real loopback socket over a filled ledger, and a client that signs in as a person would:
asks for a code, reads it from the outbox, types it in."""
from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from consumers.delivery.channels.build import build_channels
from consumers.web.app import make_app
from consumers.web.deps import WebDeps
from consumers.web.oidc import OidcClient
from runtime.db import make_engine
from runtime.embedded_broker import free_port
from tests.fakes.delivery_harness import SimClock
from tests.fakes.web_world import World, build_world

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def outbox_code(outbox: Path, staff_id: str) -> str:
    """The code of the latest sign-in message the outbox holds for this staff member."""
    lines = [json.loads(line) for line in outbox.read_text().splitlines() if line.strip()]
    [*_, last] = [m for m in lines if m["alert_id"] == "sign-in" and m["staff_id"] == staff_id]
    return re.search(r"code (\d{6})", last["body"]).group(1)  # type: ignore[union-attr]


@dataclass
class WebClient:
    """One browser's worth of cookies against the app."""

    base: str
    http: aiohttp.ClientSession
    outbox: Path

    async def get(self, path: str, **kwargs: Any) -> tuple[int, str, aiohttp.ClientResponse]:
        async with self.http.get(self.base + path, allow_redirects=False, **kwargs) as r:
            return r.status, await r.text(), r

    async def csrf(self, path: str = "/sign-in") -> str:
        _, text, _ = await self.get(path)
        match = CSRF.search(text)
        assert match, text[:500]
        return match.group(1)

    async def post(self, path: str, data: dict[str, str], csrf: str | None = "fetch",
                   from_page: str = "/sign-in") -> tuple[int, str, aiohttp.ClientResponse]:
        form = dict(data)
        if csrf == "fetch":
            csrf = await self.csrf(from_page)
        if csrf is not None:
            form["csrf"] = csrf
        async with self.http.post(self.base + path, data=form, allow_redirects=False) as r:
            return r.status, await r.text(), r

    async def sign_in(self, staff_id: str) -> None:
        status, _, answer = await self.post("/sign-in", {"who": staff_id})
        assert status == 303 and answer.headers["Location"] == "/sign-in/code"
        status, _, answer = await self.post("/sign-in/code", {"code": outbox_code(self.outbox, staff_id)},
                                            from_page="/sign-in/code")
        assert status == 303 and answer.headers["Location"] == "/", status


@dataclass
class WebHarness:
    """The world, the running app, its clock, and a way to open more browsers."""

    world: World
    server: TestServer
    clock: SimClock
    deps: WebDeps
    clients: list[aiohttp.ClientSession]

    def client(self) -> WebClient:
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.clients.append(http)
        return WebClient(str(self.server.make_url("")).rstrip("/"), http, self.world.outbox)


@asynccontextmanager
async def running_web(data_dir: Path, database_url: str | None = None, **overrides: Any) -> AsyncIterator[WebHarness]:
    """The real app over a world built through the real code paths; the app's clock starts at the world's now."""
    port = free_port()
    world = build_world(data_dir, database_url, web_base_url=f"http://127.0.0.1:{port}", **overrides)
    clock = SimClock(world.now)
    engine = make_engine(world.settings.resolved_database_url)
    oidc = OidcClient(world.settings) if world.settings.uses_oidc else None
    deps = WebDeps(settings=world.settings, engine=engine, channels=build_channels(world.settings), now=clock,
                   oidc=oidc)
    server = TestServer(make_app(deps), host="127.0.0.1", port=port)
    await server.start_server(access_log=None)
    harness = WebHarness(world, server, clock, deps, [])
    try:
        yield harness
    finally:
        for http in harness.clients:
            await http.close()
        await server.close()
        engine.dispose()
