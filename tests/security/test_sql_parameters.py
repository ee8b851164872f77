"""SQL polling: mapping identifiers never reach SQL unchecked, and row values reach it only as bound parameters."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from connectors.sqlpoll import SqlPoller, SqlSource, SqlSourceError
from tests.integration.intake_wiring import real_intake
from tests.integration.test_sqlpoll import COLUMNS, T0, feed, source  # noqa: F401 - fixture

pytestmark = pytest.mark.integration
PROFILE = hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
MARK = "zq'\";--"  # in every hostile string, so its appearance in SQL text is unmistakable
hostile = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20).map(lambda t: f"{MARK}{t}")


@contextmanager
def captured_sql(engine: sa.Engine) -> Iterator[list[tuple[str, Any]]]:
    """Every (statement, parameters) the engine sends to the database while the block runs."""
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)


@pytest.mark.parametrize("part", ["table", "watermark", "key", "column"])
def test_hostile_identifiers_are_refused_before_any_sql_names_them(settings: Any, database_url: str, source: Any,
                                                                    part: str) -> None:
    """A table, watermark, key or column name that is not really there raises SqlSourceError and is in no statement."""
    engine, _table, name = source
    with real_intake(settings, database_url) as intake:

        @PROFILE
        @given(identifier=hostile)
        def check(identifier: str) -> None:
            overrides = {"table": {"table": f"{name.rpartition('.')[0]}.{identifier}"},
                         "watermark": {"watermark": identifier}, "key": {"key": identifier},
                         "column": {"columns": [*COLUMNS, identifier]}}[part]
            mapping = feed(overrides.pop("table", name), **overrides)
            with captured_sql(engine) as seen, pytest.raises(SqlSourceError):
                SqlPoller(engine, SqlSource.from_mapping(mapping), intake, engine)
            assert not any(MARK in statement for statement, _ in seen)

        check()


def test_row_values_reach_sql_only_as_bound_parameters(settings: Any, database_url: str, source: Any) -> None:
    """Hostile text in every string column is read, dead-lettered or published, and never spliced into SQL text."""
    engine, table, name = source
    values = [f"{MARK}{n} OR 1=1; DROP TABLE da_incidents" for n in range(3)]
    with engine.begin() as conn:
        for n, value in enumerate(values, 1):
            conn.execute(table.insert().values(
                incident_row_id=n, updated_at=T0 + timedelta(minutes=n), record_type=value, pnc_id=value,
                subject_name=value, occurrence_no=value, force=value, victim_refs=value, offence=value,
                injury=value, weapon=value, children=value, occurred=T0))
    with real_intake(settings, database_url) as intake, captured_sql(engine) as seen:
        poller = SqlPoller(engine, SqlSource.from_mapping(feed(name)), intake, engine, batch_size=2)
        assert poller.poll_all() == 3
        assert poller.poll_all() == 0
    assert seen and not any(MARK in statement for statement, _ in seen)
    after_mark = [(statement, parameters) for statement, parameters in seen if "updated_at >" in statement]
    assert after_mark and all(parameters for _, parameters in after_mark)  # the mark is bound, never spliced
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == 3
