"""The standard vocabulary every source kind shares: the envelope's fields and the person identifiers."""
from __future__ import annotations

from connectors.mappings.fields import RowFields

# standard field -> PersonId scheme; a row's identifiers are listed in this order.
PERSON_ID_FIELDS: dict[str, str] = {
    "pnc": "PNC",
    "force_nominal": "FORCE_NOMINAL",
    "court_defendant": "COURT_DEFENDANT",
    "probation_crn": "PROBATION_CRN",
    "prison_number": "PRISON_NUMBER",
    "em_subject": "EM_SUBJECT",
    "drive_subject": "DRIVE_SUBJECT",
    "other_id": "OTHER",
}

# record_ref: the agency's own id of the row, the usual record key of a deterministic event id.
ENVELOPE_FIELDS = frozenset({"event_id", "record_ref", "person_name", "date_of_birth", "occurred_at", "recorded_at",
                             "source_system", *PERSON_ID_FIELDS})

OFFENCE_CATEGORIES = ("ASSAULT", "CRIMINAL_DAMAGE", "HARASSMENT", "STALKING", "COERCIVE_CONTROL", "THREATS",
                      "SEXUAL", "BREACH_OF_ORDER", "OTHER")


def person_ids(fields: RowFields) -> list[dict[str, str]]:
    """The row's agency person identifiers, one per identifier field present."""
    found = []
    for name, scheme in PERSON_ID_FIELDS.items():
        value = fields.text(name, required=False)
        if value is not None:
            found.append({"scheme": scheme, "value": value})
    return found


def optional(details: dict, **values: object) -> dict:
    """Add the optional details fields that have a value (absent otherwise, as the JSON form wants)."""
    details.update({key: value for key, value in values.items() if value is not None})
    return details
