"""Errors of the event contract: field-level validation failures and wire-format decoding failures."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field: `path` like details.conditions[0].kind ("" for the whole record)."""

    path: str
    message: str


class ValidationFailed(ValueError):
    """A JSON-form record broke the contract; `errors` names every bad field, in document order."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = list(errors)
        summary = "; ".join(f"{e.path or '<record>'}: {e.message}" for e in self.errors[:5])
        more = f" (+{len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        super().__init__(f"{len(self.errors)} invalid field(s): {summary}{more}")


class CodecError(ValueError):
    """Bytes could not be framed or read as a Confluent-framed Avro record, or a datum could not be written."""
