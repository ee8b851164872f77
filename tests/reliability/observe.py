"""What the chaos run observes from outside the system: alerts on the topic, dead letters, provider mailboxes."""
from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from consumers.ledger.columns import ack_code_for
from schemas.codec import AvroCodec
from tests.reliability.scenario import Staff

ACK = re.compile(r"ACK ([A-Z0-9]+)")


class AlertWatcher(threading.Thread):
    """Reads the alert topic from the start in a thread: first-seen time and count of every alert id."""

    def __init__(self, bootstrap: str, topic: str, prefix: str) -> None:
        super().__init__(name="alert-watcher", daemon=True)
        self.bootstrap, self.topic, self.codec = bootstrap, topic, AvroCodec(prefix=prefix)
        self.first_seen: dict[str, float] = {}
        self.copies: Counter[str] = Counter()
        self.triggers: dict[str, list[str]] = {}
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    def run(self) -> None:
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False)
        try:
            while not (found := consumer.partitions_for_topic(self.topic)):
                time.sleep(0.2)
            parts = [TopicPartition(self.topic, p) for p in sorted(found)]
            consumer.assign(parts)
            consumer.seek_to_beginning(*parts)
            while not self.stopping.is_set():
                for batch in consumer.poll(timeout_ms=200).values():
                    for record in batch:
                        self._saw(self.codec.decode(record.value, "alert"))
        finally:
            consumer.close()

    def _saw(self, alert: dict[str, Any]) -> None:
        with self.lock:
            self.first_seen.setdefault(alert["alert_id"], time.monotonic())
            self.copies[alert["alert_id"]] += 1
            self.triggers[alert["alert_id"]] = list(alert["trigger_event_ids"])

    def seen_for_events(self) -> dict[str, float]:
        """trigger event id -> when its alert was first seen."""
        with self.lock:
            return {e: self.first_seen[a] for a, events in self.triggers.items() for e in events}


def channels_by_severity(spec: str) -> dict[str, tuple[str, ...]]:
    """'CRITICAL=SMS+EMAIL,MEDIUM=EMAIL' -> {'CRITICAL': ('SMS', 'EMAIL'), ...}."""
    pairs = (item.split("=", 1) for item in spec.split(",") if item.strip())
    return {sev.strip(): tuple(c.strip() for c in chans.split("+")) for sev, chans in pairs}


def expected_deliveries(alerts: dict[str, dict[str, Any]], spec: str) -> set[tuple[str, str, str]]:
    """(alert_id, staff_id, channel) every expected alert must reach."""
    channels = channels_by_severity(spec)
    return {(a["alert_id"], r["staff_id"], ch) for a in alerts.values() for r in a["recipients"]
            for ch in channels[a["severity"]]}


@dataclass
class Received:
    """Deliveries the fake providers accepted, keyed (alert_id, staff_id, channel)."""

    counts: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    after_timeout: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    unmatched: int = 0


def received(twilio: Any, smtp: Any, alerts: dict[str, dict[str, Any]], staff: dict[str, Staff]) -> Received:
    """Count what the fake Twilio and SMTP servers accepted, matched by ack code and recipient address."""
    by_code = {ack_code_for(alert_id): alert_id for alert_id in alerts}
    by_phone = {s.phone: s.staff_id for s in staff.values()}
    by_email = {s.email: s.staff_id for s in staff.values()}
    out = Received()
    with twilio.lock:
        sms = list(twilio.messages)
    for message in sms:
        key = _key(by_code, ACK.search(message["body"] or ""), by_phone.get(message["to"]), "SMS")
        if key is None:
            out.unmatched += 1
            continue
        out.counts[key] += 1
        out.after_timeout[key] += bool(message.get("accepted_before_timeout"))
    with smtp.lock:
        mails = list(smtp.received)
    for mail in mails:
        text = mail.message.get_body(("plain",)).get_content()
        for rcpt in mail.rcpt_tos:
            key = _key(by_code, ACK.search(text), by_email.get(rcpt), "EMAIL")
            if key is None:
                out.unmatched += 1
            else:
                out.counts[key] += 1
    return out


def _key(by_code: dict[str, str], match: re.Match[str] | None, staff_id: str | None,
         channel: str) -> tuple[str, str, str] | None:
    alert_id = by_code.get(match.group(1)) if match else None
    return (alert_id, staff_id, channel) if alert_id and staff_id else None


def dead_letter_locations(bootstrap: str, topic: str, prefix: str) -> dict[str, str]:
    """origin location -> reason of every dead letter on the topic (read to its end)."""
    from tests.kafka_helpers import read_topic

    codec = AvroCodec(prefix=prefix)
    found: dict[str, str] = {}
    for _, value, _ in read_topic(bootstrap, topic, 10**6, timeout=30, to_end=True):
        letter = codec.decode(value, "dead-letter")
        found[letter["source"]["location"]] = letter["reason"]
    return found


def summary_line(values: dict[str, Any]) -> str:
    """The run's last line."""
    return json.dumps(values, sort_keys=False)
