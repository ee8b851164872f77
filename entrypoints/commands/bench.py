"""`drive-alerts bench`: capacity check (raw ceiling, pipeline, latency, state, replay) on the embedded or set broker."""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory

from entrypoints.bench.ceiling import measure_ceiling
from entrypoints.bench.data import agency_events, registry_records
from entrypoints.bench.pipeline import run_backlog
from entrypoints.bench.report import BenchResults, json_line
from entrypoints.bench.runner_latency import run_latency
from entrypoints.bench.state import measure_state
from entrypoints.bootstrap import provision
from runtime.kafka import broker_for, with_bootstrap
from runtime.logging import configure_logging
from runtime.settings import Settings
from schemas.codec import AvroCodec

QUICK = {"events": 1000, "subjects": 100, "latency_seconds": 1.0, "settle_seconds": 2.0, "state_subjects": "1000",
         "replay_events": 1000}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `bench` (each shortens or lengthens one part)."""
    parser.add_argument("--events", type=int, default=30_000, help="backlog for the ceiling and pipeline parts (default 30000)")
    parser.add_argument("--subjects", type=int, default=2_000, help="registered subjects the events are about (default 2000)")
    parser.add_argument("--latency-seconds", type=float, default=20.0, help="seconds each latency rate is offered (default 20)")
    parser.add_argument("--rates", default="50,200,1000", help="offered rates for latency, events/s (default 50,200,1000)")
    parser.add_argument("--state-subjects", default="10000,100000", help="subject counts for the state part (default 10000,100000)")
    parser.add_argument("--replay-events", type=int, default=50_000,
                        help="replay size; below 1000000 the 1M time is extrapolated and the output says so (default 50000)")
    parser.add_argument("--settle-seconds", type=float, default=8.0,
                        help="latency: a rate is done when no offered event got its SMS for this long (default 8)")
    parser.add_argument("--quick", action="store_true", help="the smallest run of every part (smoke test)")
    parser.add_argument("--json", action="store_true", help="print a final JSON line with the figures")


def _say(message: str) -> None:
    print(message, flush=True)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Runs every part in order, printing progress, then the table (and the JSON line)."""
    if args.quick:
        for name, value in QUICK.items():
            setattr(args, name, value)
    if "DRIVE_LOG_LEVEL" not in os.environ:

        configure_logging(settings.model_copy(update={"log_level": "ERROR"}), force=True)

    started = time.monotonic()
    results = _run_parts(args, settings)
    _say(results.table())
    _say(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; whole run {time.monotonic() - started:,.0f} s")
    if args.json:
        print(json_line(results), flush=True)
    return 0


def _run_parts(args: argparse.Namespace, settings: Settings):  # noqa: ANN202 - BenchResults

    results = BenchResults()
    run_id = uuid.uuid4().hex[:8]
    with TemporaryDirectory(prefix="drive-bench-") as tmp, broker_for(settings.model_copy(
            update={"data_dir": Path(tmp)})) as bootstrap:
        base = with_bootstrap(settings, bootstrap)

        def part(name: str) -> Settings:
            """Each part on its own topics and database, so no part reads another's records."""
            folder = Path(tmp) / name
            folder.mkdir()
            bound = base.model_copy(update={"topic_prefix": f"bench-{run_id}-{name}.", "data_dir": folder,
                                            "database_url": f"sqlite:///{folder / 'bench.db'}"})
            provision(bound)
            return bound

        now = datetime.now(UTC)
        _say(f"bench on {'the embedded broker' if not settings.kafka_bootstrap else bootstrap}: "
             f"{args.events:,} events over {args.subjects:,} subjects")
        s = part("pipeline")
        codec = AvroCodec(prefix=s.topic_prefix)
        registry = registry_records(codec, args.subjects, now)
        events = agency_events(codec, args.events, args.subjects, now)
        _say("[1/5] raw ceiling: kafka-python produce, aiokafka consume")
        results.ceiling = measure_ceiling(s, events)
        _say(f"  produce {results.ceiling.produce_per_s:,.0f}/s (project producer {results.ceiling.profile_produce_per_s:,.0f}/s), "
             f"consume {results.ceiling.consume_per_s:,.0f}/s")
        _say("[2/5] pipeline: backlog through one worker")
        results.pipeline = asyncio.run(run_backlog(s, s.data_dir, registry, events, _say))
        _say(f"  {results.pipeline.events_per_s:,.0f} events/s")
        _say("[3/5] latency: intake -> SMS delivery call")
        rates = [int(r) for r in args.rates.split(",") if r.strip()]
        s = part("latency")
        results.latency = run_latency(s, s.data_dir, registry_records(AvroCodec(prefix=s.topic_prefix), args.subjects,
                                                                       now), args.subjects, rates,
                                      args.latency_seconds, _say, args.settle_seconds)
        _say("[4/5] state: bytes per subject, RSS")
        for count in (int(c) for c in args.state_subjects.split(",") if c.strip()):
            results.state.append(measure_state(count))
            _say(f"  {count:,} subjects: {results.state[-1].bytes_per_subject:,.0f} B/subject")
        _say(f"[5/5] replay: {args.replay_events:,} events through one worker")
        s = part("replay")
        codec = AvroCodec(prefix=s.topic_prefix)
        results.replay = asyncio.run(run_backlog(s, s.data_dir, registry_records(codec, args.subjects, now),
                                                 agency_events(codec, args.replay_events, args.subjects, now, seed=11),
                                                 _say))
    return results
