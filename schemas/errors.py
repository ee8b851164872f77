"""Errors of the event contract: field-level validation failures, their reason codes, and wire-format failures."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Reason(StrEnum):
    """Machine reason codes of refusals (FieldError.code, JsonRefused.code); the message says it for people."""

    TYPE = "type"  # wrong JSON type (must be a string, an object, ...)
    NULL = "null"  # null in a required field
    REQUIRED = "required"  # a required field is absent (or required by another field's value)
    UNKNOWN_FIELD = "unknown_field"
    EMPTY = "empty"  # an empty string where text is needed
    ENUM = "enum"  # not one of the symbols
    FORMAT = "format"  # not a timestamp, date or base64 as the contract writes them
    PATTERN = "pattern"  # a code or reference that does not fit its format
    UNKNOWN_CODE = "unknown_code"  # not in the code list (force areas)
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    TOO_FEW = "too_few"  # fewer items than the contract needs
    TOO_MANY = "too_many"  # more items than the contract allows
    OUT_OF_RANGE = "out_of_range"  # a number or time outside what can be represented or is allowed
    OUT_OF_WINDOW = "out_of_window"  # an event time too far in the future or the past of now
    CHARACTERS = "characters"  # control, format (bidi, zero-width) or line-separator characters
    ENCODING = "encoding"  # not UTF-8, or a lone surrogate
    TOO_MANY_ERRORS = "too_many_errors"  # the list of problems was cut short
    INVALID = "invalid"  # any other refusal (set by callers outside the validator)
    # the bounded JSON parser's own codes
    TOO_LARGE = "too_large"
    SYNTAX = "syntax"
    TOO_DEEP = "too_deep"
    NUMBER_TOO_LONG = "number_too_long"
    DUPLICATE_KEY = "duplicate_key"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field: `path` like details.conditions[0].kind ("" for the whole record).

    `code` is the machine reason (a Reason value); it is left out of equality, since the message already says
    the same for people, so two errors with the same path and message are the same problem.
    """

    path: str
    message: str
    code: str = field(default=Reason.INVALID.value, compare=False)


class ValidationFailed(ValueError):
    """A JSON-form record broke the contract; `errors` names every bad field, in document order."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = list(errors)
        summary = "; ".join(f"{e.path or '<record>'}: {e.message}" for e in self.errors[:5])
        more = f" (+{len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        super().__init__(f"{len(self.errors)} invalid field(s): {summary}{more}")


class CodecError(ValueError):
    """Bytes could not be framed or read as a Confluent-framed Avro record, or a datum could not be written."""
