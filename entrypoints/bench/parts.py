"""The bench's parts in order, each on its own topics and database of one broker; their results in BenchResults."""
from __future__ import annotations

import argparse
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from entrypoints.bench.ceiling import measure_ceiling
from entrypoints.bench.data import agency_events, registry_records
from entrypoints.bench.engine import measure_engine
from entrypoints.bench.pipeline import run_backlog
from entrypoints.bench.report import BenchResults
from entrypoints.bench.restart import measure_restart
from entrypoints.bench.runner_latency import run_latency
from entrypoints.bench.state import measure_state
from entrypoints.bootstrap import provision
from runtime.settings import Settings
from schemas.codec import AvroCodec
from streams.app import rule_config

Say = Callable[[str], None]


def counts(text: str) -> list[int]:
    """A comma-separated list of counts ("1000,100000")."""
    return [int(c) for c in text.split(",") if c.strip()]


class Parts:
    """Runs the parts the arguments ask for against one broker (`base` settings are bound to it)."""

    def __init__(self, args: argparse.Namespace, base: Settings, tmp: Path, say: Say) -> None:
        self.args, self.base, self.tmp, self.say = args, base, tmp, say
        self.run_id = uuid.uuid4().hex[:8]
        self.now = datetime.now(UTC)
        self.results = BenchResults()

    def part(self, name: str) -> Settings:
        """Each part on its own topics and database, so no part reads another's records."""
        folder = self.tmp / name
        folder.mkdir()
        bound = self.base.model_copy(update={"topic_prefix": f"bench-{self.run_id}-{name}.", "data_dir": folder,
                                             "database_url": f"sqlite:///{folder / 'bench.db'}"})
        provision(bound)
        return bound

    def everything(self) -> BenchResults:
        a = self.args
        self.say(f"bench: {a.events:,} events over {a.subjects:,} subjects")
        self.ceiling_engine_pipeline()
        self.scaling()
        self.latency()
        self.restart()
        self.state()
        self.replay()
        return self.results

    def ceiling_engine_pipeline(self) -> None:
        a, s = self.args, self.part("pipeline")
        codec = AvroCodec(prefix=s.topic_prefix)
        registry = registry_records(codec, a.subjects, self.now)
        events = agency_events(codec, a.events, a.subjects, self.now)
        self.say("[1/8] raw ceiling: kafka-python produce, aiokafka consume")
        self.results.ceiling = measure_ceiling(s, events)
        c = self.results.ceiling
        self.say(f"  produce {c.produce_per_s:,.0f}/s (project producer {c.profile_produce_per_s:,.0f}/s), "
                 f"consume {c.consume_per_s:,.0f}/s")
        self.say("[2/8] pure engine: the same events, no Kafka, no faust, this process")
        self.results.engine = measure_engine(registry, events, rule_config(s), self.now)
        self.say(f"  {self.results.engine.events_per_s:,.0f} events/s")
        self.say("[3/8] pipeline: the backlog through one worker process")
        self.results.pipeline = run_backlog(s, s.data_dir, registry, events, self.say, a.subjects)
        self.say(f"  {self.results.pipeline.events_per_s:,.0f} events/s")

    def scaling(self) -> None:
        self.say(f"[4/8] subjects: {self.args.scaling_events:,} events with {self.args.scaling_subjects} subjects")
        for subjects in counts(self.args.scaling_subjects):
            s = self.part(f"scaling-{subjects}")
            codec = AvroCodec(prefix=s.topic_prefix)
            result = run_backlog(s, s.data_dir, registry_records(codec, subjects, self.now),
                                 agency_events(codec, self.args.scaling_events, subjects, self.now, seed=3), self.say,
                                 subjects)
            self.results.scaling.append(result)
            self.say(f"  {subjects:,} subjects: {result.events_per_s:,.0f} events/s, worker RSS {result.rss_mb:,.0f} MB")

    def latency(self) -> None:
        a = self.args
        self.say("[5/8] latency: intake -> SMS delivery call")
        s = self.part("latency")
        self.results.latency = run_latency(s, s.data_dir, registry_records(AvroCodec(prefix=s.topic_prefix),
                                                                            a.subjects, self.now), a.subjects,
                                           counts(a.rates), a.latency_seconds, self.say, a.settle_seconds)

    def restart(self) -> None:
        self.say(f"[6/8] restart of `drive-alerts up` with {self.args.restart_history} records of history")
        for history in counts(self.args.restart_history):
            self.results.restart.append(measure_restart(self.tmp, history, self.say))

    def state(self) -> None:
        self.say("[7/8] state: bytes per subject, RSS")
        for count in counts(self.args.state_subjects):
            self.results.state.append(measure_state(count))
            self.say(f"  {count:,} subjects: {self.results.state[-1].bytes_per_subject:,.0f} B/subject")

    def replay(self) -> None:
        a = self.args
        self.say(f"[8/8] replay: {a.replay_events:,} events through one worker")
        s = self.part("replay")
        codec = AvroCodec(prefix=s.topic_prefix)
        self.results.replay = run_backlog(s, s.data_dir, registry_records(codec, a.subjects, self.now),
                                          agency_events(codec, a.replay_events, a.subjects, self.now, seed=11),
                                          self.say, a.subjects)
