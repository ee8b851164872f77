"""Prometheus counters of the streams (process-wide, registered once)."""
from __future__ import annotations

from prometheus_client import Counter

NOT_A_SUBJECT = Counter("drive_events_not_subject_total", "Source events about nobody in the registry (dropped).",
                        ["topic"])
RECORDS = Counter("drive_stream_records_total", "Records handled by each stream agent.", ["agent"])
FORWARDED = Counter("drive_stream_forwarded_total", "Records forwarded to subject-events, by kind.", ["kind"])
ALERTS = Counter("drive_alerts_raised_total", "Alerts published, by rule.", ["rule"])
DEAD_LETTERS = Counter("drive_stream_dead_letters_total", "Stream records dead-lettered, by reason.", ["reason"])
REGISTRY_REFRESHES = Counter("drive_registry_refreshes_total",
                             "On-demand registry catch-ups after an event found nobody.")
