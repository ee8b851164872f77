"""What the web app's handlers share: settings, the ledger database, the delivery channels, the clock."""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.orm import Session, sessionmaker

from consumers.delivery.channels import Channel
from runtime.settings import Settings


def _wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class WebDeps:
    """The app's dependencies; tests give their own clock and channels (the outbox shows sign-in codes)."""

    settings: Settings
    engine: sa.Engine
    channels: Mapping[str, Channel]
    now: Callable[[], datetime] = field(default=_wall_clock)
    oidc: Any = None  # consumers.web.oidc.OidcClient when sign-in is OpenID Connect
    executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(2, thread_name_prefix="web-db"))

    def __post_init__(self) -> None:
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)  # pages read rows after the commit

    async def in_db(self, work: Callable[[Session], Any]) -> Any:
        """Run `work` in one committed transaction on a database thread."""
        def run() -> Any:
            with self.sessions.begin() as session:
                return work(session)
        return await asyncio.get_running_loop().run_in_executor(self.executor, run)

    async def off_loop(self, work: Callable[[], Any]) -> Any:
        """Run blocking work that is not the database (a provider call) off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(None, work)


DEPS: web.AppKey[WebDeps] = web.AppKey("web_deps")


def deps_of(request: web.Request) -> WebDeps:
    """The app's dependencies from a request."""
    return request.app[DEPS]
