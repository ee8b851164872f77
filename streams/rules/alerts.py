"""Turns an alert draft into an Alert: deterministic id, registry recipients, one minimised text each."""
from __future__ import annotations

import hashlib
from datetime import datetime

from schemas.events import Alert, AlertRecipient
from streams.rules.drafts import AlertDraft
from streams.rules.routing import targets
from streams.rules.state import SubjectState, linked_victim_refs
from streams.rules.text import render


def alert_id_of(rule_id: str, subject_id: str, trigger_event_ids: tuple[str, ...], dedupe_key: str = "") -> str:
    """The deterministic alert id: sha256 of (rule, subject, sorted trigger ids[, key]), 24 hex characters."""
    parts = [rule_id, subject_id, *sorted(trigger_event_ids)] + ([dedupe_key] if dedupe_key else [])
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def build_alert(state: SubjectState, d: AlertDraft, now: datetime) -> Alert | None:
    """The alert of a draft, or None when nobody may receive it (no open case)."""
    linked = linked_victim_refs(state.case)
    victims = tuple(sorted(v for v in set(d.victim_refs) if v in linked))
    to = targets(state.case, d.rule, victims)
    if not to:
        return None
    alert_id = alert_id_of(d.rule.rule_id, state.subject_id, d.trigger_event_ids, d.dedupe_key)
    detail_of = d.describe(state) if d.describe else None
    recipients = tuple(
        AlertRecipient(staff_id=t.staff_id, role=t.role, victim_ref=t.victim_ref,
                       text=render(d.rule, t, alert_id=alert_id, subject_id=state.subject_id, at=d.at,
                                   detail=detail_of(t) if detail_of else d.detail, victim_refs=victims))
        for t in to)
    return Alert(alert_id=alert_id, rule=d.rule.rule_id, severity=d.rule.severity, subject_id=state.subject_id,
                 trigger_event_ids=tuple(dict.fromkeys(d.trigger_event_ids)), raised_at=now,
                 group_key=d.group_key, recipients=recipients)
