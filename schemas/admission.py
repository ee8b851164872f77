"""The door's contract checks of one record, in one place for the intake and the replay oracle.

A record is admitted when its topic is a source topic, it is a JSON object, it does not carry a name hash of
its own (integrators send person_name, which the door hashes), and its name-reduced form passes the contract.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from schemas.catalogue import SOURCE_TOPICS
from schemas.errors import FieldError, Reason, ValidationFailed
from schemas.jsonform import DEFAULT_LIMITS, from_json
from schemas.jsonvalues import Limits

NAME_HASH_FIELD = "name_hash"
UNKNOWN_TOPIC, NOT_AN_OBJECT, VALIDATION_FAILED = "UNKNOWN_TOPIC", "NOT_AN_OBJECT", "VALIDATION_FAILED"


class Refused(ValueError):
    """A record the door refuses: `code` (the dead letter's reason), the field `errors`, a one-line `reason`."""

    def __init__(self, code: str, errors: Iterable[FieldError], reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.errors = tuple(errors)
        self.reason = reason


def summary(errors: Iterable[FieldError]) -> str:
    """One line naming the first three bad fields and how many there are."""
    errors = list(errors)
    shown = "; ".join(f"{e.path or '(record)'}: {e.message}" for e in errors[:3])
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return f"{len(errors)} invalid field(s): {shown}{more}"


def admit(topic: str, record: object, reduced: Any, *, name_hashed: bool = False, now: datetime | None = None,
          limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """The datum of a record as the door accepts it; raises Refused (and nothing else) for anything it refuses.

    `reduced` is the record with person_name already replaced by name_hash (how names are hashed is the door's
    business, not the contract's). `name_hashed`: the record legitimately carries name_hash (a dead letter
    replayed after its names were hashed). `now` and `limits`: the event-time window, as for jsonform.from_json.
    """
    if topic not in SOURCE_TOPICS:
        reason = "unknown topic"  # the name is not echoed: a topic from a URL may be anything
        raise Refused(UNKNOWN_TOPIC, (FieldError("", reason, Reason.INVALID),), reason)
    if not isinstance(record, dict):
        error = FieldError("", "must be a JSON object", Reason.TYPE)
        raise Refused(NOT_AN_OBJECT, (error,), "record is not a JSON object")
    if NAME_HASH_FIELD in record and not name_hashed:
        error = FieldError(NAME_HASH_FIELD, "must not be sent: send person_name, it is hashed at the door",
                           Reason.UNKNOWN_FIELD)
        raise Refused(VALIDATION_FAILED, (error,), summary([error]))
    try:
        return from_json(topic, reduced, now=now, limits=limits)
    except ValidationFailed as exc:
        raise Refused(VALIDATION_FAILED, exc.errors, summary(exc.errors)) from None
