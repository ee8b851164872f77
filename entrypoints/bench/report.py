"""The bench's readable table, its final JSON line and its HTML page (figures and a latency chart)."""
from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

from entrypoints.bench.ceiling import Ceiling
from entrypoints.bench.engine import EngineResult
from entrypoints.bench.latency import RateLatency
from entrypoints.bench.pipeline import BacklogResult
from entrypoints.bench.restart import RestartResult
from entrypoints.bench.state import StateCost

ONE_MILLION = 1_000_000
_PAGE = Template((Path(__file__).with_name("report.html")).read_text(encoding="utf-8"))


@dataclass
class BenchResults:
    """Everything one run measured (parts left out stay None / empty)."""

    ceiling: Ceiling | None = None
    engine: EngineResult | None = None
    pipeline: BacklogResult | None = None
    scaling: list[BacklogResult] = field(default_factory=list)
    latency: list[RateLatency] = field(default_factory=list)
    restart: list[RestartResult] = field(default_factory=list)
    state: list[StateCost] = field(default_factory=list)
    replay: BacklogResult | None = None
    seconds: float = 0.0

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
        engine = self.engine.events_per_s if self.engine else None
        largest = max(self.scaling, key=lambda r: r.subjects, default=None)
        return {
            "ceiling_events_per_s": _r(ceiling), "pipeline_events_per_s": _r(pipeline),
            "ratio": _ratio(pipeline, ceiling), "engine_events_per_s": _r(engine),
            "engine_ratio": _ratio(pipeline, engine),
            "subjects_scaling": {str(r.subjects): _r(r.events_per_s) for r in self.scaling},
            "restart_s": {str(r.history): _r(r.seconds) for r in self.restart},
            "rss_mb_100k": _r(largest.rss_mb) if largest is not None and largest.subjects >= 100_000 else None,
            "worker_rss_mb": {str(r.subjects): _r(r.rss_mb) for r in self.scaling},
            "latency_ms": {str(r.offered_per_s): {"p50": _r(r.p50), "p95": _r(r.p95), "p99": _r(r.p99),
                                                  "events": r.events, "measured": r.measured,
                                                  "no_sms_by_design": r.no_sms_by_design,
                                                  "achieved_per_s": _r(r.achieved_per_s)} for r in self.latency},
            "bytes_per_subject": _r(max((s.bytes_per_subject for s in self.state), default=None)),
            "state": {str(s.subjects): {"bytes_per_subject": _r(s.bytes_per_subject), "rss_mb": _r(s.rss_mb),
                                        "rss_growth_mb": _r(s.rss_growth_mb)} for s in self.state},
            "replay_1m_s": _r(self.replay_1m_s), "replay_measured_events": self.replay.events if self.replay else None,
            "consume_ceiling_events_per_s": _r(self.ceiling.consume_per_s) if self.ceiling else None,
            "profile_produce_events_per_s": _r(self.ceiling.profile_produce_per_s) if self.ceiling else None,
            "seconds": _r(self.seconds),
        }

    def lines(self) -> list[str]:
        """The figures, one line each."""
        lines = []
        if c := self.ceiling:
            lines += [f"raw ceiling    kafka-python produce {c.produce_per_s:>10,.0f} events/s",
                      f"               aiokafka consume     {c.consume_per_s:>10,.0f} events/s",
                      f"               project producer     {c.profile_produce_per_s:>10,.0f} events/s (as configured)"]
        if e := self.engine:
            lines.append(f"pure engine    one core, no Kafka   {e.events_per_s:>10,.0f} events/s ({e.alerts:,} alerts)")
        if p := self.pipeline:
            shares = [f"{p.events_per_s / c.produce_per_s:.1%} of the produce ceiling" if c else "",
                      f"{p.events_per_s / e.events_per_s:.0%} of the pure engine" if e else ""]
            lines.append(f"pipeline       1 worker             {p.events_per_s:>10,.0f} events/s "
                         f"({', '.join(s for s in shares if s)}), {p.events:,} events, {p.subjects:,} subjects")
        for r in self.scaling:
            lines.append(f"subjects {r.subjects:>9,}  {r.events:,} events   {r.events_per_s:>10,.0f} events/s, "
                         f"worker RSS {r.rss_mb:,.0f} MB")
        for r in self.latency:
            lines.append(f"latency @{r.offered_per_s:>5}/s intake -> SMS call   p50 {_ms(r.p50)}  p95 {_ms(r.p95)}  "
                         f"p99 {_ms(r.p99)}  ({r.measured}/{r.events - r.no_sms_by_design} measured, "
                         f"{r.no_sms_by_design} raise no SMS by design, {r.achieved_per_s:,.0f}/s offered)")
        for r in self.restart:
            lines.append(f"restart        history {r.history:>7,} records -> first new SMS {r.seconds:>6.1f} s")
        for s in self.state:
            lines.append(f"state {s.subjects:>9,} subjects  {s.bytes_per_subject:>7,.0f} B/subject, "
                         f"RSS {s.rss_mb:,.0f} MB (+{s.rss_growth_mb:,.0f} MB for the state)")
        if r := self.replay:
            how = "measured" if r.events >= ONE_MILLION else f"EXTRAPOLATED linearly from {r.events:,} events"
            lines.append(f"replay         1,000,000 events in {self.replay_1m_s:,.0f} s ({how}; "
                         f"{r.events_per_s:,.0f} events/s; producing the backlog took {r.produce_seconds:,.0f} s)")
        return lines

    def table(self) -> str:
        """The readable summary."""
        return "\n".join(["", "drive-alerts bench", "-" * 72, *self.lines(), "-" * 72])


def _r(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


def _ratio(part: float | None, whole: float | None) -> float | None:
    return round(part / whole, 4) if part is not None and whole else None


def _ms(value: float | None) -> str:
    return f"{value:>7.0f}" if value is not None else "      -"


def json_line(results: BenchResults) -> str:
    """The one-line JSON printed last with --json."""
    return json.dumps(results.as_json(), separators=(",", ":"))


def latency_svg(latency: list[RateLatency], width: int = 640, height: int = 260) -> str:
    """Bars of p50, p95 and p99 per offered rate on a log scale (ms); rates with nothing measured are left out."""
    rates = [r for r in latency if r.p99 is not None]
    if not rates:
        return "<p>No latency was measured.</p>"
    top = math.log10(max(max(r.p99 or 1 for r in rates), 10) * 2)
    slot = (width - 60) / len(rates)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             'aria-label="latency by offered rate">']
    for i, r in enumerate(rates):
        for j, (name, value) in enumerate((("p50", r.p50), ("p95", r.p95), ("p99", r.p99))):
            h = max(1.0, (height - 40) * math.log10(max(value or 1, 1)) / top)
            x = 50 + i * slot + j * slot / 4
            parts.append(f'<rect class="{name}" x="{x:.0f}" y="{height - 20 - h:.0f}" width="{slot / 5:.0f}" '
                         f'height="{h:.0f}"><title>{r.offered_per_s}/s {name} {value:.0f} ms</title></rect>')
        parts.append(f'<text x="{50 + i * slot:.0f}" y="{height - 4}">{r.offered_per_s}/s</text>')
    parts.append("</svg>")
    return "".join(parts)


def write_html(results: BenchResults, path: Path) -> None:
    """The figures as a page with the latency chart (`drive-alerts bench --html FILE`)."""
    rows = "".join(f"<tr><td><pre>{html.escape(line)}</pre></td></tr>" for line in results.lines())
    path.write_text(_PAGE.substitute(rows=rows, chart=latency_svg(results.latency),
                                     json=html.escape(json_line(results))), encoding="utf-8")
