"""Chaos run: the whole pipeline on the embedded broker and a real database, under kills, rebalances and provider faults.

    python tests/reliability/chaos.py [--short] [--up] [--events N] [--subjects N] [--seed N] [--keep DIR]

Faults: a streams worker SIGKILLed twice and restarted, a second worker joining mid-traffic (rebalance),
the Twilio-shaped server failing 30% of POSTs (25% 5xx, 5% timeouts after accepting), the SMTP server down
for a while, 5% malformed records and 10% repeated ones. Workers and the dispatcher are `drive-alerts`
subprocesses; the intake runs in this process on the same SQLite database. `--up` runs the other form instead
(tests/reliability/up_chaos.py): the real `drive-alerts up`, fed over HTTP, its supervisor SIGKILLed mid-traffic.

Oracle: the pure engine (entrypoints.replay.model.EngineReplay) over exactly the records sent, in the order sent.
Deliveries are counted from the fake servers' mailboxes (ack code + recipient address), never the ledger.
`max_failover_s`: after each SIGKILL, a probe event per subject-events partition is sent every second; the
failover is the time until every partition has raised a probe's alert again. `duplicates_after_timeout`:
a Twilio timeout after Twilio accepted the message is indistinguishable from a lost request; a blind retry
would send a second SMS. The sender now asks Twilio before retrying such a row (consumers.delivery.ambiguous: the
message list since the timed-out attempt began, matched by ack code) and records a message found there as
RECONCILED, so this count is expected to be 0; it stays in the summary, counted apart from
`duplicate_deliveries`, because it documents the ambiguity. `skipped_record_ranges`: the workers'
`stream_records_skipped` warnings (offsets faust passed over without handing them to an agent).
The last line printed is the JSON summary; the exit code is 0 only when lost = duplicates = 0 and every
malformed record is dead-lettered.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.reliability import up_chaos
from tests.reliability.observe import AlertWatcher, dead_letter_locations, expected_deliveries, received, summary_line
from tests.reliability.processes import Child, Children
from tests.reliability.providers import smtp_outage, start_chaotic_twilio
from tests.reliability.scenario import Scenario, Sent, build, oracle, partition_of
from tests.reliability.up_chaos import UpPlan


@dataclass(frozen=True)
class Plan:
    """Sizes and timings of one run (seconds from the start of traffic)."""

    events: int = 10_000
    subjects: int = 200
    seed: int = 7
    traffic_s: float = 150.0
    second_worker_at: float = 5.0
    kills_at: tuple[float, float] = (25.0, 80.0)
    restart_after_s: float = 3.0
    smtp_down_at: float = 30.0
    smtp_down_s: float = 60.0
    settle_timeout_s: float = 300.0
    alerting_share: float = 0.08

    @classmethod
    def short(cls) -> Plan:
        """About 1,000 events with shortened outages, for the test suite."""
        return cls(events=1_000, subjects=30, traffic_s=35.0, second_worker_at=2.0, kills_at=(8.0, 30.0),
                   smtp_down_at=5.0, smtp_down_s=10.0, settle_timeout_s=120.0, alerting_share=0.15)


class Sender:
    """Submits records through the in-process intake, remembering the exact order for the oracle."""

    def __init__(self, intake: Any) -> None:
        from connectors.intake.submit import Origin

        self.intake, self.origin = intake, Origin
        self.sent: list[Sent] = []
        self.sent_at: dict[str, float] = {}
        self.lock = threading.Lock()

    def submit(self, record: Sent) -> None:
        with self.lock:
            n = len(self.sent)
            self.sent.append(record)
            self.intake.submit(record.topic, record.value, self.origin("http", "court.demo" if record.topic == "court"
                                                                      else "drive.casemgmt", f"chaos#{n}:{record.kind}"))
            if isinstance(record.value, dict):
                self.sent_at.setdefault(record.value["event_id"], time.monotonic())


def child_env(settings: Any, twilio: Any, smtp_port: int) -> dict[str, str]:
    """The environment of the worker and dispatcher children: same broker, prefix, database; fake providers."""
    env = dict(os.environ)
    env.update({
        "DRIVE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap, "DRIVE_EMBEDDED_PROFILE": "true",
        "DRIVE_TOPIC_PREFIX": settings.topic_prefix, "DRIVE_DATA_DIR": str(settings.data_dir),
        "DRIVE_DATABASE_URL": settings.resolved_database_url, "DRIVE_LOG_FORMAT": "json", "DRIVE_LOG_LEVEL": "INFO",
        "DRIVE_WORKER_METRICS_PORT": "0", "DRIVE_DISPATCHER_METRICS_PORT": "0",
        "DRIVE_TWILIO_ACCOUNT_SID": twilio.account_sid, "DRIVE_TWILIO_AUTH_TOKEN": twilio.auth_token,
        "DRIVE_TWILIO_FROM_NUMBER": "+447700900999", "DRIVE_TWILIO_BASE_URL": twilio.base_url,
        "DRIVE_TWILIO_TIMEOUT_S": "1.0",
        "DRIVE_SMTP_HOST": "127.0.0.1", "DRIVE_SMTP_PORT": str(smtp_port), "DRIVE_SMTP_SECURITY": "none",
        "DRIVE_SMTP_TIMEOUT_S": "2.0",
        # retries must outlast the SMTP outage, or a transient fault turns permanent and fails over
        "DRIVE_DELIVERY_BACKOFF_BASE_S": "0.5", "DRIVE_DELIVERY_BACKOFF_CAP_S": "4.0",
        "DRIVE_DELIVERY_MAX_ATTEMPTS": "200", "DRIVE_SENDER_INTERVAL_S": "0.2", "PYTHONUNBUFFERED": "1",
    })
    return env


def probe_failover(sender: Sender, scenario: Scenario, probes: list[str], watcher: AlertWatcher, killed_at: float,
                   stop: threading.Event, results: list[float], limit_s: float = 120.0) -> None:
    """Probe every subject-events partition each second; the kill's failover is the slowest partition's return."""
    pending = set(probes)
    probe_sent: dict[str, str] = {}
    while pending and not stop.is_set() and time.monotonic() - killed_at < limit_s:
        for subject in sorted(pending):
            record = scenario.probe(subject)
            probe_sent[record.value["event_id"]] = subject
            sender.submit(record)
        stop.wait(1.0)
        seen = watcher.seen_for_events()
        pending -= {probe_sent[e] for e in probe_sent if e in seen}
    seen = watcher.seen_for_events()
    back = [t for e, t in seen.items() if e in probe_sent]
    results.append(round(max(back) - killed_at, 1) if not pending and back else float(limit_s))


def pick_probes(scenario: Scenario, partitions: int) -> list[str]:
    """One subject for each subject-events partition."""
    chosen: dict[int, str] = {}
    for subject in scenario.subjects:
        chosen.setdefault(partition_of(subject, partitions), subject)
    return [chosen[p] for p in sorted(chosen)]


def run(plan: Plan, work: Path) -> dict[str, Any]:
    """One chaos run in folder `work`; returns the summary."""
    from connectors.intake.submit import build_intake
    from entrypoints.bootstrap import provision
    from migrations import upgrade
    from runtime.db import make_engine
    from runtime.embedded_broker import EmbeddedBroker
    from runtime.kafka import make_producer
    from runtime.settings import Settings
    from tests.fakes.smtp_server import FakeSmtp

    scenario = build(plan.seed, plan.events, plan.subjects, plan.alerting_share)
    children, stop, notes = Children(), threading.Event(), []
    twilio, dice = start_chaotic_twilio(plan.seed)
    smtp = FakeSmtp()
    smtp.start()
    with EmbeddedBroker() as broker:
        settings = Settings(data_dir=work, kafka_bootstrap=broker.bootstrap, embedded_profile=True,
                            topic_prefix="chaos.", database_url=f"sqlite:///{work / 'drive.db'}")
        upgrade(settings.resolved_database_url)
        provision(settings)
        engine, producer = make_engine(settings.resolved_database_url), make_producer(settings)
        watcher = AlertWatcher(broker.bootstrap, settings.topic("alert"), settings.topic_prefix)
        try:
            sender = Sender(build_intake(settings, engine, producer))
            for record in scenario.registry:
                sender.submit(record)
            sender.intake.flush()
            env = child_env(settings, twilio, smtp.port)
            dispatcher = children.add(Child("dispatcher", "dispatcher", env, work))
            workers = [children.add(Child(f"worker-{n}", "worker", env, work)) for n in "ab"]
            dispatcher.start()
            workers[0].start()
            if not workers[0].wait_logged("streams_worker_ready", 120):
                raise RuntimeError("first worker never became ready")
            watcher.start()
            probes = pick_probes(scenario, settings.stream_partitions)
            failovers: list[float] = []
            chaos = threading.Thread(target=_chaos_timeline, daemon=True,
                                     args=(plan, workers, sender, scenario, probes, watcher, stop, failovers, notes))
            smtp_outage(smtp, plan.smtp_down_at, plan.smtp_down_s, stop, notes)
            chaos.start()
            _traffic(plan, sender, scenario.traffic, stop)
            chaos.join(plan.traffic_s + 200)
            sender.intake.flush()
            expected = oracle(sender.sent, settings)
            wanted = expected_deliveries(expected, settings.channels_by_severity)
            _settle(plan, lambda: set(received(twilio, smtp, expected, scenario.staff).counts) >= wanted
                    and set(expected) <= set(watcher.first_seen))
            time.sleep(5)  # a late duplicate would land now
            dice.enabled = False
        finally:
            stop.set()
            children.stop_all()
            watcher.stopping.set()
            producer.close()
            engine.dispose()
        dead = dead_letter_locations(broker.bootstrap, settings.topic("dead-letter"), settings.topic_prefix)
    smtp.stop()
    skipped = sum(child.logs().count('"stream_records_skipped"') for child in children.items if child.starts
                  and child.command == "worker")
    return _summary(sender.sent, expected, wanted, received(twilio, smtp, expected, scenario.staff), watcher, dead,
                    failovers, notes, skipped)


def _traffic(plan: Plan, sender: Sender, traffic: list[Sent], stop: threading.Event) -> None:
    """Submit the traffic evenly over plan.traffic_s."""
    start, gap = time.monotonic(), plan.traffic_s / len(traffic)
    for n, record in enumerate(traffic):
        delay = start + n * gap - time.monotonic()
        if delay > 0 and stop.wait(delay):
            return
        sender.submit(record)


def _chaos_timeline(plan: Plan, workers: list[Child], sender: Sender, scenario: Scenario, probes: list[str],
                    watcher: AlertWatcher, stop: threading.Event, failovers: list[float], notes: list[str]) -> None:
    """Second worker joins; each worker in turn is SIGKILLed, restarted, and its failover probed."""
    start = time.monotonic()
    stop.wait(plan.second_worker_at)
    workers[1].start()
    notes.append("second worker started")
    for kill_at, victim in zip(plan.kills_at, workers):
        if stop.wait(max(0.0, start + kill_at - time.monotonic())):
            return
        killed_at = time.monotonic()
        victim.sigkill()
        notes.append(f"SIGKILL {victim.name}")
        threading.Timer(plan.restart_after_s, victim.start).start()
        probe_failover(sender, scenario, probes, watcher, killed_at, stop, failovers)


def _settle(plan: Plan, done: Any) -> None:
    deadline = time.monotonic() + plan.settle_timeout_s
    while time.monotonic() < deadline and not done():
        time.sleep(1.0)


def _summary(sent: list[Sent], expected: dict[str, dict[str, Any]], wanted: set[tuple[str, str, str]], got: Any,
             watcher: AlertWatcher, dead: dict[str, str], failovers: list[float], notes: list[str],
             skipped: int) -> dict[str, Any]:
    missing = wanted - set(got.counts)
    lost_alerts = {a for a, _, _ in missing} | (set(expected) - set(watcher.first_seen))
    timeout_dups = sum(min(n - 1, got.after_timeout[k]) for k, n in got.counts.items() if n > 1)
    dups = sum(n - 1 for n in got.counts.values() if n > 1) - timeout_dups
    malformed = [f"chaos#{n}:malformed" for n, r in enumerate(sent) if r.kind == "malformed"]
    print(f"notes: {notes}; unexpected alerts: {len(set(watcher.first_seen) - set(expected))}; "
          f"unmatched messages: {got.unmatched}; missing deliveries: {len(missing)}; "
          f"events of lost alerts: {sorted(e for a in lost_alerts for e in expected[a]['trigger_event_ids'])}",
          file=sys.stderr)
    return {"events": sum(r.kind != "registry" for r in sent), "expected_alerts": len(expected),
            "raised": len(set(watcher.first_seen) & set(expected)), "delivered": len(wanted & set(got.counts)),
            "lost": len(lost_alerts), "duplicate_deliveries": dups, "malformed": len(malformed),
            "dead_lettered": sum(1 for loc in malformed if dead.get(loc)),
            "max_failover_s": max(failovers, default=None), "duplicates_after_timeout": timeout_dups,
            "expected_deliveries": len(wanted), "skipped_record_ranges": skipped}


def _quiet_logging() -> None:
    """The in-process intake logs one line per record: keep this process's own logs to warnings."""
    from runtime.logging import configure_logging
    from runtime.settings import Settings

    configure_logging(Settings(log_level="WARNING", log_format="json"), stream=sys.stderr, force=True)


def main(argv: list[str] | None = None) -> int:
    """CLI: run once, print the JSON summary as the last line; exit 1 unless the targets are met."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="about 1,000 events, shortened outages")
    parser.add_argument("--up", action="store_true",
                        help="the real `drive-alerts up` fed over HTTP, its supervisor SIGKILLed mid-traffic")
    parser.add_argument("--events", type=int)
    parser.add_argument("--subjects", type=int)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it (logs, database) for inspection")
    args = parser.parse_args(argv)
    kind, once = (UpPlan, up_chaos.run) if args.up else (Plan, run)
    plan = kind.short() if args.short else kind()
    overrides = {k: v for k, v in (("events", args.events), ("subjects", args.subjects), ("seed", args.seed)) if v}
    plan = kind(**{**plan.__dict__, **overrides})
    _quiet_logging()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        result = once(plan, args.keep.resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="drive-chaos-") as folder:
            result = once(plan, Path(folder))
    print(summary_line(result), flush=True)
    ok = result["lost"] == 0 and result["duplicate_deliveries"] == 0 and result["dead_lettered"] == result["malformed"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
