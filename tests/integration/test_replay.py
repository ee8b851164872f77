"""`replay` through the real pipeline: Tansu, the connectors intake, the in-process faust worker, the alert topic."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from entrypoints.replay.run import replay
from entrypoints.replay.scenario import ALERT_KEYS
from runtime.settings import Settings
from tests.unit.test_scenarios_expected import expected_outcome, outcome_of, scenario_path
from tests.unit.test_scenarios_pure import replayed

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]

# One per kind of behaviour; tests/unit/test_scenarios_pure.py runs every scenario through the pure engine.
REPRESENTATIVE = [
    "breach-no-contact",  # a breach, routed to the protected victim's IDVA only
    "breach-late-bail-record",  # out of order: the report waits, the late record settles it, no unverified
    "em-zone-flapping",  # grouped: one alert for a flapping zone, a new one after a quiet window
    "release-remand-ended",  # state across topics: remanded on bail, released by the court
    "routing-two-victims",  # one perpetrator, two victims, each IDVA only about their own client
    "expiry-bail",  # a timer fired by a clock advance, once
    "escalation-frequency",  # a window over several incidents
    "not-a-subject",  # nobody in the registry (or a closed case): nothing printed
    "release-bail-no-conditions",  # released with NO conditions protecting the client, HIGH to everyone
    "conditions-weakened-curfew-hours-cut",  # weakened in content, not only ended
    "conditions-varied-tightened",  # tightened: no weakening alert
    "summary-victim-linked-later",  # the newly linked victim's IDVA told the current position
    "identity-names-as-written",  # a name written another way is still a possible match, never a link
]


def _replay(name_or_path: str | Path, settings: Settings) -> tuple[int, list[dict], str]:
    """Replays a scenario in this process; (exit code, printed alert lines, stderr text)."""
    path = name_or_path if isinstance(name_or_path, Path) else scenario_path(name_or_path)
    out, err = io.StringIO(), io.StringIO()
    code = replay(path, settings, out, err=err, timeout_s=60)
    return code, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


@pytest.mark.parametrize("name", REPRESENTATIVE)
def test_replay_prints_the_expected_alerts(name: str, settings: Settings) -> None:
    """The real pipeline prints the table's alerts, line for line the same as the pure engine's reference run."""
    code, lines, err = _replay(name, settings)
    assert code == 0, err
    assert outcome_of(lines) == expected_outcome(name)
    assert lines == list(replayed(name)[0])  # same ids, order, times, recipients and texts
    assert all(tuple(line) == ALERT_KEYS for line in lines)


def test_a_refused_line_is_reported_with_its_line_number_and_replay_goes_on(
        settings_factory: Callable[..., Settings], tmp_path: Path) -> None:
    """A record the intake refuses is named on stderr by line and field; later lines are still replayed."""
    lines = scenario_path("release-from-custody").read_text().splitlines()
    broken = json.loads(lines[-1])
    broken["value"]["occurred_at"] = "yesterday"
    broken["value"]["event_id"] = "wm-cus-broken-0001"
    scenario = tmp_path / "refused.jsonl"
    scenario.write_text("\n".join([*lines[:-1], json.dumps(broken), lines[-1], lines[-1]]) + "\n")
    code, printed, err = _replay(scenario, settings_factory())
    assert code == 0
    assert "refused.jsonl:6: rejected:" in err and "occurred_at: must be an ISO-8601 timestamp" in err
    assert "refused.jsonl:8: duplicate of event 'wm-cus-20261122-0001'" in err
    assert outcome_of(printed) == expected_outcome("release-from-custody")


def test_replay_leaves_the_cluster_topics_alone(settings: Settings) -> None:
    """On a given cluster the replay uses a fresh topic prefix, never the configured one."""
    from kafka import KafkaAdminClient

    code, _, err = _replay("court-outcome", settings)
    assert code == 0, err
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        names = admin.list_topics()
    finally:
        admin.close()
    assert not [n for n in names if n.startswith(settings.topic_prefix)]
    assert any(n.startswith("replay-") and n.endswith(".alert") for n in names)


def test_the_cli_on_the_embedded_default_prints_only_alert_lines(tmp_path: Path) -> None:
    """`drive-alerts replay` starts its own broker, writes only JSON alert lines to stdout, and delivers into var/."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIVE_")}
    script = Path(sys.executable).with_name("drive-alerts")
    program = [str(script)] if script.exists() else [sys.executable, "-m", "entrypoints.cli"]
    command = [*program, "replay", str(scenario_path("release-from-custody"))]
    done = subprocess.run(command, cwd=tmp_path, env={**env, "PYTHONPATH": str(REPO)}, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.stdout.endswith("\n") and len(lines) == len(done.stdout.splitlines())
    assert all(tuple(line) == ALERT_KEYS for line in lines)
    assert outcome_of(lines) == expected_outcome("release-from-custody")
    # the temp journal, worker data and broker log are gone; what stays is the delivery: ledger and outbox
    assert sorted(p.name for p in (tmp_path / "var").iterdir()) == ["drive-alerts.db", "outbox.jsonl"]
    assert [p.name for p in tmp_path.iterdir()] == ["var"]


def test_the_cli_without_delivery_keeps_nothing(tmp_path: Path) -> None:
    """`drive-alerts replay --no-deliver` prints the alerts and leaves no file behind."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIVE_")}
    command = [sys.executable, "-m", "entrypoints.cli", "replay", "--no-deliver", str(scenario_path("release-from-custody"))]
    done = subprocess.run(command, cwd=tmp_path, env={**env, "PYTHONPATH": str(REPO)}, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert outcome_of([json.loads(line) for line in done.stdout.splitlines()]) == expected_outcome("release-from-custody")
    assert list(tmp_path.iterdir()) == []
