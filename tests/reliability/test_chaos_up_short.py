"""The supervisor-kill chaos run, short form: the real `drive-alerts up` SIGKILLed once in the middle of its traffic.

About 500 records over HTTP and one SIGKILL of the supervisor, restarted on the same data folder. The Twilio-shaped
server's faults stay on (30% of POSTs: 5xx, and timeouts after accepting), because a kill that lands between
"sending" and "sent", or in a retry's backoff, is what a restart can turn into a lost or a doubled message, and
their retries cost only seconds here. The SMTP outage stays off: the worker-kill run (test_chaos_short.py) already
covers it, and an outage over the restart would only lengthen the wait without reaching new code.
"""
from __future__ import annotations

from typing import Any

import pytest

from tests.reliability.processes import needs_tansu
from tests.reliability.up_chaos import UpPlan, run

pytestmark = [pytest.mark.integration, pytest.mark.timeout(360)]


@pytest.fixture(scope="module")
def chaos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One short supervisor-kill run."""
    needs_tansu()
    return run(UpPlan.short(), tmp_path_factory.mktemp("chaos-up"))


def test_the_kill_lands_in_the_middle_of_the_traffic(chaos: dict[str, Any]) -> None:
    """Records were answered and messages delivered before the kill, more records were posted after it, and the
    run raises enough alerts and malformed records to mean something."""
    assert chaos["supervisor_kills"] == 1
    assert chaos["answered_before_kill"][0] > 0 and chaos["delivered_before_kill"][0] > 0
    assert chaos["answered_after_last_kill"] > 0
    assert chaos["expected_alerts"] > 80 and chaos["malformed"] > 15


def test_no_alert_is_lost_across_the_restart(chaos: dict[str, Any]) -> None:
    """Every message of every alert the pure engine expects reaches the fake Twilio or SMTP server."""
    assert chaos["lost"] == 0
    assert chaos["delivered"] == chaos["expected_deliveries"]


def test_nothing_is_delivered_twice_across_the_restart(chaos: dict[str, Any]) -> None:
    """No (alert, recipient, channel) arrives twice, beyond Twilio timeouts after accepting, and no message arrives
    for an alert the pure engine does not expect."""
    assert chaos["duplicate_deliveries"] == 0
    assert chaos["unmatched_messages"] == 0


def test_every_malformed_record_is_dead_lettered_and_no_good_one_refused(chaos: dict[str, Any]) -> None:
    """Each malformed record has its dead letter (before and after the kill), and every good record was accepted."""
    assert chaos["dead_lettered"] == chaos["malformed"]
    assert chaos["refused_good_records"] == 0


def test_the_restarted_pipeline_delivers_new_alerts_and_stops_cleanly(chaos: dict[str, Any]) -> None:
    """The components of the killed supervisor stopped by themselves, the restarted `up` delivered an alert not
    delivered before (its restart time is reported), and its clean stop exits 0."""
    assert None not in chaos["components_gone_s"] and chaos["restart_s"] is not None
    assert chaos["clean_stop_exit"] == 0
