"""SQLite engines: a new database switched to WAL under a writer, and writers of one process taking turns."""
from __future__ import annotations

import sqlite3
import threading

import sqlalchemy as sa

from runtime.db import make_engine


def test_a_new_database_is_switched_to_wal_even_while_another_connection_writes(tmp_path):
    """The switch to WAL waits out a writer that holds the new file (it used to fail at once: "database is locked")."""
    path = tmp_path / "new.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t VALUES (1)")
    threading.Timer(0.5, holder.commit).start()
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()
        holder.close()


def test_writers_of_one_process_take_turns_without_losing_a_write(tmp_path):
    """Eight threads each committing fifty increments of one row end with exactly 400."""
    engine = make_engine(f"sqlite:///{tmp_path / 'turns.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE counter (n INTEGER)")
        connection.exec_driver_sql("INSERT INTO counter VALUES (0)")

    def bump() -> None:
        for _ in range(50):
            with engine.begin() as connection:
                n = connection.execute(sa.text("SELECT n FROM counter")).scalar_one()
                connection.execute(sa.text("UPDATE counter SET n = :n"), {"n": n + 1})

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT n FROM counter")).scalar_one() == 400
    engine.dispose()
