"""Synthetic demo data for `drive-alerts demo`: staff, three cases and a multi-agency story, with times relative to now."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

# Development-only keys of the built-in agencies (connectors/http/agencies.dev.yaml); never valid in production.
DEV_KEYS = {"police.demo": "dev-police-demo-key", "court.demo": "dev-court-demo-key",
            "em.demo": "dev-em-demo-key", "drive.casemgmt": "dev-casemgmt-key"}
SYSTEMS = {"police.demo": "niche-rms", "court.demo": "common-platform", "em.demo": "em-hub",
           "drive.casemgmt": "case-management"}
STAFF = (("staff-cm-01", "CASE_MANAGER", "+447700900001", "cm01@drive.example.org"),
         ("staff-cm-02", "CASE_MANAGER", "+447700900002", "cm02@drive.example.org"),
         ("staff-idva-07", "IDVA", "+447700900007", "idva07@idva.example.org"),
         ("staff-idva-09", "IDVA", "+447700900009", "idva09@idva.example.org"),
         ("staff-idva-11", "IDVA", "+447700900011", "idva11@idva.example.org"),
         ("staff-duty-01", "DUTY_MANAGER", "+447700900100", "duty@drive.example.org"),
         # A programme lead holds no case: registered like a case manager, named by DRIVE_WEB_PROGRAMME_LEADS.
         ("staff-lead-01", "CASE_MANAGER", "+447700900200", "lead@drive.example.org"))
PROGRAMME_LEADS = "staff-lead-01"
PNC = {"DRV-0101": "2019/0012345A", "DRV-0102": "2017/0456789C", "DRV-0103": "2021/0777001K"}
EM_SUBJECT, EM_TAG, EM_ZONE = "EMS-3310", "TAG-3310", "ZONE-WM-0042"
EM_FOLDER, EM_EXTRACT = "em-provider", "em_demo_extract.jsonl"
# (subject, rule) of every alert the story must raise; the demo waits until each is delivered.
EXPECTED_ALERTS = frozenset({
    ("DRV-0101", "incident.new"), ("DRV-0101", "release.bail"), ("DRV-0101", "release.custody"),
    ("DRV-0101", "breach.exclusion_zone"), ("DRV-0101", "breach.em_tamper"),
    ("DRV-0102", "breach.no_contact"), ("DRV-0102", "court.hearing_listed"),
    ("DRV-0103", "activity.other_force_area")})


@dataclass(frozen=True)
class Post:
    """One record an agency posts to the HTTP intake, and what the demo says it is."""

    topic: str
    value: dict[str, Any]
    label: str

    @property
    def agency(self) -> str:
        return str(self.value["source"]["agency"])


def iso(moment: datetime) -> str:
    """UTC ISO-8601 with a Z, to the second."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _event(event_id: str, event_type: str, agency: str, person_ids: list[tuple[str, str]], occurred: datetime,
           details: dict[str, Any], recorded: datetime | None = None, **extra: Any) -> dict[str, Any]:
    return {"event_id": event_id, "event_type": event_type,
            "source": {"agency": agency, "system": SYSTEMS[agency]},
            "person_ids": [{"scheme": s, "value": v} for s, v in person_ids],
            "occurred_at": iso(occurred), "recorded_at": iso(recorded or occurred + timedelta(minutes=5)),
            "schema_version": 1, "details": details, **extra}


def _staff(now: datetime) -> list[Post]:
    posts = []
    for staff_id, role, phone, email in STAFF:
        on_call = ([{"starts_at": iso(now - timedelta(days=1)), "ends_at": iso(now + timedelta(days=6))}]
                   if role == "DUTY_MANAGER" else [])
        details = {"staff_id": staff_id, "role": role, "phone_e164": phone, "email": email, "active": True,
                   "on_call": on_call}
        posts.append(Post("case", _event(f"demo-staff-{staff_id}", "STAFF_UPDATED", "drive.casemgmt", [],
                                         now - timedelta(days=30), details), f"staff {staff_id} ({role})"))
    return posts


def _case(now: datetime, subject: str, ids: list[tuple[str, str]], manager: str,
          victims: list[dict[str, Any]], dob: str) -> Post:
    details = {"subject_id": subject, "status": "OPEN", "identifiers": [{"scheme": s, "value": v} for s, v in ids],
               "home_force_area": "E23000014", "case_manager_id": manager, "victims": victims,
               "opened_at": iso(now - timedelta(days=60))}
    return Post("case", _event(f"demo-case-{subject}", "VICTIM_LINKED", "drive.casemgmt",
                               [("DRIVE_SUBJECT", subject)], now - timedelta(days=29), details, date_of_birth=dob),
                f"case {subject}: case manager {manager}, {len(victims)} victim(s)")


def _victim(ref: str, idva: str, persons: tuple[str, ...] = (), zones: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"victim_ref": ref, "idva_id": idva, "protected_person_refs": list(persons),
            "protected_locations": [{"kind": "EM_ZONE", "value": z} for z in zones]}


def registry(now: datetime) -> list[Post]:
    """Staff (case managers, IDVAs, a duty manager on call) and the three open cases."""
    return [*_staff(now),
            _case(now, "DRV-0101", [("PNC", PNC["DRV-0101"]), ("FORCE_NOMINAL", "WM-884211"),
                                    ("EM_SUBJECT", EM_SUBJECT), ("DRIVE_SUBJECT", "DRV-0101")], "staff-cm-01",
                  [_victim("VIC-0101", "staff-idva-07", ("CHILD-0101",), (EM_ZONE,)),
                   _victim("VIC-0102", "staff-idva-09")], "1988-03-14"),
            _case(now, "DRV-0102", [("PNC", PNC["DRV-0102"]), ("COURT_DEFENDANT", "CP-DEF-3302"),
                                    ("DRIVE_SUBJECT", "DRV-0102")], "staff-cm-02",
                  [_victim("VIC-0201", "staff-idva-11")], "1979-07-02"),
            _case(now, "DRV-0103", [("PNC", PNC["DRV-0103"]), ("FORCE_NOMINAL", "WM-901777"),
                                    ("DRIVE_SUBJECT", "DRV-0103")], "staff-cm-01",
                  [_victim("VIC-0301", "staff-idva-09")], "1992-11-30")]


def agency_events(now: datetime) -> list[Post]:
    """Police, court and EM events about the three subjects, plus one about somebody Drive does not work with."""
    h = lambda hours: now - timedelta(hours=hours)  # noqa: E731 - reads as "h(6)" = six hours ago
    a = [("PNC", PNC["DRV-0101"]), ("FORCE_NOMINAL", "WM-884211")]
    b = [("PNC", PNC["DRV-0102"]), ("COURT_DEFENDANT", "CP-DEF-3302")]
    c = [("PNC", PNC["DRV-0103"]), ("FORCE_NOMINAL", "MPS-220077")]
    bail_end = iso(now + timedelta(days=27))
    bail_conditions = [
        {"condition_id": "WM-BAIL-7781-C1", "kind": "NO_CONTACT", "protected_person_ref": "VIC-0101",
         "starts_at": iso(h(6)), "ends_at": bail_end},
        {"condition_id": "WM-BAIL-7781-C2", "kind": "EXCLUSION_ZONE", "location_ref": {"kind": "EM_ZONE", "value": EM_ZONE},
         "starts_at": iso(h(6)), "ends_at": bail_end}]
    order_conditions = [{"condition_id": "NMO-0102-C1", "kind": "NO_CONTACT", "starts_at": iso(h(240)),
                         "protected_person_ref": "VIC-0201"}]
    return [
        Post("incident", _event("demo-wm-inc-0101", "DOMESTIC_INCIDENT", "police.demo", a, h(20), {
            "incident_ref": "WM-INC-55012", "force_area": "E23000014", "victim_refs": ["VIC-0101"],
            "location_ref": {"kind": "POSTCODE_SECTOR", "value": "B15 2"}, "offence_category": "ASSAULT",
            "injury": True, "weapon": False, "children_present": True}), "police: domestic incident (DRV-0101)"),
        Post("incident", _event("demo-wm-arr-0101", "ARREST", "police.demo", a, h(19), {
            "incident_ref": "WM-INC-55012", "force_area": "E23000014", "offence_category": "ASSAULT"}),
             "police: arrest (DRV-0101)"),
        Post("bail", _event("demo-wm-bail-7781", "BAIL_GRANTED", "police.demo", a, h(6), {
            "bail_ref": "WM-BAIL-7781", "bail_kind": "PRE_CHARGE", "conditions": bail_conditions,
            "expires_at": bail_end, "force_area": "E23000014"}),
             "police: bail with no-contact and exclusion zone (DRV-0101)"),
        Post("incident", _event("demo-wm-cus-0101", "CUSTODY_RELEASE", "police.demo", a, h(5.9), {
            "custody_ref": "WM-CUS-99120", "force_area": "E23000014", "release_type": "BAILED"}),
             "police: released from custody on bail (DRV-0101)"),
        Post("court", _event("demo-hmcts-ord-0102", "ORDER_ISSUED", "court.demo", b, h(240), {
            "order_ref": "NMO-2026-0102", "order_type": "NON_MOLESTATION", "court_code": "B2161",
            "conditions": order_conditions, "starts_at": iso(h(240)), "expires_at": iso(now + timedelta(days=170))}),
             "court: non-molestation order (DRV-0102)"),
        Post("breach", _event("demo-wm-brc-0102", "BREACH_REPORTED", "police.demo", b, h(2), {
            "breach_ref": "BR-0102", "condition_kind": "NO_CONTACT", "reported_by": "VICTIM",
            "order_ref": "NMO-2026-0102", "protected_person_ref": "VIC-0201", "force_area": "E23000014"}),
             "police: victim reports contact (DRV-0102)"),
        Post("court", _event("demo-hmcts-list-0102", "HEARING_LISTED", "court.demo", b, h(1), {
            "court_case_ref": "CP-2026-11-0191", "court_code": "B2161", "hearing_at": iso(now + timedelta(days=9)),
            "hearing_type": "FIRST_APPEARANCE"}), "court: hearing listed (DRV-0102)"),
        Post("incident", _event("demo-mps-arr-0103", "ARREST", "police.demo", c, h(3), {
            "force_area": "E23000001", "offence_category": "COERCIVE_CONTROL"}),
             "police (another force): arrest (DRV-0103)"),
        Post("incident", _event("demo-wm-inc-9001", "DOMESTIC_INCIDENT", "police.demo", [("PNC", "2001/0999999Z")],
                                h(4), {"incident_ref": "WM-INC-55101", "force_area": "E23000014",
                                       "victim_refs": ["VIC-9001"],
                                       "offence_category": "HARASSMENT", "injury": False, "weapon": False,
                                       "children_present": False}), "police: incident about someone not on a Drive case"),
    ]


def bad_record(now: datetime) -> Post:
    """A bail record with a timestamp that breaks the contract (422 and a dead letter)."""
    value = _event("demo-wm-bail-bad", "BAIL_GRANTED", "police.demo", [("PNC", PNC["DRV-0101"])], now,
                   {"bail_ref": "WM-BAIL-7790", "bail_kind": "PRE_CHARGE", "conditions": [], "force_area": "E23000014"})
    value["occurred_at"] = "yesterday 14:00"
    return Post("bail", value, "police: a bail record with an unreadable time")


def em_extract_rows(now: datetime) -> list[dict[str, Any]]:
    """The EM provider's JSON-lines extract: a zone entry into the protected zone, then a tag tamper."""
    return [{"alert_id": "DEMO-EMP-77001", "alert_type": "ZONE_IN", "subject_id": EM_SUBJECT, "pnc": PNC["DRV-0101"],
             "at": iso(now - timedelta(minutes=25)), "logged": iso(now - timedelta(minutes=24)), "tag": EM_TAG,
             "zone": EM_ZONE, "force": "E23000014"},
            {"alert_id": "DEMO-EMP-77002", "alert_type": "TAMPER", "subject_id": EM_SUBJECT, "pnc": PNC["DRV-0101"],
             "at": iso(now - timedelta(minutes=10)), "logged": iso(now - timedelta(minutes=9)), "tag": EM_TAG,
             "force": "E23000014"}]
