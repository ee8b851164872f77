"""Conditions in flat extracts: numbered columns (cond1_kind, cond1_person, ...) or a JSON list.

Encoding (documented in connectors/mappings/sample_config/README.md): condition N of a row is the group of
standard fields `<prefix>N_id`, `<prefix>N_kind`, `<prefix>N_person`, `<prefix>N_location`
(`KIND:code`), `<prefix>N_curfew` (`HH:MM-HH:MM`), `<prefix>N_starts`, `<prefix>N_ends`; a group
whose cells are all blank is skipped. Instead, the list field (`conditions`) may hold a JSON list of
objects with the keys id, kind, person, location, curfew, starts, ends. Codes go through the value
map `cond_kind`; a missing id becomes `c<N>`, a missing start the event's occurred_at.
"""
from __future__ import annotations

import re
from typing import Any

from connectors.mappings.fields import RowFields

CONDITION_KINDS = ("NO_CONTACT", "EXCLUSION_ZONE", "CURFEW", "RESIDENCE", "NO_APPROACH_SCHOOL", "OTHER")
SUBFIELDS = ("id", "kind", "person", "location", "curfew", "starts", "ends")
_NEEDS = {"NO_CONTACT": "person", "EXCLUSION_ZONE": "location", "RESIDENCE": "location",
          "NO_APPROACH_SCHOOL": "location", "CURFEW": "curfew"}


def vocabulary(prefix: str, list_field: str) -> frozenset[str]:
    """The standard field names of one condition list (numbered templates plus the JSON list field)."""
    return frozenset({list_field, *(f"{prefix}{{n}}_{sub}" for sub in SUBFIELDS)})


def read_conditions(fields: RowFields, prefix: str, list_field: str, default_start: str | None) -> list[dict]:
    """All conditions of a row, from the JSON list field or the numbered column groups."""
    groups: list[tuple[str, RowFields]] = []
    as_json = fields.json_list(list_field)
    if as_json is not None:
        for index, item in enumerate(as_json):
            where = f"{fields.path(list_field)}[{index}]"
            groups.append((f"c{index + 1}", _sub_fields(fields, item, {s: f"{where}.{s}" for s in item})))
    for number in _numbers(fields.values, prefix):
        names = {sub: f"{prefix}{number}_{sub}" for sub in SUBFIELDS}
        values = {sub: fields.values.get(std) for sub, std in names.items()}
        if all(v in (None, "") for v in values.values()):
            continue
        groups.append((f"c{number}", _sub_fields(fields, values, {s: fields.path(n) for s, n in names.items()})))
    return [c for c in (_condition(sub, cid, default_start, fields) for cid, sub in groups) if c is not None]


def _numbers(values: dict[str, Any], prefix: str) -> list[int]:
    pattern = re.compile(rf"^{re.escape(prefix)}(\d+)_({'|'.join(SUBFIELDS)})$")
    return sorted({int(m.group(1)) for name in values if (m := pattern.match(name))})


def _sub_fields(parent: RowFields, values: dict[str, Any], paths: dict[str, str]) -> RowFields:
    sub = RowFields(parent.mapping, values, paths)
    sub.errors = parent.errors  # one error list per row
    return sub


def _condition(sub: RowFields, default_id: str, default_start: str | None, parent: RowFields) -> dict | None:
    before = len(parent.errors)
    kind = sub.code("kind", CONDITION_KINDS, map_name="cond_kind")
    condition: dict[str, Any] = {"condition_id": sub.text("id", required=False) or default_id, "kind": kind}
    person = sub.text("person", required=False)
    location = sub.location("location")
    curfew = sub.hhmm_pair("curfew", required=False)
    starts = sub.timestamp("starts", required=False) or default_start
    ends = sub.timestamp("ends", required=False)
    if kind in _NEEDS and not sub.present(_NEEDS[kind]):
        sub.fail(_NEEDS[kind], f"required for a {kind} condition")
    if len(parent.errors) > before:
        return None
    for key, value in (("protected_person_ref", person), ("location_ref", location), ("curfew", curfew),
                       ("starts_at", starts), ("ends_at", ends)):
        if value is not None:
            condition[key] = value
    return condition
