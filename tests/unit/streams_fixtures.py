"""Helpers for the streams unit tests: an in-memory StreamOutput, encoded sample records, an app without broker."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime.settings import Settings
from schemas.codec import AvroCodec
from schemas.events import Alert, DeadLetter
from schemas.jsonform import from_json
from schemas.subject_events import forward_headers
from streams.app import StreamsApp, create_app
from tests.samples.events import sample

PREFIX = "unit."
CODEC = AvroCodec(prefix=PREFIX)
SUBJECT = "DRV-000123"


@dataclass
class RecordingOutput:
    """An StreamOutput that keeps what it is given, in order; can be told to refuse alerts."""

    fail_alerts: bool = False
    fail_next_alerts: int = 0  # refuse only the next n publishes (a transient fault)
    sent: list[tuple[str, Any]] = field(default_factory=list)  # ("forward"|"alert"|"dead_letter", payload)

    async def forward(self, subject_id: str, raw: bytes, kind: str, topic: str) -> None:
        self.sent.append(("forward", (subject_id, kind, topic, raw)))

    async def publish_alerts(self, alerts: list[Alert]) -> None:
        if self.fail_alerts or self.fail_next_alerts > 0:
            self.fail_next_alerts -= 1
            raise ConnectionError("broker unavailable")
        self.sent.extend(("alert", a) for a in alerts)

    async def dead_letter(self, letter: DeadLetter) -> None:
        self.sent.append(("dead_letter", letter))

    def of(self, what: str) -> list[Any]:
        """The payloads of one kind of send."""
        return [payload for kind, payload in self.sent if kind == what]


def unit_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings naming an unreachable broker (nothing here connects) and the simulated clock."""
    values: dict[str, Any] = {"kafka_bootstrap": "127.0.0.1:1", "data_dir": tmp_path, "topic_prefix": PREFIX,
                              "stream_clock": "simulated"}
    values.update(overrides)
    return Settings(**values)


def test_app(tmp_path: Path, publisher: RecordingOutput, **overrides: Any) -> StreamsApp:
    """A finalized app for faust's test_context: memory tables, flow resumed, no broker."""
    app = create_app(unit_settings(tmp_path, **overrides), publisher=publisher)
    app.finalize()
    app.flow_control.resume()
    return app


test_app.__test__ = False  # a factory, not a test


def encoded(topic: str, event_type: str, **overrides: Any) -> bytes:
    """Confluent-framed Avro bytes of a contract sample (name_hash dropped unless overridden)."""
    record = sample(topic, event_type, **overrides)
    if "name_hash" not in overrides:
        record.pop("name_hash", None)
    return CODEC.encode(topic, from_json(topic, record))


def event_headers(topic: str, kind: str = "event") -> list[tuple[str, bytes]]:
    """Headers of a forwarded subject-events record."""
    return forward_headers(kind, topic)
