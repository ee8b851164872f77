"""The shared fixtures give real, isolated databases and per-test Kafka settings."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.integration


def test_database_url_is_a_fresh_real_database(database_url):
    """Each database_url is an empty database of the named kind that accepts DDL and data."""
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            assert sa.inspect(conn).get_table_names() == []
            conn.execute(sa.text("CREATE TABLE probe (id INTEGER PRIMARY KEY, note TEXT)"))
            conn.execute(sa.text("INSERT INTO probe (id, note) VALUES (1, 'x')"))
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT note FROM probe")).scalar_one() == "x"
            assert conn.dialect.name == ("sqlite" if database_url.startswith("sqlite") else "postgresql")
    finally:
        engine.dispose()


def test_postgres_databases_are_isolated(postgres_database_url, postgres_url):
    """A per-test PostgreSQL database is not the server's default database."""
    engine = sa.create_engine(postgres_database_url)
    try:
        with engine.connect() as conn:
            name = conn.execute(sa.text("SELECT current_database()")).scalar_one()
    finally:
        engine.dispose()
    assert name.startswith("t_")
    assert postgres_database_url.startswith("postgresql+psycopg://")


def test_settings_point_at_the_test_broker(settings, kafka_broker, tmp_path):
    """The settings fixture uses the session broker, tmp_path and a per-test topic prefix."""
    assert settings.kafka_bootstrap == kafka_broker.bootstrap
    assert settings.data_dir == tmp_path
    assert settings.topic("alert").startswith("t") and settings.topic("alert").endswith(".alert")
    assert settings.topic_prefix != "drive."


def test_settings_factory_keeps_one_prefix_per_test(settings_factory, topic_prefix):
    """Within a test every factory-built Settings shares the test's prefix; overrides apply."""
    first, second = settings_factory(), settings_factory(log_level="DEBUG")
    assert first.topic_prefix == second.topic_prefix == topic_prefix
    assert second.log_level == "DEBUG"
    assert settings_factory(topic_prefix="other.").topic("case") == "other.case"
