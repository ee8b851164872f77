"""`drive-alerts replay SCENARIO.jsonl`: a scenario through the real pipeline on a simulated clock, alerts as JSON.

stdout carries only the alert lines (one JSON object each); refusals, acknowledgements, errors and logs go to stderr.
"""
from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import uuid
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import IO

from entrypoints.replay.delivery import ReplayDelivery, replay_delivery
from entrypoints.replay.pipeline import ReplayPipeline
from entrypoints.replay.scenario import (
    Ack,
    Advance,
    Publish,
    ScenarioError,
    SimulatedClock,
    Step,
    load_scenario,
    print_batch,
)
from runtime.kafka import broker_for, with_bootstrap
from runtime.settings import Settings

DEFAULT_TIMEOUT_S = 60.0


def replay(scenario_path: Path | str, settings: Settings, out: IO[str] | None = None, *,
           err: IO[str] | None = None, timeout_s: float = DEFAULT_TIMEOUT_S, deliver_to: Settings | None = None) -> int:
    """Replays a scenario through broker, intake and worker; prints each new alert as a JSON line to `out` (stdout).

    With `deliver_to`, each step's alerts are also recorded and sent into that ledger and outbox as the dispatcher
    does, on the simulated clock: ack lines acknowledge, and escalations and re-sends fall due as the clock moves.
    Returns 0 when done (refused lines included), 1 when the pipeline failed, 2 for a bad scenario file.
    """
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    path = Path(scenario_path)
    try:
        steps = load_scenario(path)
    except (OSError, ScenarioError) as exc:
        print(f"drive-alerts replay: {path}: {exc}", file=err)
        return 2

    with tempfile.TemporaryDirectory(prefix="drive-replay-") as workdir:
        settings = replay_settings(settings, Path(workdir))
        try:
            with broker_for(settings) as bootstrap:
                settings = with_bootstrap(settings, bootstrap)
                return asyncio.run(_replay(steps, path.name, settings, Path(workdir), out, err, timeout_s, deliver_to))
        except ScenarioError as exc:  # found while running, e.g. an advance before any accepted event
            print(f"drive-alerts replay: {path}: {exc}", file=err)
            return 2
        except Exception as exc:  # noqa: BLE001 - the CLI names the failure instead of a traceback
            print(f"drive-alerts replay: failed: {type(exc).__name__}: {exc}", file=err)
            return 1


def replay_settings(settings: Settings, workdir: Path) -> Settings:
    """Settings of one replay: simulated clock, a temp data dir and journal, and on a given cluster fresh topics."""
    update: dict[str, object] = {"stream_clock": "simulated", "data_dir": workdir, "database_url": None}
    if settings.kafka_bootstrap:
        update["topic_prefix"] = f"replay-{uuid.uuid4().hex[:8]}."  # never touches the cluster's real topics
    return settings.model_copy(update=update)


async def _replay(steps: list[Step], name: str, settings: Settings, workdir: Path, out: IO[str], err: IO[str],
                  timeout_s: float, deliver_to: Settings | None) -> int:

    pipeline = ReplayPipeline(settings, workdir, name)
    clock = SimulatedClock()
    try:
        await pipeline.open()
        with ExitStack() as stack:
            delivery = (stack.enter_context(replay_delivery(deliver_to, settings, timeout_s, err))
                        if deliver_to is not None else None)
            for step in steps:
                if isinstance(step, Ack):
                    await _acknowledged(delivery, step, name, err)
                    continue
                if isinstance(step, Advance):
                    await pipeline.tick(_advanced(clock, step))
                elif not await _published(pipeline, step, clock, name, err):
                    continue
                # One step at a time: the next is sent once this one is fully processed, so arrival order is file order.
                await pipeline.wait_idle(timeout_s)
                for line in print_batch(await pipeline.new_alerts(timeout_s)):
                    out.write(json.dumps(line, ensure_ascii=False) + "\n")
                out.flush()
                if delivery is not None and clock.now is not None:
                    await asyncio.to_thread(delivery.catch_up, clock.now)
            if delivery is not None:
                summary = await asyncio.to_thread(delivery.finish)
                print(f"drive-alerts replay: {summary.alerts_recorded} alert(s) recorded, {summary.messages_sent} "
                      f"message(s) sent, {summary.chronology_events} agency event(s) in the chronology; ledger "
                      f"{delivery.settings.resolved_database_url}. See `drive-alerts audit --subject ...` and "
                      f"`drive-alerts chronology ...`.", file=err)
    finally:
        await pipeline.close()
    return 0


async def _acknowledged(delivery: ReplayDelivery | None, step: Ack, name: str, err: IO[str]) -> None:
    """An ack line through the one acknowledgement API; a refusal is reported on stderr, and the replay goes on."""
    who = f"{step.staff_id}" + (f" for {step.on_behalf_of}" if step.on_behalf_of else "")
    if delivery is None:
        print(f"{name}:{step.line}: not applied: ack by {who} (--no-deliver keeps no ledger)", file=err)
        return
    outcome, said = await asyncio.to_thread(delivery.acknowledge, step)
    if outcome is None or not outcome.accepted:
        reason = said if outcome is None else outcome.status
        print(f"{name}:{step.line}: refused: ack by {who} of {step.rule}: {reason}", file=err)
        return
    print(f"{name}:{step.line}: {outcome.status.lower()}: {step.rule} {said} by {who} via {step.via}", file=err)


def _advanced(clock: SimulatedClock, step: Advance) -> datetime:
    try:
        return clock.advance(step.by)
    except RuntimeError as exc:
        raise ScenarioError(step.line, str(exc)) from None


async def _published(pipeline: ReplayPipeline, step: Publish, clock: SimulatedClock, name: str, err: IO[str]) -> bool:
    """Publishes one event; True when the intake accepted it (a refusal is reported on stderr, and replay goes on)."""
    outcome = await pipeline.publish(step)
    if outcome.status == "accepted":
        clock.saw(datetime.fromisoformat(step.value["recorded_at"]))
        return True
    if outcome.status == "duplicate":
        print(f"{name}:{step.line}: duplicate of event {outcome.event_id!r} already sent; not sent again", file=err)
        return False
    print(f"{name}:{step.line}: {outcome.status}: {outcome.reason}", file=err)
    for error in outcome.errors:
        print(f"{name}:{step.line}:   {error.path or '(record)'}: {error.message}", file=err)
    return False
