"""Database engines: SQLite (embedded default: WAL, writers take turns) and PostgreSQL via psycopg 3."""
from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

SQLITE_BUSY_TIMEOUT_MS = 30_000


def as_utc(value: datetime | None) -> datetime | None:
    """An aware UTC datetime: SQLite hands back naive values, and everything is written in UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def normalise_url(url: str) -> str:
    """postgresql:// and postgres:// mean psycopg 3 here (SQLAlchemy would pick psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An Engine for the URL; SQLite gets WAL, foreign keys and a busy timeout on every connection."""
    url = normalise_url(url)
    if make_url(url).get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return sa.create_engine(url, **kwargs)
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    kwargs.setdefault("connect_args", {}).setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    engine = sa.create_engine(url, **kwargs)
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    _take_turns(engine, _WRITER_TURNS.setdefault(str(Path(database).resolve()) if database else "", threading.RLock()))
    return engine


# One lock per SQLite file per process: threads of a process (the dispatcher's consumer, sender and chronology
# feed) queue on it and are handed the turn at once, instead of polling SQLite's lock with the busy handler's
# sleeps of up to 100 ms. Other processes still wait on SQLite's own lock.
_WRITER_TURNS: dict[str, threading.RLock] = {}
_HOLDS_TURN = "drive_holds_writer_turn"


def _take_turns(engine: Engine, turn: threading.RLock) -> None:
    def begin(connection: sa.Connection) -> None:
        # A deferred transaction that reads, then writes after another process committed fails at once with
        # "database is locked" (WAL snapshot conflict; the busy timeout does not apply). Taking the write lock
        # at BEGIN makes concurrent writers (intake, dispatcher, webhooks) wait their turn instead.
        connection.info[_HOLDS_TURN] = turn.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            end(connection)
            raise

    def end(connection: sa.Connection) -> None:
        if connection.info.pop(_HOLDS_TURN, False):
            turn.release()

    sa.event.listen(engine, "begin", begin)
    sa.event.listen(engine, "commit", end)
    sa.event.listen(engine, "rollback", end)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # the driver must not BEGIN by itself: _take_turns does
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _use_wal(cursor)
        # SQLite's recommendation for WAL: a commit survives the crash or SIGKILL of any process, and only a power
        # loss of the host may roll back the last commits. FULL's fsync per commit cost 3.7 ms here, and the
        # dispatcher makes several commits per delivery. Hosts that must survive power loss run PostgreSQL.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _use_wal(cursor: Any) -> None:
    """WAL mode, switched once when the database is new. The switch needs the database to itself and fails at once
    with "database is locked" (the busy timeout does not apply) when two processes open a new database together:
    it is retried for up to the busy timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
