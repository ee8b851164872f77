"""The database migrations (Alembic, run from code): every table's metadata, imported explicitly, and upgrade."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from connectors.dead_letters.store import replay_metadata
from connectors.intake.refusals import refusal_metadata
from connectors.intake.sealed import sealed_metadata
from connectors.intake.tables import connector_metadata
from consumers.ledger.models import ledger_metadata
from consumers.web.tables import web_metadata
from runtime.db import make_engine
from runtime.replay_guard import replay_guard_metadata

__all__ = ["LOCATION", "TARGET_METADATA", "alembic_config", "current_revision", "upgrade"]

LOCATION = Path(__file__).resolve().parent
# Every MetaData the migrations manage: a layer that gets tables adds its metadata here and a revision under versions/.
TARGET_METADATA: tuple[sa.MetaData, ...] = (connector_metadata, ledger_metadata, replay_metadata, refusal_metadata,
                                            sealed_metadata, replay_guard_metadata, web_metadata)


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic Config pointing at these migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(LOCATION))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Run the migrations to `revision` (default head) on the database at `url`."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision)
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    """The revision the database is at (None before the first upgrade)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
