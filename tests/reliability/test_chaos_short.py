"""The chaos run in its short form (~1,000 events, shortened outages) as part of the test suite."""
from __future__ import annotations

from typing import Any

import pytest

from tests.reliability.chaos import Plan, run
from tests.reliability.processes import needs_tansu

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def chaos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One short chaos run: worker kills, a rebalance, Twilio faults, an SMTP outage, malformed and repeated records."""
    needs_tansu()
    return run(Plan.short(), tmp_path_factory.mktemp("chaos"))


def test_the_run_is_big_enough_to_mean_something(chaos: dict[str, Any]) -> None:
    """The scenario raises more than a hundred alerts and feeds more than twenty malformed records."""
    assert chaos["expected_alerts"] > 100 and chaos["malformed"] > 20


def test_nothing_is_delivered_twice(chaos: dict[str, Any]) -> None:
    """No (alert, recipient, channel) reaches the fake Twilio or SMTP server twice, beyond provider timeouts."""
    assert chaos["duplicate_deliveries"] == 0


def test_every_malformed_record_is_dead_lettered_with_a_reason(chaos: dict[str, Any]) -> None:
    """Each malformed record is on the dead-letter topic with its reason."""
    assert chaos["dead_lettered"] == chaos["malformed"]


def test_every_partition_fails_over(chaos: dict[str, Any]) -> None:
    """After each worker kill every subject-events partition raises alerts again within two minutes."""
    assert chaos["max_failover_s"] is not None and chaos["max_failover_s"] < 120


def test_no_source_record_is_skipped(chaos: dict[str, Any]) -> None:
    """No worker passes over offsets of a source or subject-events partition without handing them to an agent."""
    assert chaos["skipped_record_ranges"] == 0


def test_no_alert_is_lost(chaos: dict[str, Any]) -> None:
    """Every alert the pure engine expects is raised and every one of its messages delivered."""
    assert chaos["lost"] == 0 and chaos["raised"] == chaos["expected_alerts"]
    assert chaos["delivered"] == chaos["expected_deliveries"]
