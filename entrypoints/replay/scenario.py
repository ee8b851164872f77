"""The replay scenario format (JSON lines of events, clock advances and acknowledgements), the simulated clock and the
alert lines."""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from schemas.catalogue import SOURCE_TOPICS
from schemas.jsonform import iso_timestamp

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<days>\d+)D)?(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$")
ACK_WAYS = ("SMS", "LINK", "WEB")
ACK_FIELDS = ("staff_id", "rule", "via", "on_behalf_of", "reason")
ALERT_KEYS = ("alert_id", "rule", "severity", "subject_id", "trigger_event_ids", "raised_at", "recipients",
              "group_key")
RECIPIENT_KEYS = ("staff_id", "role", "victim_ref", "text")


class ScenarioError(ValueError):
    """A scenario file that cannot be replayed, with the line at fault."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


@dataclass(frozen=True, slots=True)
class Publish:
    """Send `value` (an event in the contract's JSON form) to the source topic `topic`."""

    line: int
    topic: str
    value: Any


@dataclass(frozen=True, slots=True)
class Advance:
    """Move the simulated clock forward by `by` and let the timers run."""

    line: int
    by: timedelta


@dataclass(frozen=True, slots=True)
class Ack:
    """Acknowledge, as `staff_id`, the latest alert of `rule` addressed to them: by SMS reply from their registered
    number, by the link of their e-mail, or in the staff web app (WEB; with `on_behalf_of` and a `reason` code, a
    duty manager acknowledging for that recipient)."""

    line: int
    staff_id: str
    rule: str
    via: str = "SMS"
    on_behalf_of: str | None = None
    reason: str | None = None


Step = Publish | Advance | Ack


def parse_duration(text: str) -> timedelta:
    """An ISO-8601 duration PnDTnHnMnS (e.g. PT30M, P2D, P1DT6H, PT0.5S) as a timedelta; ValueError otherwise."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if match is None or not any(match.groupdict().values()):
        raise ValueError(f"{text!r} is not an ISO-8601 duration like PT30M, P2D or P1DT6H")
    parts = {name: float(value) for name, value in match.groupdict().items() if value}
    return timedelta(**parts)


def parse_line(number: int, text: str) -> Step | None:
    """One scenario line as a step (None for a blank line); ScenarioError naming the line otherwise."""
    if not text.strip():
        return None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScenarioError(number, f"not JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise ScenarioError(number, "must be a JSON object")
    if set(obj) == {"advance"}:
        try:
            return Advance(number, parse_duration(obj["advance"]))
        except ValueError as exc:
            raise ScenarioError(number, f"advance: {exc}") from None
    if set(obj) == {"topic", "value"}:
        if obj["topic"] not in SOURCE_TOPICS:
            raise ScenarioError(number, f"topic must be one of {', '.join(SOURCE_TOPICS)}")
        return Publish(number, obj["topic"], obj["value"])
    if set(obj) == {"ack"}:
        return parse_ack(number, obj["ack"])
    raise ScenarioError(number, 'expected {"topic": ..., "value": {...}}, {"advance": "PT30M"} or '
                                '{"ack": {"staff_id": ..., "rule": ...}}')


def parse_ack(number: int, spec: Any) -> Ack:
    """The acknowledgement of an `{"ack": {...}}` line; ScenarioError naming the line and field otherwise."""
    if not isinstance(spec, dict):
        raise ScenarioError(number, 'ack: must be an object like {"staff_id": "staff-cm-01", "rule": "breach.curfew"}')
    unknown = sorted(set(spec) - set(ACK_FIELDS))
    if unknown:
        raise ScenarioError(number, f"ack: unknown field {unknown[0]!r} (fields: {', '.join(ACK_FIELDS)})")
    for name in ACK_FIELDS:
        if name in spec and not (isinstance(spec[name], str) and spec[name].strip()):
            raise ScenarioError(number, f"ack: {name} must be a non-empty string")
    for name in ("staff_id", "rule"):
        if name not in spec:
            raise ScenarioError(number, f"ack: {name} is required")
    on_behalf_of, reason = spec.get("on_behalf_of"), spec.get("reason")
    via = spec.get("via", "WEB" if on_behalf_of else "SMS")
    if via not in ACK_WAYS:
        raise ScenarioError(number, f"ack: via must be one of {', '.join(ACK_WAYS)}")
    if on_behalf_of is not None and via != "WEB":
        raise ScenarioError(number, 'ack: on_behalf_of is given in the staff web app: "via": "WEB"')
    if reason is not None and on_behalf_of is None:
        raise ScenarioError(number, "ack: a reason is given only with on_behalf_of")
    return Ack(number, spec["staff_id"], spec["rule"], via, on_behalf_of, reason)


def parse_scenario(lines: Iterable[str]) -> list[Step]:
    """Every step of a scenario's lines, numbered from 1."""
    steps = [step for number, text in enumerate(lines, start=1) if (step := parse_line(number, text)) is not None]
    first = steps[0] if steps else None
    if isinstance(first, Advance):
        raise ScenarioError(first.line, "advance before the first event: the clock starts at its recorded_at")
    if isinstance(first, Ack):
        raise ScenarioError(first.line, "ack before the first event: nothing has been alerted yet")
    return steps


def load_scenario(path: Path | str) -> list[Step]:
    """The steps of a scenario file."""
    return parse_scenario(Path(path).read_text(encoding="utf-8").splitlines())


class SimulatedClock:
    """Starts at the first event's recorded_at, follows later events, never goes back; `advance` moves it on."""

    def __init__(self) -> None:
        self.now: datetime | None = None

    def saw(self, recorded_at: datetime) -> datetime:
        """The clock after an event recorded at `recorded_at` was accepted."""
        self.now = recorded_at if self.now is None else max(self.now, recorded_at)
        return self.now

    def advance(self, by: timedelta) -> datetime:
        """The clock after an advance; it has to have started."""
        if self.now is None:
            raise RuntimeError("advance before any accepted event: the simulated clock has not started")
        self.now = self.now + by
        return self.now


def alert_line(datum: dict[str, Any]) -> dict[str, Any]:
    """The printed form of an alert datum (as Alert.to_datum or the codec gives it): fixed key order, ISO times."""
    line = {key: datum.get(key) for key in ALERT_KEYS}
    line["severity"] = str(line["severity"])
    line["trigger_event_ids"] = list(line["trigger_event_ids"] or [])
    line["raised_at"] = iso_timestamp(line["raised_at"])
    line["recipients"] = [{key: (str(r[key]) if key == "role" else r.get(key)) for key in RECIPIENT_KEYS}
                          for r in datum.get("recipients") or []]
    return line


def print_batch(datums: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """A batch of alert datums as printed lines, sorted by (raised_at, rule, alert_id) so output is deterministic."""
    ordered = sorted(datums, key=lambda a: (_instant(a["raised_at"]), a["rule"], a["alert_id"]))
    return [alert_line(datum) for datum in ordered]


def _instant(moment: datetime | int) -> datetime:
    """Codec datums carry datetimes; epoch millis are accepted too."""
    return datetime.fromtimestamp(moment / 1000, UTC) if isinstance(moment, int) else moment
