"""`drive-alerts replay SCENARIO.jsonl`: a scenario through the real pipeline on a simulated clock, alerts as JSON.

stdout carries only the alert lines (one JSON object each); refusals, errors and logs go to stderr.
"""
from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import IO

from entrypoints.replay.pipeline import ReplayPipeline
from entrypoints.replay.scenario import (
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
           err: IO[str] | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
           then: Callable[[Settings], None] | None = None) -> int:
    """Replays a scenario through broker, intake and worker; prints each new alert as a JSON line to `out` (stdout).

    `then(settings)` runs after the scenario, worker stopped, while the broker and its topics still exist
    (e.g. to deliver the alerts). Returns 0 when done (refused lines included), 1 when the pipeline failed,
    2 for a bad scenario file.
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
                status = asyncio.run(_replay(steps, path.name, settings, Path(workdir), out, err, timeout_s))
                if status == 0 and then is not None:
                    then(settings)
                return status
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
                  timeout_s: float) -> int:

    pipeline = ReplayPipeline(settings, workdir, name)
    clock = SimulatedClock()
    try:
        await pipeline.open()
        for step in steps:
            if isinstance(step, Advance):
                await pipeline.tick(_advanced(clock, step))
            elif not await _published(pipeline, step, clock, name, err):
                continue
            # One step at a time: the next is sent once this one is fully processed, so arrival order is file order.
            await pipeline.wait_idle(timeout_s)
            for line in print_batch(await pipeline.new_alerts(timeout_s)):
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
            out.flush()
    finally:
        await pipeline.close()
    return 0


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
