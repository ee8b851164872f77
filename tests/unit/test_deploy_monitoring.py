"""deploy/k8s/monitoring: every alert rule and dashboard expression names metrics the code exports, and the runbook's
metrics table lists exactly those. The exported names come from the code's prometheus_client registrations."""
from __future__ import annotations

import importlib
import json
import pkgutil
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "k8s" / "monitoring"
PACKAGES = ("runtime", "connectors", "streams", "consumers")
# what Prometheus adds itself to every scrape target
PROMETHEUS_OWN = {"up"}
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",), "summary": ("_sum", "_count", "")}
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACES = re.compile(r"\{[^}]*\}")
_BY = re.compile(r"\b(?:by|without)\s*\([^)]*\)")


@cache
def exported() -> dict[str, set[str]]:
    """Every metric family the project registers (all its modules imported), by family name: its sample names."""
    for package in PACKAGES:
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, f"{package}."):
            importlib.import_module(info.name)
    return {family.name: {family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",))}
            for family in REGISTRY.collect() if family.name.startswith("drive_")}


def exported_samples() -> set[str]:
    return {sample for samples in exported().values() for sample in samples}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (label matchers, groupings and strings taken out first)."""
    bare = _BY.sub(" ", _BRACES.sub(" ", _QUOTED.sub(" ", expr)))
    return {name for name in _NAME.findall(bare) if name.startswith("drive_") or name in PROMETHEUS_OWN}


def _rules() -> list[dict[str, Any]]:
    [rule_file] = [d for d in yaml.safe_load_all((MONITORING / "prometheusrule.yaml").read_text()) if d]
    return [rule for group in rule_file["spec"]["groups"] for rule in group["rules"]]


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads((MONITORING / "drive-alerts-dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def _expressions() -> list[str]:
    return [rule["expr"] for rule in _rules()] + _dashboard_exprs()


def test_metric_names_are_found_in_expressions() -> None:
    """The extraction sees metrics, not functions, labels or label values."""
    assert metric_names('sum by (le, drive_x) (rate(drive_a_bucket{job="drive_b"}[5m])) / up') == {"drive_a_bucket", "up"}


@pytest.mark.parametrize("expr", _expressions())
def test_every_expression_names_only_metrics_the_code_exports(expr: str) -> None:
    """Each alert rule and dashboard query selects at least one metric, and every one of them is exported."""
    names = metric_names(expr)
    assert names, expr
    assert names - PROMETHEUS_OWN <= exported_samples(), (expr, names - exported_samples())


def test_the_new_gauges_are_watched() -> None:
    """Unacknowledged alerts, pending and failed deliveries, lag and escalations are on the dashboard."""
    used = {name for expr in _dashboard_exprs() for name in metric_names(expr)}
    for family in ("drive_unacknowledged_alerts", "drive_deliveries_pending", "drive_deliveries_failed_recent",
                   "drive_consumer_lag", "drive_escalations"):
        assert exported()[family] & used, family


def test_every_rule_says_what_it_means() -> None:
    """Each rule has a name, a severity and a summary for whoever is paged."""
    for rule in _rules():
        assert rule["alert"] and rule["labels"]["severity"] in ("critical", "warning") and rule["annotations"]["summary"]


def test_the_runbook_metrics_table_lists_exactly_the_exported_metrics() -> None:
    """docs/runbook.md 'Metrics and alerts': a row per exported metric family, and no metric the code lacks."""
    runbook = (ROOT / "docs" / "runbook.md").read_text()
    section = runbook[runbook.index("## Metrics and alerts"):]
    section = section[:section.index("\n## ", 3)]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    named = {name for row in rows for name in re.findall(r"`(drive_[a-z0-9_]+)", row.split("|")[1])}
    families = {name: family for family, samples in exported().items() for name in samples | {family}}
    assert named <= set(families), named - set(families)
    assert {families[name] for name in named} == set(exported()), set(exported()) - {families[n] for n in named}
