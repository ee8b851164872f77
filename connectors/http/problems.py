"""The intake's refusals as RFC 9457 problems: a type per refusal code and per field error code, errors with pointers."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from aiohttp import web

from connectors.intake.codes import TITLES
from runtime.problems import Section, json_pointer, problem, type_uri
from runtime.settings import Settings
from schemas.errors import FieldError, Reason

# Answers of the HTTP intake that are not about a record (no dead letter)
HTTP_TITLES = {
    "UNAUTHENTICATED": "Missing, wrong, revoked, stale or replayed credentials",
    "RATE_LIMITED": "The agency sent more requests than its rate limit allows; retry after Retry-After seconds",
    "UNAVAILABLE": "The intake's own database cannot be reached; retry after Retry-After seconds",
    "BATCH_REFUSED": "No record of the batch was accepted; each result says why",
    "NOT_FOUND": "No such route",
    "METHOD_NOT_ALLOWED": "The route does not take this method",
    "HTTP_ERROR": "The request could not be handled as HTTP",
}
FIELD_TITLES = {
    Reason.TYPE: "A value has the wrong JSON type (a string, an object, ... was expected)",
    Reason.NULL: "null where a value is required",
    Reason.REQUIRED: "A required field is absent (or required by another field's value)",
    Reason.UNKNOWN_FIELD: "A field the contract does not have (names, addresses and narrative cannot slip in)",
    Reason.EMPTY: "An empty string where text is needed",
    Reason.ENUM: "Not one of the field's symbols",
    Reason.FORMAT: "Not a timestamp, date or base64 as the contract writes them",
    Reason.PATTERN: "A code or reference that does not fit its format",
    Reason.UNKNOWN_CODE: "Not in the field's code list (e.g. ONS police force area codes)",
    Reason.TOO_SHORT: "Shorter than the field's form allows",
    Reason.TOO_LONG: "Longer than the field allows",
    Reason.TOO_FEW: "Fewer items than the contract needs",
    Reason.TOO_MANY: "More items than the contract allows",
    Reason.OUT_OF_RANGE: "A number or time outside what can be represented or is allowed",
    Reason.OUT_OF_WINDOW: "An event time too far ahead of or behind now (DRIVE_INTAKE_MAX_AHEAD_H, DRIVE_INTAKE_MAX_AGE_DAYS)",
    Reason.CHARACTERS: "Holds control, format (bidi, zero-width) or line separator characters",
    Reason.ENCODING: "Not UTF-8, or a lone surrogate",
    Reason.TOO_MANY_ERRORS: "More problems than are listed",
    Reason.INVALID: "Refused by the intake for the reason the message gives",
    Reason.TOO_LARGE: "The document is larger than the limit",
    Reason.SYNTAX: "Not valid JSON",
    Reason.TOO_DEEP: "Nested deeper than the limit",
    Reason.NUMBER_TOO_LONG: "A number literal longer than the limit",
    Reason.DUPLICATE_KEY: "An object names the same key twice",
}
REFUSALS = Section("Refusals", "The `code` of an answer, and the `reason` of its dead letter when a record was "
                   "refused: the problem's `type`.", {**{str(c): t for c, t in TITLES.items()}, **HTTP_TITLES})
FIELD_ERRORS = Section("Field errors", "The `code` of each entry of `errors`, beside its `path` (dotted) and "
                       "`pointer` (RFC 6901, into the body sent): each entry's `type`.",
                       {str(c): t for c, t in FIELD_TITLES.items()}, prefix="field-")
SECTIONS = (REFUSALS, FIELD_ERRORS)
PAGE_TITLE = "drive-alerts intake: problem types"


def intake_public_url(settings: Settings) -> str:
    """Where integrators reach the intake: DRIVE_INTAKE_PUBLIC_URL, else its own address."""
    return settings.intake_public_url or f"http://{settings.intake_host}:{settings.intake_port}"


class Problems:
    """Builds the intake's problem answers under one base URL."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def errors(self, errors: Iterable[FieldError], prefix: str = "") -> list[dict[str, str]]:
        """Field errors as answered: the dotted `path` and `message` as before, the RFC 6901 `pointer` into the body
        (`prefix`: where the record is in it), the contract's `code` and its `type`."""
        return [{"path": e.path, "pointer": json_pointer(e.path, prefix), "message": e.message, "code": str(e.code),
                 "type": type_uri(self.base_url, FIELD_ERRORS, str(e.code))} for e in errors]

    def standard(self, code: str, detail: str | None) -> dict[str, Any]:
        """The RFC 9457 members of a refusal code (`title` is the code's, `detail` this occurrence's)."""
        members: dict[str, Any] = {"type": type_uri(self.base_url, REFUSALS, code), "title": REFUSALS.rows[code]}
        return {**members, "detail": detail} if detail else members

    def answer(self, http_status: int, code: str, detail: str | None, members: Mapping[str, Any],
               headers: Mapping[str, str] | None = None) -> web.Response:
        """A problem+json answer with the intake's own members (`status` as a word, `reason`, `code`, ...)."""
        return problem(http_status, {**self.standard(code, detail), **members}, headers)
