"""Court and prison feeds (listings, outcomes, protective orders, warrants, court bail, prison release) -> court/bail.

Standard vocabulary beyond the envelope: court_case_ref, court_code, hearing_at, hearing_type,
outcome, sentence_category, next_hearing_at, order_ref, order_type, starts_at, expires_at,
warrant_reason, prison_code, release_type, licence_expires_at, bail_ref, bail_kind, remanded,
until, and the condition groups cond{n}_* / conditions (order or licence conditions) and
prev{n}_* / previous_conditions.
"""
from __future__ import annotations

from typing import Callable

from connectors.mappings import police
from connectors.mappings.common import optional
from connectors.mappings.conditions import read_conditions
from connectors.mappings.conditions import vocabulary as condition_vocabulary
from connectors.mappings.fields import RowFields

ORDER_TYPES = ("DVPN", "DVPO", "DAPO", "NON_MOLESTATION", "RESTRAINING", "STALKING_PROTECTION", "OTHER")

VOCABULARY = frozenset({
    "court_case_ref", "court_code", "hearing_at", "hearing_type", "outcome", "sentence_category",
    "next_hearing_at", "order_ref", "order_type", "starts_at", "expires_at", "warrant_reason", "prison_code",
    "release_type", "licence_expires_at", "bail_ref", "bail_kind", "remanded", "until", "force_area",
}) | condition_vocabulary("cond", "conditions") | condition_vocabulary("prev", "previous_conditions")


def hearing_listed(f: RowFields) -> dict:
    """HEARING_LISTED: a hearing was listed for a date at a court."""
    return {"court_case_ref": f.text("court_case_ref"), "court_code": f.text("court_code"),
            "hearing_at": f.timestamp("hearing_at"),
            "hearing_type": f.code("hearing_type", ("FIRST_APPEARANCE", "PLEA", "TRIAL", "SENTENCE", "REVIEW",
                                                    "OTHER"))}


def court_outcome(f: RowFields) -> dict:
    """COURT_OUTCOME: what the court decided, with the sentence category and next hearing if any."""
    details = {"court_case_ref": f.text("court_case_ref"), "court_code": f.text("court_code"),
               "outcome": f.code("outcome", ("ADJOURNED", "CONVICTED", "ACQUITTED", "SENTENCED", "REMANDED",
                                             "RELEASED", "DISMISSED"))}
    return optional(details, sentence_category=f.code("sentence_category", ("CUSTODY", "SUSPENDED", "COMMUNITY",
                                                                            "FINE", "DISCHARGE"), required=False),
                    next_hearing_at=f.timestamp("next_hearing_at", required=False))


def order_issued(f: RowFields) -> dict:
    """ORDER_ISSUED: a protective order with its conditions."""
    starts = f.timestamp("starts_at", required=False) or f.occurred_at
    details = {"order_ref": f.text("order_ref"), "order_type": f.code("order_type", ORDER_TYPES),
               "conditions": read_conditions(f, "cond", "conditions", starts), "starts_at": starts}
    return optional(details, court_code=f.text("court_code", required=False),
                    expires_at=f.timestamp("expires_at", required=False))


def order_varied(f: RowFields) -> dict:
    """ORDER_VARIED: a protective order's conditions changed (old and new lists)."""
    details = {"order_ref": f.text("order_ref"), "order_type": f.code("order_type", ORDER_TYPES),
               "previous_conditions": read_conditions(f, "prev", "previous_conditions", f.occurred_at),
               "conditions": read_conditions(f, "cond", "conditions", f.occurred_at)}
    return optional(details, expires_at=f.timestamp("expires_at", required=False))


def order_ended(f: RowFields) -> dict:
    """ORDER_DISCHARGED / ORDER_EXPIRED: a protective order no longer protects."""
    return {"order_ref": f.text("order_ref"), "order_type": f.code("order_type", ORDER_TYPES)}


def warrant_issued(f: RowFields) -> dict:
    """WARRANT_ISSUED: a warrant, e.g. for failing to appear."""
    details = {"court_code": f.text("court_code"),
               "reason": f.code("warrant_reason", ("FAILED_TO_APPEAR", "BREACH", "OTHER"))}
    return optional(details, court_case_ref=f.text("court_case_ref", required=False))


def prison_release(f: RowFields) -> dict:
    """PRISON_RELEASE: released from prison, with licence conditions."""
    details = {"prison_code": f.text("prison_code"),
               "release_type": f.code("release_type", ("LICENCE", "END_OF_SENTENCE", "HOME_DETENTION_CURFEW",
                                                       "ON_BAIL", "OTHER")),
               "licence_conditions": read_conditions(f, "cond", "conditions", f.occurred_at)}
    return optional(details, licence_expires_at=f.timestamp("licence_expires_at", required=False))


DETAILS: dict[str, Callable[[RowFields], dict]] = {
    "HEARING_LISTED": hearing_listed,
    "COURT_OUTCOME": court_outcome,
    "ORDER_ISSUED": order_issued,
    "ORDER_VARIED": order_varied,
    "ORDER_DISCHARGED": order_ended,
    "ORDER_EXPIRED": order_ended,
    "WARRANT_ISSUED": warrant_issued,
    "PRISON_RELEASE": prison_release,
    "BAIL_GRANTED": lambda f: police.bail_granted(f, default_kind="COURT"),
    "BAIL_VARIED": police.bail_varied,
    "BAIL_REVOKED": police.bail_revoked,
    "REMANDED": police.remanded,
}
