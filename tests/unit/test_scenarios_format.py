"""The scenario file format: lines, ISO-8601 durations, errors by line number, the simulated clock, print order."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from entrypoints.replay.scenario import (
    ALERT_KEYS,
    Ack,
    Advance,
    Publish,
    ScenarioError,
    SimulatedClock,
    parse_duration,
    parse_scenario,
    print_batch,
)

T = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("PT30M", timedelta(minutes=30)), ("P2D", timedelta(days=2)), ("P1DT6H", timedelta(days=1, hours=6)),
    ("PT1H30M15S", timedelta(hours=1, minutes=30, seconds=15)), ("PT0.5S", timedelta(milliseconds=500)),
    ("P0D", timedelta(0)),
])
def test_durations_in_the_iso_form_are_read(text: str, expected: timedelta) -> None:
    """PnDTnHnMnS durations give the timedelta they spell."""
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["P", "PT", "30M", "PT30", "P1H", "-PT1H", "P1DT", "pt30m", "", "P1Y"])
def test_malformed_durations_are_refused(text: str) -> None:
    """Anything that is not PnDTnHnMnS is a ValueError."""
    with pytest.raises(ValueError):
        parse_duration(text)


def test_lines_become_steps_and_blank_lines_are_skipped() -> None:
    """Event lines and advance lines become steps numbered by their line in the file."""
    lines = ['{"topic": "incident", "value": {"event_id": "e1"}}', "", "   ", '{"advance": "PT30M"}']
    assert parse_scenario(lines) == [Publish(1, "incident", {"event_id": "e1"}), Advance(4, timedelta(minutes=30))]


@pytest.mark.parametrize(("line", "message"), [
    ("not json", "not JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('{"topic": "alert", "value": {}}', "topic must be one of"),
    ('{"advance": "30 minutes"}', "advance:"),
    ('{"topic": "incident"}', "expected"),
    ('{"topic": "incident", "value": {}, "extra": 1}', "expected"),
])
def test_a_bad_line_is_an_error_naming_its_line_number(line: str, message: str) -> None:
    """A line that is neither an event nor an advance fails the whole file with its line number."""
    with pytest.raises(ScenarioError) as error:
        parse_scenario(['{"topic": "case", "value": {}}', "", line])
    assert error.value.line == 3
    assert str(error.value).startswith("line 3: ") and message in str(error.value)


def test_ack_lines_become_ack_steps() -> None:
    """An ack line names the staff member and rule; SMS is the default way, WEB the one for acting on behalf."""
    lines = ['{"topic": "case", "value": {}}',
             '{"ack": {"staff_id": "staff-cm-01", "rule": "breach.curfew"}}',
             '{"ack": {"staff_id": "staff-idva-07", "rule": "breach.curfew", "via": "LINK"}}',
             '{"ack": {"staff_id": "staff-dm-01", "rule": "breach.curfew", "on_behalf_of": "staff-idva-07", '
             '"reason": "SPOKE_TO_RECIPIENT"}}']
    assert parse_scenario(lines)[1:] == [
        Ack(2, "staff-cm-01", "breach.curfew"), Ack(3, "staff-idva-07", "breach.curfew", "LINK"),
        Ack(4, "staff-dm-01", "breach.curfew", "WEB", "staff-idva-07", "SPOKE_TO_RECIPIENT")]


@pytest.mark.parametrize(("ack", "message"), [
    ('"staff-cm-01"', "ack: must be an object"),
    ('{"rule": "breach.curfew"}', "ack: staff_id is required"),
    ('{"staff_id": "staff-cm-01"}', "ack: rule is required"),
    ('{"staff_id": "", "rule": "breach.curfew"}', "ack: staff_id must be a non-empty string"),
    ('{"staff_id": "staff-cm-01", "rule": "breach.curfew", "via": "PHONE"}', "ack: via must be one of SMS, LINK, WEB"),
    ('{"staff_id": "staff-cm-01", "rule": "breach.curfew", "code": "X"}', "ack: unknown field 'code'"),
    ('{"staff_id": "staff-dm-01", "rule": "breach.curfew", "via": "SMS", "on_behalf_of": "staff-cm-01"}',
     '"via": "WEB"'),
    ('{"staff_id": "staff-cm-01", "rule": "breach.curfew", "reason": "SPOKE_TO_RECIPIENT"}',
     "a reason is given only with on_behalf_of"),
])
def test_a_malformed_ack_line_is_an_error_naming_its_line_and_field(ack: str, message: str) -> None:
    """An ack line that cannot be read fails the file with its line number and what is wrong."""
    with pytest.raises(ScenarioError) as error:
        parse_scenario(['{"topic": "case", "value": {}}', '{"ack": ' + ack + "}"])
    assert error.value.line == 2 and message in str(error.value)


def test_a_scenario_cannot_begin_with_an_ack() -> None:
    """Nothing has been alerted before the first event, so an ack first is an error on its line."""
    with pytest.raises(ScenarioError) as error:
        parse_scenario(['{"ack": {"staff_id": "staff-cm-01", "rule": "breach.curfew"}}'])
    assert error.value.line == 1


def test_a_scenario_cannot_begin_with_an_advance() -> None:
    """The clock starts at the first event, so an advance before any event is an error on its line."""
    with pytest.raises(ScenarioError) as error:
        parse_scenario(["", '{"advance": "PT1M"}', '{"topic": "case", "value": {}}'])
    assert error.value.line == 2


def test_the_clock_starts_at_the_first_event_and_never_goes_back() -> None:
    """The clock follows events forward, ignores older ones and moves on by each advance."""
    clock = SimulatedClock()
    assert clock.saw(T) == T
    assert clock.saw(T - timedelta(hours=3)) == T
    assert clock.saw(T + timedelta(minutes=5)) == T + timedelta(minutes=5)
    assert clock.advance(timedelta(hours=1)) == T + timedelta(hours=1, minutes=5)


def test_an_advance_before_any_event_is_an_error() -> None:
    """The clock has no start before the first accepted event."""
    with pytest.raises(RuntimeError):
        SimulatedClock().advance(timedelta(minutes=1))


def _alert(alert_id: str, rule: str, raised_at: datetime) -> dict:
    return {"alert_id": alert_id, "rule": rule, "severity": "HIGH", "subject_id": "DRV-1", "group_key": None,
            "trigger_event_ids": ["e1"], "raised_at": raised_at,
            "recipients": [{"staff_id": "cm", "role": "CASE_MANAGER", "victim_ref": None, "text": "t"}]}


def test_a_batch_prints_in_time_then_rule_then_id_order_with_fixed_keys() -> None:
    """Lines are sorted by (raised_at, rule, alert_id), keys come in the documented order, times are ISO UTC."""
    later = T + timedelta(milliseconds=500)
    batch = [_alert("b", "release.bail", later), _alert("z", "court.outcome", T), _alert("a", "court.outcome", T)]
    lines = print_batch(batch)
    assert [(line["alert_id"]) for line in lines] == ["a", "z", "b"]
    assert all(tuple(line) == ALERT_KEYS for line in lines)
    assert [line["raised_at"] for line in lines] == ["2026-11-22T10:00:00Z"] * 2 + ["2026-11-22T10:00:00.500Z"]
    assert json.loads(json.dumps(lines[0]))["recipients"][0] == {"staff_id": "cm", "role": "CASE_MANAGER",
                                                                 "victim_ref": None, "text": "t"}


def test_replay_refuses_a_malformed_scenario_before_starting_anything(tmp_path) -> None:
    """A bad scenario file exits 2 naming the file and line, with nothing printed to stdout."""
    import io

    from entrypoints.replay.run import replay
    from runtime.settings import Settings

    scenario = tmp_path / "bad.jsonl"
    scenario.write_text('{"topic": "case", "value": {}}\n\n{"advance": "soon"}\n')
    out, err = io.StringIO(), io.StringIO()
    assert replay(scenario, Settings(), out, err=err) == 2
    assert out.getvalue() == ""
    assert "bad.jsonl: line 3: advance:" in err.getvalue()


def test_replay_settings_use_a_simulated_clock_temp_data_and_fresh_topics_on_a_given_cluster(tmp_path) -> None:
    """On a given cluster the prefix is a fresh replay-<8 hex>.; on the embedded broker it is kept."""
    from entrypoints.replay.run import replay_settings
    from runtime.settings import Settings

    given = replay_settings(Settings(kafka_bootstrap="127.0.0.1:9092", topic_prefix="prod."), tmp_path)
    again = replay_settings(Settings(kafka_bootstrap="127.0.0.1:9092", topic_prefix="prod."), tmp_path)
    embedded = replay_settings(Settings(topic_prefix="drive."), tmp_path)
    assert given.topic_prefix.startswith("replay-") and len(given.topic_prefix) == len("replay-12345678.")
    assert given.topic_prefix != again.topic_prefix and embedded.topic_prefix == "drive."
    assert {s.stream_clock for s in (given, embedded)} == {"simulated"}
    assert embedded.resolved_database_url.startswith(f"sqlite:///{tmp_path.resolve()}")
