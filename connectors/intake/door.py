"""The door's checks of one parsed record: a name it can hash, the contract, the sending agency, a key it can hold."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connectors.intake.codes import RefusalCode
from connectors.intake.outcomes import Origin
from connectors.intake.pseudonymise import NAME_FIELD, NameHasher, name_problem, reduce_record
from connectors.intake.records import record_key
from schemas.admission import Refused, admit, summary
from schemas.jsonform import FieldError, Reason
from schemas.jsonvalues import Limits

MAX_KEY_CHARS = 300  # the journal's key column


@dataclass(frozen=True)
class Admitted:
    """A record that passed the door: names reduced (JSON form), the Avro datum, its Kafka key."""

    record: dict[str, Any]
    datum: Any
    key: str


@dataclass(frozen=True)
class Turned:
    """A record the door refuses: machine code, field errors, human reason."""

    code: str
    errors: tuple[FieldError, ...]
    reason: str


def check(topic: str, record: object, origin: Origin, hasher: NameHasher, limits: Limits, *,
          name_hashed: bool = False) -> Admitted | Turned:
    """Reduce names and check the record; every problem of the record is told at once where it can be."""
    def turned(code: str, errors: tuple[FieldError, ...], reason: str | None = None) -> Turned:
        return Turned(code, errors, reason or summary(errors))

    named = isinstance(record, dict) and NAME_FIELD in record
    bad_name = name_problem(record[NAME_FIELD]) if named else None  # type: ignore[index]
    if bad_name is not None:  # checked with the rest of the record, so that every problem is told at once
        reduced: Any = {k: v for k, v in record.items() if k != NAME_FIELD}  # type: ignore[union-attr]
    else:
        reduced = reduce_record(record, hasher) if isinstance(record, dict) else record
    try:
        datum = admit(topic, record, reduced, name_hashed=name_hashed, now=datetime.now(UTC), limits=limits)
    except Refused as refused:
        errors = (bad_name, *refused.errors) if bad_name is not None else refused.errors
        return turned(refused.code, errors, None if bad_name is not None else refused.reason)
    if bad_name is not None:
        return turned(RefusalCode.VALIDATION_FAILED, (bad_name,))
    if origin.agency is not None and reduced["source"]["agency"] != origin.agency:
        return turned(RefusalCode.AGENCY_MISMATCH,
                      (FieldError("source.agency", f"must be the sending agency {origin.agency!r}"),))
    key = record_key(topic, reduced)
    if len(key) > MAX_KEY_CHARS:
        path = "details.subject_id" if topic == "case" else "person_ids[0].value"
        return turned(RefusalCode.TOO_LONG, (FieldError(
            path, f"too long for a record key ({MAX_KEY_CHARS} characters)", Reason.TOO_LONG),))
    return Admitted(reduced, datum, key)
