"""The database migrations (Alembic, run from code): every table's metadata, imported explicitly, and upgrade.

Every process migrates at start; on a database already at head `upgrade` reads one row and returns, without
importing Alembic (about half a second of each component's start, paid again on every restart).
"""
from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from connectors.dead_letters.store import replay_metadata
from connectors.intake.refusals import refusal_metadata
from connectors.intake.sealed import sealed_metadata
from connectors.intake.tables import connector_metadata
from consumers.ledger.models import ledger_metadata
from consumers.web.tables import web_metadata
from runtime.db import make_engine
from runtime.replay_guard import replay_guard_metadata

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["LOCATION", "TARGET_METADATA", "alembic_config", "current_revision", "head_revision", "upgrade"]

LOCATION = Path(__file__).resolve().parent
# Every MetaData the migrations manage: a layer that gets tables adds its metadata here and a revision under versions/.
TARGET_METADATA: tuple[sa.MetaData, ...] = (connector_metadata, ledger_metadata, replay_metadata, refusal_metadata,
                                            sealed_metadata, replay_guard_metadata, web_metadata)


_REVISION = re.compile(r'^(down_)?revision(?:: [^=]+)? = "?([A-Za-z0-9_]+|None)"?\s*$', re.M)


@cache
def head_revision() -> str:
    """The one revision no other revision builds on, read from the files under versions/."""
    revisions, parents = set(), set()
    for path in (LOCATION / "versions").glob("[0-9]*.py"):
        for down, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            (parents if down else revisions).add(value)
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"the migrations must have exactly one head, found {sorted(heads)}")
    return heads.pop()


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic Config pointing at these migrations (no alembic.ini needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(LOCATION))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Run the migrations to `revision` (default head) on the database at `url`."""
    engine = make_engine(url)
    try:
        if revision == "head" and _stored_revision(engine) == head_revision():
            return
        from alembic import command

        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision)
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    """The revision the database is at (None before the first upgrade)."""
    engine = make_engine(url)
    try:
        return _stored_revision(engine)
    finally:
        engine.dispose()


def _stored_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
