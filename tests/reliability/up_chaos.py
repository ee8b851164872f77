"""Chaos run against the real `drive-alerts up`: its supervisor SIGKILLed in the middle of the traffic, started again.

    python tests/reliability/chaos.py --up [--short] [--events N] [--subjects N] [--seed N] [--keep DIR]

`drive-alerts up` runs on one data folder (embedded broker, SQLite) with SMS pointed at the Twilio-shaped server
(failing 30% of POSTs, as in the worker-kill run) and e-mail at an SMTP server (down for a while in the full form).
The scenario's registry and traffic go through the real HTTP intake, one record at a time, each retried until the
intake answers it: 202 and 200 (duplicate) count as accepted, a 4xx as refused; connection errors, 429 and 5xx are
retried (and counted). At each of `kills_at` the supervisor is SIGKILLed (no clean stop); its components stop
themselves, and once none of their ports answers, `up` is started again on the same folder while the posting goes on.
In the full form the first restart is itself SIGKILLed `kill_while_starting_s` after it began (restoring, re-seeding
or starting its components), then started again; and between the first two kills the dispatcher alone is SIGKILLed
(at `dispatcher_kill_at`, mid-send: the supervisor restarts it).

Oracle and counting as the worker-kill run (scenario.oracle over exactly the records answered, in the order answered;
deliveries counted at the fake servers by ack code and address). `lost`: expected alerts with a delivery that never
arrived; `duplicate_deliveries`: an (alert, recipient, channel) received twice, beyond Twilio timeouts after
accepting (`duplicates_after_timeout`). Dead letters are read with `drive-alerts dead-letters list` (the journal:
those of the killed run are no longer on the fresh broker's topic by design) and matched to the malformed records
by kind. `restart_s`: SIGKILL -> the first delivery, after `up` was started again, of an alert not delivered before
(a delivery the killed run left pending counts; the slowest of the kills whose restart was not itself killed;
`restarts_s` has each kill's, `start_killed` says which);
`restart_new_input_s`: SIGKILL -> the first delivery of an alert whose records were all answered after the restart.
"""
from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from consumers.ledger.columns import ack_code_for
from runtime.embedded_broker import free_port
from runtime.settings import Settings
from tests.fakes.smtp_server import FakeSmtp
from tests.reliability.observe import expected_deliveries, received
from tests.reliability.providers import smtp_outage, start_chaotic_twilio
from tests.reliability.scenario import Sent, build, oracle
from tests.reliability.up_process import PORTS, Arrivals, HttpSender, Up, dead_letter_kinds, up_env


@dataclass(frozen=True)
class UpPlan:
    """Sizes and timings of one run (seconds from the start of traffic)."""

    events: int = 6_000
    subjects: int = 150
    seed: int = 7
    traffic_s: float = 120.0
    kills_at: tuple[float, ...] = (40.0, 100.0)
    kill_while_starting_s: float | None = 8.0  # the first restart is SIGKILLed this long after it began, once
    dispatcher_kill_at: float | None = 80.0  # the dispatcher alone SIGKILLed (after the first restart is ready)
    smtp_down_at: float | None = 15.0
    smtp_down_s: float = 30.0
    twilio_faults: bool = True
    settle_timeout_s: float = 300.0
    alerting_share: float = 0.08

    @classmethod
    def short(cls) -> UpPlan:
        """About 500 events and one supervisor kill, for the test suite (Twilio faults on, no SMTP outage)."""
        return cls(events=500, subjects=30, traffic_s=25.0, kills_at=(10.0,), kill_while_starting_s=None,
                   dispatcher_kill_at=None, smtp_down_at=None, settle_timeout_s=120.0, alerting_share=0.25)


@dataclass
class Kill:
    """One SIGKILL of the supervisor and the restart after it (monotonic times)."""

    killed: float
    answered_before: int
    delivered_before: int = 0
    gone: float | None = None
    started_again: float | None = None
    ready_again: float | None = None
    first_new_delivery: float | None = None
    first_delivery_of_new_input: float | None = None
    start_killed: bool = False  # its first restart was SIGKILLed too (its times hold both starts)

    def since(self, moment: float | None) -> float | None:
        return None if moment is None else round(moment - self.killed, 1)


@dataclass
class Timeline:
    """The kills of one run, in order, and what happened around them."""

    kills: list[Kill] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def run(plan: UpPlan, work: Path) -> dict[str, Any]:
    """One supervisor-kill run in folder `work`; returns the summary."""
    scenario = build(plan.seed, plan.events, plan.subjects, plan.alerting_share)
    twilio, _ = start_chaotic_twilio(plan.seed) if plan.twilio_faults else start_chaotic_twilio(plan.seed, 0.0, 0.0)
    smtp = FakeSmtp()
    smtp.start()
    ports = {name: free_port() for name in PORTS}
    (work / "data").mkdir(parents=True, exist_ok=True)
    env = up_env(work, ports, twilio, smtp.port)
    up, stop, timeline = Up(work, env, ports), threading.Event(), Timeline()
    sender = HttpSender(ports["DRIVE_INTAKE_PORT"], stop)
    arrivals = Arrivals(twilio, smtp)
    try:
        up.start()
        up.wait_ready()
        arrivals.start()
        for record in scenario.registry:
            sender.submit(record)
        killer = threading.Thread(target=_kill_and_restart, args=(plan, up, sender, stop, timeline), daemon=True)
        if plan.smtp_down_at is not None:
            smtp_outage(smtp, plan.smtp_down_at, plan.smtp_down_s, stop, timeline.notes)
        killer.start()
        _traffic(plan, sender, scenario.traffic, stop)
        killer.join(600)
        if len(timeline.kills) < len(plan.kills_at) or timeline.kills[-1].ready_again is None:
            raise RuntimeError(f"drive-alerts up did not come back after every kill: {timeline.notes}")
        expected = oracle(sender.sent, Settings())
        wanted = expected_deliveries(expected, Settings().channels_by_severity)
        deadline = time.monotonic() + plan.settle_timeout_s
        while time.monotonic() < deadline and wanted - set(received(twilio, smtp, expected, scenario.staff).counts):
            time.sleep(1.0)
        time.sleep(5)  # a late duplicate would land now
    finally:
        stop.set()
        exit_code = up.stop()
        arrivals.stopping.set()
        smtp.stop()
        if twilio.server is not None:
            twilio.server.shutdown()
    got = received(twilio, smtp, expected, scenario.staff)
    for kill in timeline.kills:
        kill.delivered_before = sum(1 for at, _ in arrivals.seen if at <= kill.killed)
        kill.first_new_delivery = arrivals.first_new_after(kill.killed, kill.started_again or kill.killed)
        kill.first_delivery_of_new_input = arrivals.first_after(
            kill.started_again or kill.killed, _triggered_after(expected, sender.answered_at, kill.started_again))
    return _summary(sender, expected, wanted, got, dead_letter_kinds(env), timeline, exit_code, up.output())


def _traffic(plan: UpPlan, sender: HttpSender, traffic: list[Sent], stop: threading.Event) -> None:
    start, gap = time.monotonic(), plan.traffic_s / len(traffic)
    for n, record in enumerate(traffic):
        delay = start + n * gap - time.monotonic()
        if delay > 0 and stop.wait(delay):
            return
        sender.submit(record)


def _kill_and_restart(plan: UpPlan, up: Up, sender: HttpSender, stop: threading.Event, timeline: Timeline) -> None:
    """At each of kills_at: SIGKILL the supervisor, wait until no component answers, start `up` again, until ready."""
    start = time.monotonic()
    for at in plan.kills_at:
        if plan.dispatcher_kill_at is not None and len(timeline.kills) == 1 and plan.dispatcher_kill_at < at:
            if stop.wait(max(0.0, start + plan.dispatcher_kill_at - time.monotonic())):
                return
            timeline.notes.append(f"SIGKILL dispatcher pid {up.sigkill_component('dispatcher')}")
        if stop.wait(max(0.0, start + at - time.monotonic())):
            return
        kill = Kill(time.monotonic(), len(sender.sent))
        timeline.kills.append(kill)
        up.sigkill()
        timeline.notes.append("SIGKILL supervisor")
        up.wait_gone()
        kill.gone = time.monotonic()
        up.start()
        kill.started_again = time.monotonic()
        if plan.kill_while_starting_s is not None and len(timeline.kills) == 1:
            stop.wait(plan.kill_while_starting_s)
            up.sigkill()
            timeline.notes.append("SIGKILL supervisor while it starts")
            kill.start_killed = True
            up.wait_gone()
            up.start()
            kill.started_again = time.monotonic()
        up.wait_ready()
        kill.ready_again = time.monotonic()
        timeline.notes.append("up ready again")


def _summary(sender: HttpSender, expected: dict[str, dict[str, Any]], wanted: set[tuple[str, str, str]], got: Any,
             dead: Counter[str], timeline: Timeline, exit_code: int | None, output: str) -> dict[str, Any]:
    missing = wanted - set(got.counts)
    timeout_dups = sum(min(n - 1, got.after_timeout[k]) for k, n in got.counts.items() if n > 1)
    dups = sum(n - 1 for n in got.counts.values() if n > 1) - timeout_dups
    malformed = Counter(_kind(r.value) for r in sender.sent if r.kind == "malformed")
    kills = timeline.kills
    restarts = [k.since(k.first_new_delivery) for k in kills]
    plain = [k.since(k.first_new_delivery) for k in kills if not k.start_killed]
    known = [r for r in plain if r is not None]
    print(f"notes: {timeline.notes}; answers: {dict(sender.answers)}; retries: {dict(sender.retries)}; "
          f"refused good records: {sender.refused_good[:10]}; missing deliveries: {sorted(missing)[:20]}; "
          f"dead letters by kind: {dict(dead)}", file=sys.stderr)
    if missing or dups:
        print(output[-4000:], file=sys.stderr)
    return {"events": sum(r.kind != "registry" for r in sender.sent), "expected_alerts": len(expected),
            "delivered": len(wanted & set(got.counts)), "expected_deliveries": len(wanted),
            "lost": len({a for a, _, _ in missing}), "duplicate_deliveries": dups,
            "duplicates_after_timeout": timeout_dups, "unmatched_messages": got.unmatched,
            "malformed": sum(malformed.values()), "dead_lettered": sum(min(n, dead[k]) for k, n in malformed.items()),
            "refused_good_records": len(sender.refused_good), "retried_posts": dict(sender.retries),
            "supervisor_kills": len(kills) + sum(k.start_killed for k in kills),
            "dispatcher_kills": sum(note.startswith("SIGKILL dispatcher") for note in timeline.notes),
            "answered_before_kill": [k.answered_before for k in kills],
            "answered_after_last_kill": len(sender.sent) - kills[-1].answered_before,
            "delivered_before_kill": [k.delivered_before for k in kills],
            "components_gone_s": [k.since(k.gone) for k in kills],
            "up_ready_again_s": [k.since(k.ready_again) for k in kills],
            "restart_s": max(known) if known and len(known) == len(plain) else None,
            "start_killed": [k.start_killed for k in kills],
            "restarts_s": restarts, "restart_new_input_s": [k.since(k.first_delivery_of_new_input) for k in kills],
            "clean_stop_exit": exit_code}


def _triggered_after(alerts: dict[str, dict[str, Any]], answered_at: dict[str, float],
                     since: float | None) -> Callable[[str], bool]:
    """Whether an ack code is of an alert every trigger of which was answered after `since`."""
    fresh = {ack_code_for(a["alert_id"]) for a in alerts.values()
             if since is not None and all(answered_at.get(e, 0.0) > since for e in a["trigger_event_ids"])}
    return fresh.__contains__


def _kind(value: Any) -> str:
    """Which malformation a malformed record is (the inverse of scenario.malformed)."""
    if isinstance(value, list):
        return "not_object"
    for how, test in (("bad_time", lambda v: v.get("occurred_at") == "yesterday afternoon"),
                      ("missing_details", lambda v: "details" not in v), ("unknown_field", lambda v: "narrative" in v),
                      ("bad_type", lambda v: v.get("schema_version") == "one")):
        if test(value):
            return how
    return "bad_enum"

