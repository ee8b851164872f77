"""The intake's refusal codes (a dead letter's reason, an answer's `code`), each with its title; the parser's as ours."""
from __future__ import annotations

from enum import StrEnum

from schemas.admission import NOT_AN_OBJECT, UNKNOWN_TOPIC, VALIDATION_FAILED
from schemas.errors import Reason


class RefusalCode(StrEnum):
    """Why the door refused a record (or a whole body): the dead letter's `reason`, the HTTP answer's `code`."""

    UNPARSEABLE = "UNPARSEABLE"
    NOT_UTF8 = "NOT_UTF8"
    TOO_DEEP = "TOO_DEEP"
    TOO_LONG = "TOO_LONG"
    TOO_LARGE = "TOO_LARGE"
    DUPLICATE_KEY = "DUPLICATE_KEY"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    BAD_CHARACTER = "BAD_CHARACTER"
    NOT_AN_OBJECT = NOT_AN_OBJECT
    UNKNOWN_TOPIC = UNKNOWN_TOPIC
    NOT_ALLOWED = "NOT_ALLOWED"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    VALIDATION_FAILED = VALIDATION_FAILED
    AGENCY_MISMATCH = "AGENCY_MISMATCH"
    EVENT_ID_CONFLICT = "EVENT_ID_CONFLICT"
    MAPPING_FAILED = "MAPPING_FAILED"
    PROCESSING_FAILED = "PROCESSING_FAILED"


TITLES: dict[RefusalCode, str] = {
    RefusalCode.UNPARSEABLE: "The body, line or row cannot be read as JSON or CSV",
    RefusalCode.NOT_UTF8: "The bytes are not UTF-8 text, or a string holds a lone surrogate",
    RefusalCode.TOO_DEEP: "JSON nested deeper than the limit",
    RefusalCode.TOO_LONG: "A string, number, cell or record key is longer than the limit",
    RefusalCode.TOO_LARGE: "The body or batch is larger than the limit",
    RefusalCode.DUPLICATE_KEY: "A JSON object names the same key twice",
    RefusalCode.OUT_OF_RANGE: "A JSON number is not a finite number a double can hold",
    RefusalCode.BAD_CHARACTER: "A cell holds a control, bidirectional or zero-width character",
    RefusalCode.NOT_AN_OBJECT: "The body or record is not a JSON object",
    RefusalCode.UNKNOWN_TOPIC: "The topic is not a source topic",
    RefusalCode.NOT_ALLOWED: "The agency may not send this topic or event type",
    RefusalCode.UNSUPPORTED_MEDIA_TYPE: "The body is not application/json",
    RefusalCode.VALIDATION_FAILED: "The record breaks the event contract",
    RefusalCode.AGENCY_MISMATCH: "source.agency is not the sending agency",
    RefusalCode.EVENT_ID_CONFLICT: "The agency already used this event_id for a different record",
    RefusalCode.MAPPING_FAILED: "The row does not fit its feed mapping",
    RefusalCode.PROCESSING_FAILED: "The intake could not process the record; it is kept for the operators",
}

# The bounded parser's reasons (schemas.jsonparse) as the intake's codes; the field error keeps the parser's own.
PARSER_CODES: dict[Reason, RefusalCode] = {
    Reason.SYNTAX: RefusalCode.UNPARSEABLE,
    Reason.ENCODING: RefusalCode.NOT_UTF8,
    Reason.TOO_DEEP: RefusalCode.TOO_DEEP,
    Reason.TOO_LONG: RefusalCode.TOO_LONG,
    Reason.NUMBER_TOO_LONG: RefusalCode.TOO_LONG,
    Reason.TOO_LARGE: RefusalCode.TOO_LARGE,
    Reason.DUPLICATE_KEY: RefusalCode.DUPLICATE_KEY,
    Reason.OUT_OF_RANGE: RefusalCode.OUT_OF_RANGE,
}


def parser_code(reason: str) -> RefusalCode:
    """The intake's code of a parser refusal (UNPARSEABLE for a reason the parser does not give today)."""
    return PARSER_CODES.get(reason, RefusalCode.UNPARSEABLE)  # type: ignore[call-overload] - a StrEnum key is its text
