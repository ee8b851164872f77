"""Police feeds (RMS incidents, arrests, custody, charging, police bail, reported breaches) -> incident/bail/breach.

Standard vocabulary beyond the envelope: incident_ref, force_area, victim_refs (list),
location (+ location_kind), offence_category, injury, weapon, children_present, risk_level,
custody_ref, release_type, decision, bail_ref, bail_kind, expires_at, court_code, remanded, until,
breach_ref, condition_kind, condition_id, order_ref, reported_by, protected_person_ref, and the
condition groups cond{n}_* / conditions and prev{n}_* / previous_conditions.
"""
from __future__ import annotations

from typing import Callable

from connectors.mappings.common import OFFENCE_CATEGORIES, optional
from connectors.mappings.conditions import CONDITION_KINDS, read_conditions
from connectors.mappings.conditions import vocabulary as condition_vocabulary
from connectors.mappings.fields import RowFields

VOCABULARY = frozenset({
    "incident_ref", "force_area", "victim_refs", "location", "location_kind", "offence_category", "injury",
    "weapon", "children_present", "risk_level", "custody_ref", "release_type", "decision", "bail_ref",
    "bail_kind", "expires_at", "court_code", "remanded", "until", "breach_ref", "condition_kind",
    "condition_id", "order_ref", "reported_by", "protected_person_ref",
}) | condition_vocabulary("cond", "conditions") | condition_vocabulary("prev", "previous_conditions")


def domestic_incident(f: RowFields) -> dict:
    """DOMESTIC_INCIDENT: a domestic abuse incident reported or attended."""
    details = {"incident_ref": f.text("incident_ref"), "force_area": f.text("force_area"),
               "victim_refs": f.items("victim_refs"),
               "offence_category": f.code("offence_category", OFFENCE_CATEGORIES),
               "injury": f.flag("injury"), "weapon": f.flag("weapon"), "children_present": f.flag("children_present")}
    return optional(details, location_ref=f.location("location"),
                    risk_level=f.code("risk_level", ("STANDARD", "MEDIUM", "HIGH"), required=False))


def arrest(f: RowFields) -> dict:
    """ARREST: the person was arrested."""
    details = {"force_area": f.text("force_area"), "offence_category": f.code("offence_category", OFFENCE_CATEGORIES)}
    return optional(details, incident_ref=f.text("incident_ref", required=False))


def custody_release(f: RowFields) -> dict:
    """CUSTODY_RELEASE: released from police custody (bailed, under investigation, NFA, charged)."""
    return {"custody_ref": f.text("custody_ref"), "force_area": f.text("force_area"),
            "release_type": f.code("release_type", ("BAILED", "RELEASED_UNDER_INVESTIGATION", "NO_FURTHER_ACTION",
                                                    "CHARGED_REMANDED", "OTHER"))}


def charge_decision(f: RowFields) -> dict:
    """CHARGE_DECISION: charged, NFA, further investigation or caution."""
    details = {"force_area": f.text("force_area"),
               "decision": f.code("decision", ("CHARGED", "NO_FURTHER_ACTION", "FURTHER_INVESTIGATION", "CAUTION")),
               "offence_category": f.code("offence_category", OFFENCE_CATEGORIES)}
    return optional(details, incident_ref=f.text("incident_ref", required=False))


def bail_granted(f: RowFields, default_kind: str = "PRE_CHARGE") -> dict:
    """BAIL_GRANTED: bail with its conditions (police bail from custody unless bail_kind says COURT)."""
    kind = f.code("bail_kind", ("PRE_CHARGE", "COURT"), required=False) or default_kind
    details = {"bail_ref": f.text("bail_ref"), "bail_kind": kind,
               "conditions": read_conditions(f, "cond", "conditions", f.occurred_at)}
    return optional(details, expires_at=f.timestamp("expires_at", required=False),
                    force_area=f.text("force_area", required=False), court_code=f.text("court_code", required=False))


def bail_varied(f: RowFields) -> dict:
    """BAIL_VARIED: bail conditions changed (old and new lists)."""
    start = f.occurred_at
    details = {"bail_ref": f.text("bail_ref"),
               "previous_conditions": read_conditions(f, "prev", "previous_conditions", start),
               "conditions": read_conditions(f, "cond", "conditions", start)}
    return optional(details, expires_at=f.timestamp("expires_at", required=False))


def bail_revoked(f: RowFields) -> dict:
    """BAIL_REVOKED: bail withdrawn, with or without remand."""
    return {"bail_ref": f.text("bail_ref"), "remanded": f.flag("remanded")}


def bail_expired(f: RowFields) -> dict:
    """BAIL_EXPIRED: bail ran out."""
    return {"bail_ref": f.text("bail_ref")}


def released_under_investigation(f: RowFields) -> dict:
    """RELEASED_UNDER_INVESTIGATION: released from custody without bail, investigation continuing."""
    return optional({"force_area": f.text("force_area")}, bail_ref=f.text("bail_ref", required=False))


def remanded(f: RowFields) -> dict:
    """REMANDED: remanded in custody."""
    return optional({}, bail_ref=f.text("bail_ref", required=False), court_code=f.text("court_code", required=False),
                    until=f.timestamp("until", required=False))


def breach_reported(f: RowFields) -> dict:
    """BREACH_REPORTED: a breach of a condition reported to the police."""
    details = {"breach_ref": f.text("breach_ref"), "condition_kind": f.code("condition_kind", CONDITION_KINDS,
                                                                             map_name="cond_kind"),
               "reported_by": f.code("reported_by", ("VICTIM", "POLICE", "PROBATION", "EM_PROVIDER", "OTHER"))}
    return optional(details, condition_id=f.text("condition_id", required=False),
                    bail_ref=f.text("bail_ref", required=False), order_ref=f.text("order_ref", required=False),
                    protected_person_ref=f.text("protected_person_ref", required=False),
                    location_ref=f.location("location"), force_area=f.text("force_area", required=False))


DETAILS: dict[str, Callable[[RowFields], dict]] = {
    "DOMESTIC_INCIDENT": domestic_incident,
    "ARREST": arrest,
    "CUSTODY_RELEASE": custody_release,
    "CHARGE_DECISION": charge_decision,
    "BAIL_GRANTED": bail_granted,
    "BAIL_VARIED": bail_varied,
    "BAIL_REVOKED": bail_revoked,
    "BAIL_EXPIRED": bail_expired,
    "RELEASED_UNDER_INVESTIGATION": released_under_investigation,
    "REMANDED": remanded,
    "BREACH_REPORTED": breach_reported,
}
