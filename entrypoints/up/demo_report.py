"""What `drive-alerts demo` reads back and prints: delivered alerts from the ledger and their messages from the outbox."""
from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

SEVERITY_ORDER = {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 3}


@dataclass
class DeliveredAlert:
    """One alert in the ledger with its recipients and messages."""

    alert_id: str
    rule: str
    severity: str
    subject_id: str
    ack_code: str
    raised_at: Any
    recipients: list[tuple[str, str, str | None]] = field(default_factory=list)  # staff, role, victim_ref
    messages: list[dict[str, Any]] = field(default_factory=list)  # delivery rows joined with the outbox


def read_alerts(engine: sa.Engine, outbox: Path) -> list[DeliveredAlert]:
    """Every alert of the ledger (most severe first), its recipients and its deliveries with the outbox text."""
    written = _outbox_lines(outbox)
    with engine.connect() as conn:
        alerts = {row.alert_id: DeliveredAlert(row.alert_id, row.rule, row.severity, row.subject_id, row.ack_code,
                                               row.raised_at)
                  for row in conn.execute(sa.text(
                      "SELECT alert_id, rule, severity, subject_id, ack_code, raised_at FROM alerts"))}
        for row in conn.execute(sa.text("SELECT alert_id, staff_id, role, victim_ref FROM alert_recipients "
                                        "ORDER BY role, staff_id")):
            alerts[row.alert_id].recipients.append((row.staff_id, row.role, row.victim_ref))
        for row in conn.execute(sa.text("SELECT id, alert_id, staff_id, channel, state, purpose, body FROM deliveries "
                                        "ORDER BY staff_id, channel")):
            line = written.get(row.id, {})
            alerts[row.alert_id].messages.append({"staff_id": row.staff_id, "channel": row.channel,
                                                  "state": row.state, "purpose": row.purpose,
                                                  "subject": line.get("subject"), "body": line.get("body", row.body)})
    return sorted(alerts.values(), key=lambda a: (SEVERITY_ORDER.get(a.severity, 9), a.subject_id, a.rule))


def _outbox_lines(outbox: Path) -> dict[int, dict[str, Any]]:
    if not outbox.exists():
        return {}
    lines = (json.loads(raw) for raw in outbox.read_text(encoding="utf-8").splitlines() if raw.strip())
    return {line["delivery_id"]: line for line in lines}


def missing(alerts: list[DeliveredAlert], expected: frozenset[tuple[str, str]]) -> list[tuple[str, str]]:
    """Expected (subject, rule) pairs not yet in the ledger with every message out of the pending states."""
    done = {(a.subject_id, a.rule) for a in alerts
            if a.messages and all(m["state"] not in ("pending", "sending") for m in a.messages)}
    return sorted(expected - done)


def wait_for(engine: sa.Engine, outbox: Path, expected: frozenset[tuple[str, str]],
             timeout_s: float) -> tuple[list[DeliveredAlert], list[tuple[str, str]]]:
    """Poll the ledger until every expected alert is delivered or the time is up; (alerts, still missing)."""
    deadline = time.monotonic() + timeout_s
    while True:
        alerts = read_alerts(engine, outbox)
        left = missing(alerts, expected)
        if not left or time.monotonic() >= deadline:
            return alerts, left
        time.sleep(0.5)


def render(alert: DeliveredAlert) -> list[str]:
    """The readable block of one alert: headline, who is concerned, then every message as sent."""
    lines = [f"{alert.severity:<8} {alert.rule}   subject {alert.subject_id}   ack code {alert.ack_code}"]
    told = ", ".join(f"{staff} ({role.replace('_', ' ').lower()}{', client ' + victim if victim else ''})"
                     for staff, role, victim in alert.recipients)
    lines.append(f"         told: {told}")
    for m in alert.messages:
        head = f"         {m['channel']:<5} to {m['staff_id']:<14} [{m['state']}]"
        if m["channel"] == "EMAIL":
            lines.append(f"{head} subject: {m['subject']}")
            lines += [f"{'':<32}| {text}" for text in _email_text(m["body"])]
        else:
            lines.append(f"{head} {m['body']}")
    return lines


def _email_text(body: str) -> list[str]:
    """The e-mail's text lines without blank lines and without the (long, signed) acknowledgement link."""
    return [line for line in body.splitlines() if line.strip() and "/ack/" not in line]


def metric_value(metrics_url: str | None, name: str) -> float | None:
    """Sum of one Prometheus metric's samples at metrics_url (None when unreachable)."""
    if metrics_url is None:
        return None
    try:
        with urllib.request.urlopen(metrics_url, timeout=3) as answer:
            text = answer.read().decode()
    except OSError:
        return None
    values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
              if line.startswith(name) and not line.startswith("#")]
    return sum(values) if values else 0.0
