"""The bench's readable table and its final JSON line."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from entrypoints.bench.ceiling import Ceiling
from entrypoints.bench.latency import RateLatency
from entrypoints.bench.pipeline import BacklogResult
from entrypoints.bench.state import StateCost

ONE_MILLION = 1_000_000


@dataclass
class BenchResults:
    """Everything one run measured (parts left out stay None / empty)."""

    ceiling: Ceiling | None = None
    pipeline: BacklogResult | None = None
    latency: list[RateLatency] = field(default_factory=list)
    state: list[StateCost] = field(default_factory=list)
    replay: BacklogResult | None = None

    @property
    def replay_1m_s(self) -> float | None:
        """Seconds for 1,000,000 events: measured, or scaled linearly from the replay's own size."""
        if self.replay is None or not self.replay.events:
            return None
        return self.replay.seconds * ONE_MILLION / self.replay.events

    def as_json(self) -> dict[str, Any]:
        """The final JSON line's object."""
        ceiling = self.ceiling.produce_per_s if self.ceiling else None
        pipeline = self.pipeline.events_per_s if self.pipeline else None
        return {
            "ceiling_events_per_s": _r(ceiling), "pipeline_events_per_s": _r(pipeline),
            "ratio": round(pipeline / ceiling, 4) if ceiling and pipeline is not None else None,
            "latency_ms": {str(r.offered_per_s): {"p50": _r(r.p50), "p95": _r(r.p95), "p99": _r(r.p99),
                                                  "events": r.events, "measured": r.measured,
                                                  "achieved_per_s": _r(r.achieved_per_s)}
                           for r in self.latency},
            "bytes_per_subject": _r(max((s.bytes_per_subject for s in self.state), default=None)),
            "replay_1m_s": _r(self.replay_1m_s),
            "replay_measured_events": self.replay.events if self.replay else None,
            "state": {str(s.subjects): {"bytes_per_subject": _r(s.bytes_per_subject), "rss_mb": _r(s.rss_mb),
                                        "rss_growth_mb": _r(s.rss_growth_mb)} for s in self.state},
            "consume_ceiling_events_per_s": _r(self.ceiling.consume_per_s) if self.ceiling else None,
            "profile_produce_events_per_s": _r(self.ceiling.profile_produce_per_s) if self.ceiling else None,
        }

    def table(self) -> str:
        """The readable summary."""
        lines = ["", "drive-alerts bench", "-" * 72]
        if self.ceiling:
            lines += [f"raw ceiling    kafka-python produce {self.ceiling.produce_per_s:>10,.0f} events/s",
                      f"               aiokafka consume     {self.ceiling.consume_per_s:>10,.0f} events/s",
                      f"               project producer     {self.ceiling.profile_produce_per_s:>10,.0f} events/s "
                      "(as configured; embedded profile: one record per batch)"]
        if self.pipeline:
            p = self.pipeline
            ratio = f" ({p.events_per_s / self.ceiling.produce_per_s:.1%} of the produce ceiling)" if self.ceiling else ""
            lines.append(f"pipeline       1 worker             {p.events_per_s:>10,.0f} events/s{ratio}, "
                         f"{p.events:,} events, {p.alerts:,} alerts")
        for r in self.latency:
            lines.append(f"latency @{r.offered_per_s:>5}/s intake -> SMS call   p50 {r.p50:>7.0f}  p95 {r.p95:>7.0f}  "
                         f"p99 {r.p99:>7.0f} ms  ({r.measured}/{r.events} events, {r.achieved_per_s:,.0f}/s offered)")
        for s in self.state:
            lines.append(f"state {s.subjects:>9,} subjects  {s.bytes_per_subject:>7,.0f} B/subject (changelog JSON), "
                         f"RSS {s.rss_mb:,.0f} MB (+{s.rss_growth_mb:,.0f} MB for the state)")
        if self.replay:
            r = self.replay
            how = "measured" if r.events >= ONE_MILLION else f"EXTRAPOLATED linearly from {r.events:,} events"
            lines.append(f"replay         1,000,000 events in {self.replay_1m_s:,.0f} s ({how}; "
                         f"{r.events_per_s:,.0f} events/s; producing the backlog took {r.produce_seconds:,.0f} s)")
        lines.append("-" * 72)
        return "\n".join(lines)


def _r(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


def json_line(results: BenchResults) -> str:
    """The one-line JSON printed last with --json."""
    return json.dumps(results.as_json(), separators=(",", ":"))
