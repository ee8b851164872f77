"""A refused record as a dead letter: described in clear, its raw bytes sealed, its errors scrubbed; never raises on input."""
from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from connectors.intake.describe import DESCRIPTION_TYPE, Describer, describe_bytes
from connectors.intake.pseudonymise import NameHasher, scrub_raw
from connectors.intake.sealed import DeadLetterVault, SealedRecord
from schemas.errors import FieldError
from schemas.jsonparse import JsonRefused, parse_json

log = structlog.get_logger("connectors.intake.refused")

CSV_TYPE = "text/csv"


@dataclass(frozen=True)
class RowColumns:
    """A row read by column (file drop, SQL polling): values, the CSV header, the columns its mapping drops."""

    values: dict[str, Any]
    header: tuple[str, ...] = ()
    dropped: frozenset[str] = frozenset()

    def without_dropped(self, content_type: str) -> bytes:
        """The row again with dropped columns emptied: CSV in header order, else JSON."""
        kept = {c: ("" if content_type == CSV_TYPE else None) if c in self.dropped else v for c, v in self.values.items()}
        if content_type != CSV_TYPE:
            return json.dumps(kept, ensure_ascii=True, sort_keys=True, default=bytes.hex).encode("ascii")
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow([kept.get(c, "") for c in self.header or list(kept)])
        return out.getvalue().encode("utf-8", "surrogateescape")


def record_bytes(record: Any) -> bytes:
    """A parsed record serialised again (a batch item has no bytes of its own); total for any JSON value."""
    try:
        return json.dumps(record, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    except (ValueError, TypeError, RecursionError):
        return b""


class DeadLetters:
    """Makes the DeadLetter datum of a refusal: description in clear, raw bytes sealed in the vault."""

    def __init__(self, hasher: NameHasher, vault: DeadLetterVault) -> None:
        self.hasher = hasher
        self.describer = Describer(hasher)
        self.vault = vault

    def make(self, *, source: dict[str, Any], raw: bytes, content_type: str, code: str,
             errors: tuple[FieldError, ...], topic: str | None, clear_names: tuple[str, ...],
             columns: RowColumns | None, now: datetime, withheld: int | None = None) -> dict[str, Any]:
        """The DeadLetter datum; only a database failure of the vault raises. `withheld`: size of a body not read."""
        dead_letter_id = f"dl-{uuid.uuid4().hex}"
        if withheld is not None or not raw:
            description: dict[str, Any] = {"format": "withheld", "content_type": content_type, "bytes": withheld,
                                           "sealed": False}
            values: Any = None
        else:
            plain = raw if columns is None else columns.without_dropped(content_type)
            sealed = SealedRecord(_scrubbed(plain, self.hasher, clear_names), content_type,
                                  columns.header if columns is not None else ())
            expires = self.vault.keep(dead_letter_id, sealed, now)
            description, values = self._describe(raw, content_type, columns)
            description["sealed_until"] = expires.isoformat(timespec="seconds")
        known = tuple(columns.values) if columns is not None else ()
        return {
            "dead_letter_id": dead_letter_id,
            "source": source,
            "intended_topic": topic,
            "raw": describe_bytes(description),
            "content_type": DESCRIPTION_TYPE,
            "reason": code,
            "errors": [{"path": e.path, "message": e.message} for e in self.describer.errors(errors, known, values)],
            "refused_at": now,
        }

    def _describe(self, raw: bytes, content_type: str, columns: RowColumns | None) -> tuple[dict[str, Any], Any]:
        try:
            if columns is not None:
                return self.describer.columns(columns.values, columns.dropped, len(raw), content_type, True), columns.values
            if _is_json(content_type):
                value = parse_json(raw)
                return self.describer.json_value(value, len(raw), content_type, True), value
            return self.describer.unread(raw, content_type, True), None
        except JsonRefused:
            return self.describer.unread(raw, content_type, True), None
        except Exception as exc:  # noqa: BLE001 - a description must never cost the dead letter
            log.error("dead_letter_description_failed", error=type(exc).__name__)
            return {"format": "bytes", "content_type": content_type, "bytes": len(raw), "sealed": True}, None


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json") or content_type == "application/x-ndjson"


def _scrubbed(raw: bytes, hasher: NameHasher, clear_names: tuple[str, ...]) -> bytes:
    try:
        return scrub_raw(raw, hasher, clear_names)
    except Exception as exc:  # noqa: BLE001 - sealed as received rather than lost
        log.error("dead_letter_scrub_failed", error=type(exc).__name__)
        return raw
