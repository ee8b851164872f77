"""Typed alerts and staff registry records for the delivery tests, built from the shared JSON samples."""
from __future__ import annotations

from typing import Any

from schemas.events import Alert, StaffMember
from schemas.jsonform import from_json
from tests.samples.events import sample

CM, IDVA, DM = "staff-cm-01", "staff-idva-07", "staff-dm-01"
PHONES = {CM: "+447700900001", IDVA: "+447700900007", DM: "+447700900123"}
EMAILS = {CM: "cm01@drive.example.org", IDVA: "idva07@drive.example.org", DM: "dm01@drive.example.org"}
ROLES = {CM: "CASE_MANAGER", IDVA: "IDVA", DM: "DUTY_MANAGER"}
SHIFT = [{"starts_at": "2026-11-22T08:00:00Z", "ends_at": "2026-11-22T20:00:00Z"}]


def alert(**overrides: Any) -> Alert:
    """A valid Alert (the shared sample, a fresh alert_id) with JSON-form overrides."""
    return Alert.from_datum(from_json("alert", sample("alert", **overrides)))


def staff_event(staff_id: str, **details: Any) -> dict[str, Any]:
    """A STAFF_UPDATED case event (JSON form) for one of the sample staff, details overridable."""
    values = {"staff_id": staff_id, "role": ROLES.get(staff_id, "CASE_MANAGER"), "phone_e164": PHONES.get(staff_id),
              "email": EMAILS.get(staff_id), "active": True, "on_call": SHIFT if staff_id == DM else []}
    values.update(details)
    record = sample("case", "STAFF_UPDATED")
    record["details"] = {k: v for k, v in values.items() if v is not None}
    return record


def staff_member(staff_id: str, **details: Any) -> StaffMember:
    """The typed StaffMember of staff_event(staff_id, **details)."""
    return StaffMember.from_datum(from_json("case", staff_event(staff_id, **details))["details"])


def sample_alert_record(**overrides: Any) -> dict[str, Any]:
    """The JSON form of a sample alert with a fresh alert_id (for publishing on the alert topic)."""
    return sample("alert", **overrides)
