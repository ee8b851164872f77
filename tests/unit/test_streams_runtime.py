"""Streams plumbing: fetch-wait transport, faust options, internal topic names, rule config, clock, ticks, headers."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import faust
import pytest

from schemas.subject_events import KIND_TICK, SUBJECT_EVENTS, header, iso, parse_iso
from streams.app import STATE_TABLE, TIMER_TABLE, create_app, faust_options, internal_topic_specs, rule_config
from streams.case_registry import RegistryReader
from streams.clock import StreamClock
from streams.ticks import tick_messages
from tests.unit.rules_fixtures import case_event
from tests.unit.streams_fixtures import CODEC, SUBJECT, encoded, unit_settings

T = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


async def test_worker_consumer_carries_the_configured_fetch_wait(tmp_path):
    """The aiokafka consumer faust builds for the worker uses stream_fetch_max_wait_ms, not faust's 1500 ms."""
    app = create_app(unit_settings(tmp_path, stream_fetch_max_wait_ms=123))
    app.finalize()
    consumer = app.consumer._thread._create_worker_consumer(app.transport)
    assert consumer._fetch_max_wait_ms == 123


def test_tansu_workarounds_only_in_the_embedded_profile(tmp_path):
    """Short group timeouts (the embedded profile's settings) are set only when that profile is on; producer
    batching is left alone."""
    embedded = faust_options(unit_settings(tmp_path, embedded_profile=True, embedded_stream_rebalance_timeout_s=3.5,
                                           embedded_stream_session_timeout_s=12.0), tmp_path)
    production = faust_options(unit_settings(tmp_path, embedded_profile=False), tmp_path)
    assert embedded["broker_rebalance_timeout"] == 3.5 and embedded["broker_session_timeout"] == 12.0
    assert "producer_max_batch_size" not in embedded
    assert "producer_max_batch_size" not in production and "broker_rebalance_timeout" not in production


def test_sasl_settings_become_faust_credentials(tmp_path):
    """SASL user, password and mechanism reach faust as SASLCredentials."""
    options = faust_options(unit_settings(tmp_path, kafka_security_protocol="SASL_PLAINTEXT",
                                          kafka_sasl_mechanism="SCRAM-SHA-256", kafka_sasl_username="drive",
                                          kafka_sasl_password="s3cret"), tmp_path)
    credentials = options["broker_credentials"]
    assert isinstance(credentials, faust.SASLCredentials)
    assert (credentials.username, credentials.password, credentials.mechanism.value) == (
        "drive", "s3cret", "SCRAM-SHA-256")


def test_internal_topic_specs_name_the_topics_faust_uses(tmp_path):
    """The provisioned changelog and subject-events names are exactly the ones the app reads and writes."""
    settings = unit_settings(tmp_path, stream_partitions=4)
    app = create_app(settings)
    names = {settings.topic(s.short_name): s for s in internal_topic_specs(settings)}
    expected = {app.subject_events.get_topic_name(), app.states.changelog_topic.get_topic_name(),
                app.timers.changelog_topic.get_topic_name()}
    assert set(names) == expected
    assert {s.partitions for s in names.values()} == {4}
    assert [n for n, s in names.items() if s.compacted] == [app.states.changelog_topic.get_topic_name(),
                                                           app.timers.changelog_topic.get_topic_name()]
    assert {STATE_TABLE, TIMER_TABLE} == {app.states.name, app.timers.name}


def test_rule_config_comes_from_settings(tmp_path):
    """Every rule window setting reaches the RuleConfig."""
    config = rule_config(unit_settings(tmp_path, escalation_window_days=7, escalation_min_events=5,
                                       flap_window_min=10, expiry_horizon_h=24, late_grace_h=2,
                                       state_retention_days=30))
    assert (config.escalation_window, config.escalation_min_events, config.flap_window, config.expiry_horizon,
            config.late_grace, config.state_retention) == (
        timedelta(days=7), 5, timedelta(minutes=10), timedelta(hours=24), timedelta(hours=2), timedelta(days=30))


def test_simulated_clock_moves_only_forward_with_ticks_and_events():
    """Simulated now is the latest tick time or event recorded_at seen; an older one does not move it back."""
    clock = StreamClock("simulated")
    event = case_event()
    assert clock.for_event(event) == event.recorded_at
    assert clock.for_tick(event.recorded_at + timedelta(hours=1)) == event.recorded_at + timedelta(hours=1)
    assert clock.for_tick(event.recorded_at) == event.recorded_at + timedelta(hours=1)
    assert clock.for_event(event) == event.recorded_at + timedelta(hours=1)


def test_wall_clock_ignores_the_data():
    """Wall now is the wall clock, whatever ticks and events say."""
    clock = StreamClock("wall", wall=lambda: T)
    assert clock.for_tick(T + timedelta(days=3)) == T
    assert clock.for_event(case_event()) == T


def test_unknown_clock_mode_is_refused():
    """Only wall and simulated exist."""
    with pytest.raises(ValueError):
        StreamClock("lunar")  # type: ignore[arg-type]


def test_tick_messages_one_per_partition_without_subject(tmp_path):
    """A tick goes to each named partition once, carries kind=tick and now, and names no subject."""
    settings = unit_settings(tmp_path)
    messages = tick_messages(settings, T, [2, 0, 1, 2])
    assert [m.partition for m in messages] == [0, 1, 2]
    assert {m.topic for m in messages} == {settings.topic(SUBJECT_EVENTS)}
    for m in messages:
        assert header(m.headers, "kind") == KIND_TICK
        assert parse_iso(header(m.headers, "now")) == T
        assert not hasattr(m, "key")


def test_header_reads_lists_and_mappings():
    """header() reads aiokafka's list of pairs and mappings alike; absent is None."""
    assert header([("kind", b"event"), ("topic", b"bail")], "topic") == "bail"
    assert header({"kind": b"tick"}, "kind") == "tick"
    assert header(None, "kind") is None and header([("a", b"1")], "kind") is None


def test_iso_round_trip_is_utc():
    """iso() writes UTC and parse_iso() reads it (and a Z suffix) back to the same instant."""
    assert parse_iso(iso(T)) == T
    assert parse_iso("2026-11-22T10:00:00Z") == T


def test_registry_reader_indexes_open_cases_and_forgets_closed_ones(tmp_path):
    """learn() indexes a case snapshot and keeps its bytes; a CASE_CLOSED snapshot removes both."""
    settings = unit_settings(tmp_path)
    reader = RegistryReader(settings, CODEC)
    opened = encoded("case", "CASE_OPENED")
    reader.learn(opened)
    assert reader.index.by_identifier["PNC:2019/0012345A"] == SUBJECT and reader.case_record(SUBJECT) == opened
    reader.learn(encoded("case", "CASE_CLOSED"))
    assert "PNC:2019/0012345A" not in reader.index.by_identifier and reader.case_record(SUBJECT) is None
    assert reader.learn(b"garbage") is None


def test_registry_reader_is_behind_only_for_records_newer_than_its_last_catch_up(tmp_path):
    """A record stamped before the last confirmed catch-up needs no refresh; one stamped after (or unstamped) does."""
    reader = RegistryReader(unit_settings(tmp_path), CODEC)
    reader.caught_up_at = 1_000.0
    assert not reader.may_be_behind(999.5)
    assert reader.may_be_behind(1_000.5) and reader.may_be_behind(None)
