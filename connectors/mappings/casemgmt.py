"""Drive case-management feeds (case registry snapshots and staff records) -> case.

Standard vocabulary beyond the envelope: subject_id, status, identifiers (list of SCHEME:value),
home_force_area, case_manager_id, opened_at, closed_at, victims (JSON list of objects with ref,
idva, persons, locations) or numbered victim{n}_ref, victim{n}_idva, victim{n}_persons (list),
victim{n}_locations (list of KIND:code); for staff: staff_id, role, phone_e164, email, active,
on_call (list of '<start>..<end>' timestamps). Every case row is the whole current case entry.
"""
from __future__ import annotations

import re
from typing import Any, Callable

from connectors.mappings.common import PERSON_ID_FIELDS, optional
from connectors.mappings.fields import RowFields

SCHEMES = tuple(PERSON_ID_FIELDS.values())
_VICTIM_SUBFIELDS = ("ref", "idva", "persons", "locations")

VOCABULARY = frozenset({
    "subject_id", "status", "identifiers", "home_force_area", "case_manager_id", "opened_at", "closed_at",
    "victims", *(f"victim{{n}}_{sub}" for sub in _VICTIM_SUBFIELDS),
    "staff_id", "role", "phone_e164", "email", "active", "on_call",
})


def case_snapshot(f: RowFields) -> dict:
    """CASE_* events: the whole current registry entry of a Drive case."""
    closed = "CLOSED" if f.event_type == "CASE_CLOSED" else "OPEN"
    details = {"subject_id": f.text("subject_id"),
               "status": f.code("status", ("OPEN", "CLOSED"), required=False) or closed,
               "identifiers": _identifiers(f), "home_force_area": f.text("home_force_area"),
               "case_manager_id": f.text("case_manager_id"), "victims": _victims(f),
               "opened_at": f.timestamp("opened_at")}
    return optional(details, closed_at=f.timestamp("closed_at", required=False))


def staff_member(f: RowFields) -> dict:
    """STAFF_UPDATED: a case manager's, IDVA's or duty manager's current record."""
    details = {"staff_id": f.text("staff_id"), "role": f.code("role", ("CASE_MANAGER", "IDVA", "DUTY_MANAGER")),
               "active": f.flag("active"), "on_call": _shifts(f)}
    return optional(details, phone_e164=f.text("phone_e164", required=False),
                    email=f.text("email", required=False))


def case_person_ids(f: RowFields) -> list[dict[str, str]]:
    """Case events are about the Drive subject: its id is the first person identifier."""
    subject = f.values.get("subject_id")
    return [{"scheme": "DRIVE_SUBJECT", "value": str(subject).strip()}] if subject else []


def _identifiers(f: RowFields) -> list[dict[str, str]]:
    found = []
    for item in f.items("identifiers"):
        scheme, sep, value = item.partition(":")
        scheme = f.mapping.values.get("scheme", {}).get(scheme.strip(), scheme.strip())
        if not sep or scheme not in SCHEMES or not value.strip():
            f.fail("identifiers", f"each identifier must be SCHEME:value with SCHEME one of {', '.join(SCHEMES)}")
            continue
        found.append({"scheme": scheme, "value": value.strip()})
    return found


def _victims(f: RowFields) -> list[dict]:
    groups: list[tuple[dict[str, Any], dict[str, str]]] = []
    for index, item in enumerate(f.json_list("victims") or []):
        groups.append((item, {s: f"{f.path('victims')}[{index}].{s}" for s in item}))
    pattern = re.compile(r"^victim(\d+)_(ref|idva|persons|locations)$")
    for number in sorted({int(m.group(1)) for name in f.values if (m := pattern.match(name))}):
        names = {sub: f"victim{number}_{sub}" for sub in _VICTIM_SUBFIELDS}
        values = {sub: f.values.get(std) for sub, std in names.items()}
        if any(v not in (None, "") for v in values.values()):
            groups.append((values, {sub: f.path(std) for sub, std in names.items()}))
    return [v for v in (_victim(f, values, paths) for values, paths in groups) if v is not None]


def _victim(parent: RowFields, values: dict[str, Any], paths: dict[str, str]) -> dict | None:
    sub = RowFields(parent.mapping, values, paths)
    sub.errors = parent.errors
    before = len(parent.errors)
    victim = {"victim_ref": sub.text("ref"), "protected_person_refs": sub.items("persons"),
              "protected_locations": [sub.location_text("locations", item) for item in sub.items("locations")]}
    optional(victim, idva_id=sub.text("idva", required=False))
    return victim if len(parent.errors) == before else None


def _shifts(f: RowFields) -> list[dict[str, str]]:
    shifts = []
    for index, item in enumerate(f.items("on_call")):
        start, sep, end = item.partition("..")
        sub = RowFields(f.mapping, {"starts": start, "ends": end}, {k: f"{f.path('on_call')}[{index}]"
                                                                     for k in ("starts", "ends")})
        sub.errors = f.errors
        if not sep:
            sub.fail("starts", "each on-call shift must be <start>..<end>")
            continue
        starts, ends = sub.timestamp("starts"), sub.timestamp("ends")
        if starts and ends:
            shifts.append({"starts_at": starts, "ends_at": ends})
    return shifts


DETAILS: dict[str, Callable[[RowFields], dict]] = {
    **{event_type: case_snapshot for event_type in ("CASE_OPENED", "IDENTIFIERS_ADDED", "VICTIM_LINKED",
                                                    "VICTIM_UNLINKED", "WORKER_ASSIGNED", "CASE_CLOSED")},
    "STAFF_UPDATED": staff_member,
}
