"""Alembic environment: runs on the connection migrations.upgrade hands over, or on sqlalchemy.url / DRIVE_DATABASE_URL."""
from __future__ import annotations

import os

from alembic import context

from migrations import TARGET_METADATA
from runtime.db import make_engine

config = context.config


def _configure(**kwargs: object) -> None:
    context.configure(target_metadata=list(TARGET_METADATA), compare_type=True,
                      render_as_batch=True, **kwargs)  # batch mode: SQLite cannot ALTER most things


def run_offline() -> None:
    """Emit SQL for a URL without connecting."""
    _configure(url=config.get_main_option("sqlalchemy.url") or os.environ["DRIVE_DATABASE_URL"],
               literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Migrate on the given connection (migrations.upgrade) or on a new engine for the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url") or os.environ["DRIVE_DATABASE_URL"]
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _configure(connection=conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
