"""SQL polling against real PostgreSQL and SQLite source tables, publishing to the real broker."""
from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.mappings.config import default_mappings_dir, parse_mapping
from connectors.sqlpoll import SqlPoller, SqlSource, SqlSourceError
from runtime.db import make_engine
from tests.integration.intake_wiring import read_records, real_intake

pytestmark = pytest.mark.integration

COLUMNS = ["incident_row_id", "updated_at", "record_type", "pnc_id", "subject_name", "occurrence_no", "force",
           "victim_refs", "offence", "injury", "weapon", "children", "occurred"]
T0 = datetime(2026, 7, 1, 9, 0, 0)


def feed(table: str, **sql: Any) -> Any:
    """A police SQL feed mapping over `table` (sql overrides change the declared identifiers)."""
    return parse_mapping({
        "agency": "met", "feed": "rms-view", "kind": "police", "topic": "incident", "system": "niche-rms",
        "applies_to": {"sql": {"table": table, "watermark": "updated_at", "key": "incident_row_id",
                               "columns": COLUMNS, **sql}},
        "event_type": {"column": "record_type", "values": {"DA_INC": "DOMESTIC_INCIDENT"}},
        "key": ["record_ref"],
        "columns": {"incident_row_id": "record_ref", "pnc_id": "pnc", "subject_name": "person_name",
                    "occurrence_no": "incident_ref", "force": "force_area", "offence": "offence_category",
                    "children": "children_present", "occurred": "occurred_at"},
        "values": {"offence_category": {"ASLT": "ASSAULT"}},
        "timestamps": {"format": "iso", "timezone": "Europe/London"},
    }, "sql-test.yaml")


def agency_table(engine: sa.Engine, schema: str | None = None) -> sa.Table:
    """The agency's da_incidents table (COLUMNS), created in the engine's database."""
    table = sa.Table("da_incidents", sa.MetaData(), schema=schema,
                     *[sa.Column(c, sa.Integer, primary_key=True) if c == "incident_row_id" else
                       sa.Column(c, sa.DateTime) if c in ("updated_at", "occurred") else sa.Column(c, sa.String(100))
                       for c in COLUMNS])
    table.create(engine)
    return table


@pytest.fixture
def source(database_url: str) -> Any:
    """A real agency table in a schema (PostgreSQL: reporting; SQLite: main) and its schema-qualified name."""
    engine = make_engine(database_url)
    schema = "main" if engine.dialect.name == "sqlite" else "reporting"
    if schema == "reporting":
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE SCHEMA reporting"))
    table = agency_table(engine, schema)
    yield engine, table, f"{schema}.da_incidents"
    engine.dispose()


def insert(engine: sa.Engine, table: sa.Table, row_id: int, updated_at: datetime, offence: str = "ASLT") -> None:
    """Add one incident row to the agency table."""
    with engine.begin() as conn:
        conn.execute(table.insert().values(
            incident_row_id=row_id, updated_at=updated_at, record_type="DA_INC", pnc_id=f"2019/{row_id:04d}A",
            subject_name="SMITH John", occurrence_no=f"01/{row_id}/26", force="E23000001", victim_refs="VIC-1",
            offence=offence, injury="N", weapon="N", children="N", occurred=T0))


def test_rows_published_and_restart_continues_without_duplicates_or_gaps(settings: Any, database_url: str,
                                                                          source: Any) -> None:
    """Ties on the watermark are neither skipped nor repeated across batches, polls and a restart."""
    engine, table, name = source
    for row_id, at in [(1, T0), (2, T0 + timedelta(minutes=1)), (3, T0 + timedelta(minutes=1))]:
        insert(engine, table, row_id, at)
    with real_intake(settings, database_url) as intake:
        poller = SqlPoller(engine, SqlSource.from_mapping(feed(name)), intake, engine, batch_size=2)
        assert poller.poll_all() == 3
        assert poller.poll_all() == 0
    for row_id, at in [(5, T0 + timedelta(minutes=1)), (4, T0 + timedelta(minutes=1)), (6, T0 + timedelta(minutes=2)),
                       (7, T0 + timedelta(minutes=2))]:
        insert(engine, table, row_id, at)

    with real_intake(settings, database_url) as intake:  # a restart: fresh poller, mark read from the database
        restarted = SqlPoller(engine, SqlSource.from_mapping(feed(name)), intake, engine, batch_size=2)
        assert restarted.mark() == (T0 + timedelta(minutes=1), 3)
        assert restarted.poll_all() == 4
        assert restarted.mark() == (T0 + timedelta(minutes=2), 7)

    records = read_records(settings, "incident", 8, timeout=8)
    assert sorted(d["event_id"] for _, d in records) == [f"met:rms-view:{i}" for i in range(1, 8)]
    assert all(d["occurred_at"].isoformat() == "2026-07-01T08:00:00+00:00" for _, d in records)
    assert all(d["name_hash"] for _, d in records)


def test_unmappable_row_is_dead_lettered_and_the_mark_moves_on(settings: Any, database_url: str, source: Any) -> None:
    """A row with an unknown code goes to the dead-letter topic (name hashed) and does not block later rows."""
    engine, table, name = source
    insert(engine, table, 1, T0, offence="??")
    insert(engine, table, 2, T0 + timedelta(minutes=1))
    with real_intake(settings, database_url) as intake:
        poller = SqlPoller(engine, SqlSource.from_mapping(feed(name)), intake, engine)
        assert poller.poll_all() == 2
    [(_, letter)] = read_records(settings, "dead-letter", 1)
    assert letter["source"] == {"connector": "sqlpoll", "agency": "met", "location": f"sql:{name}#incident_row_id=1"}
    assert letter["errors"][0]["path"] == "offence" and b"SMITH" not in letter["raw"]
    [(_, good)] = read_records(settings, "incident", 1)
    assert good["event_id"] == "met:rms-view:2"


@pytest.mark.parametrize("hostile", [
    {"table": "da_incidents; DROP TABLE da_incidents"},
    {"table": 'reporting."da_incidents"; DROP TABLE reporting.da_incidents; --'},
    {"watermark": "updated_at; DROP TABLE da_incidents"},
    {"key": "incident_row_id) OR 1=1 --"},
    {"columns": ["pnc_id", "1; DROP TABLE da_incidents"]},
    {"table": "no_such_table"},
])
def test_identifiers_trying_sql_injection_are_refused_and_table_survives(settings: Any, database_url: str,
                                                                         source: Any, hostile: dict) -> None:
    """Names that are not the real table's are refused before any query; the table still exists with its rows."""
    engine, table, name = source
    insert(engine, table, 1, T0)
    changes = {k: v for k, v in hostile.items() if k != "table"}
    with real_intake(settings, database_url) as intake, pytest.raises(SqlSourceError):
        SqlPoller(engine, SqlSource.from_mapping(feed(hostile.get("table", name), **changes)), intake, engine)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == 1


def test_run_sqlpoll_once_reads_feeds_declared_in_yaml(settings_factory: Any, tmp_path: Any) -> None:
    """`drive-alerts sqlpoll --once` polls the SQL feeds of the mappings folder from the configured source URL."""
    import yaml

    from entrypoints.commands import sqlpoll as sqlpoll_command

    source_url = f"sqlite:///{tmp_path / 'agency.db'}"
    engine = make_engine(source_url)
    table = sa.Table("da_incidents", sa.MetaData(),
                     *[sa.Column(c, sa.Integer, primary_key=True) if c == "incident_row_id" else
                       sa.Column(c, sa.DateTime) if c in ("updated_at", "occurred") else sa.Column(c, sa.String(100))
                       for c in COLUMNS])
    table.create(engine)
    insert(engine, table, 1, T0)
    insert(engine, table, 2, T0)
    mappings_dir = tmp_path / "mappings"
    mappings_dir.mkdir()
    raw = yaml.safe_load((default_mappings_dir() / "met-rms-sql.yaml").read_text())
    raw["applies_to"]["sql"].update(table="da_incidents", url_env=None, columns=COLUMNS)
    raw["columns"]["subject_name"] = "person_name"
    (mappings_dir / "met-rms-sql.yaml").write_text(yaml.safe_dump(raw))
    settings = settings_factory(feed_mappings_dir=mappings_dir, sqlpoll_source_url=source_url,
                                database_url=f"sqlite:///{tmp_path / 'drive.db'}")

    assert sqlpoll_command.run(argparse.Namespace(once=True), settings) == 0
    assert sqlpoll_command.run(argparse.Namespace(once=True), settings) == 0  # second run: nothing new, nothing repeated

    records = read_records(settings, "incident", 3, timeout=6)
    assert sorted(d["event_id"] for _, d in records) == ["met:rms-view:1", "met:rms-view:2"]
    engine.dispose()
