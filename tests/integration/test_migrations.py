"""Integration tests of the Alembic environment: upgrade on SQLite and PostgreSQL, no drift, shipped in the wheel."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from migrations import TARGET_METADATA, alembic_config, current_revision, head_revision, upgrade
from runtime.db import make_engine

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_upgrade_reaches_head_and_matches_models(database_url: str) -> None:
    """After upgrade the database is at head and autogenerate finds no difference from the models."""
    upgrade(database_url)
    assert current_revision(database_url) == head()
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, list(TARGET_METADATA)) == []
            tables = set(sa.inspect(conn).get_table_names())
        assert {"intake_journal", "sqlpoll_watermarks", "alembic_version"} <= tables
    finally:
        engine.dispose()


def test_upgrade_twice_is_a_no_op(sqlite_url: str) -> None:
    """Running the upgrade again on an up-to-date database changes nothing."""
    upgrade(sqlite_url)
    upgrade(sqlite_url)
    assert current_revision(sqlite_url) == head()


def test_the_head_read_from_the_files_is_alembics_head() -> None:
    """The cheap head check (no Alembic import) names the revision Alembic calls head."""
    assert head_revision() == head()


def test_a_database_at_head_is_not_migrated_again_and_alembic_stays_unloaded(sqlite_url: str) -> None:
    """A component starting on an up-to-date database pays one query, not Alembic's import and environment."""
    upgrade(sqlite_url)
    code = ("import sys; from migrations import upgrade; upgrade(sys.argv[1]); "
            "print(sorted(m for m in sys.modules if m == 'alembic' or m.startswith('alembic.')))")
    out = subprocess.run([sys.executable, "-c", code, sqlite_url], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]", out.stdout
    fresh = sqlite_url.replace(".db", "-fresh.db")
    out = subprocess.run([sys.executable, "-c", code, fresh], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "alembic" in out.stdout and current_revision(fresh) == head()


def test_downgrade_to_base_removes_tables(sqlite_url: str) -> None:
    """Every revision has a working downgrade."""
    from alembic import command

    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "base")
        with engine.connect() as conn:
            assert "intake_journal" not in sa.inspect(conn).get_table_names()
    finally:
        engine.dispose()


def test_sqlite_engine_uses_wal_and_foreign_keys(sqlite_url: str) -> None:
    """SQLite connections get WAL, foreign keys and a busy timeout."""
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    finally:
        engine.dispose()


def test_migrations_ship_in_the_wheel(tmp_path: Path) -> None:
    """The built wheel holds env.py, the script template and every revision; and the web app's and the
    chronology's templates and stylesheets (package data, read at run time)."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, cwd=tmp_path)
    wheel = next(tmp_path.glob("drive_alerts-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    revisions = {f"migrations/versions/{p.name}" for p in (ROOT / "migrations/versions").glob("*.py")}
    assert {"migrations/env.py", "migrations/script.py.mako"} | revisions <= names
    templates = {str(p.relative_to(ROOT)) for folder in ("consumers/web", "consumers/chronology")
                 for p in (ROOT / folder).rglob("*") if p.suffix in (".html", ".md", ".css")}
    assert len(templates) > 10 and templates <= names
