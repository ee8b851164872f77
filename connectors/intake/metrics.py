"""Prometheus counters of the connectors (intake outcomes, dead letters); labels never carry personal data."""
from __future__ import annotations

from prometheus_client import Counter

EVENTS_IN = Counter("drive_intake_records_total", "Records offered to the intake, by topic, agency and outcome "
                    "(accepted, duplicate, rejected, conflict).", ["topic", "agency", "status"])
DEAD_LETTERS = Counter("drive_intake_dead_letters_total", "Records refused at the door and dead-lettered, by agency "
                       "and reason code.", ["agency", "reason"])


def count_record(status: str, topic: str | None, agency: str | None) -> None:
    """Count one intake outcome (topic and agency are catalogue names / agency ids, never personal data)."""
    EVENTS_IN.labels(topic=topic or "unknown", agency=agency or "unknown", status=status).inc()


def count_dead_letter(agency: str | None, reason: str) -> None:
    """Count one dead letter written by the intake."""
    DEAD_LETTERS.labels(agency=agency or "unknown", reason=reason).inc()
