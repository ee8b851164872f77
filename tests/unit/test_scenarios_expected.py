"""What each shipped scenario must print: the rule of every alert and its recipients (staff_id, victim_ref)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SCENARIOS_DIR = Path(__file__).resolve().parents[2] / "streams" / "scenarios"

CM = ("staff-cm-01", None)
IDVA_V1 = ("staff-idva-07", "VIC-0001")
IDVA_V2 = ("staff-idva-09", "VIC-0002")
EVERYONE = frozenset({CM, IDVA_V1, IDVA_V2})
ABOUT_V1 = frozenset({CM, IDVA_V1})
ABOUT_V2 = frozenset({CM, IDVA_V2})
MANAGER = frozenset({CM})
NEW_IDVA_V1 = ("staff-idva-09", "VIC-0001")

Outcome = list[tuple[str, frozenset[tuple[str, str | None]]]]

EXPECTED: dict[str, Outcome] = {
    # Acknowledgement and escalation (tests/integration/test_replay_acks.py checks the ledger each one leaves).
    "ack-by-both-recipients": [("breach.no_contact", ABOUT_V1)],
    "ack-by-case-manager-only": [("breach.no_contact", ABOUT_V1)],
    "ack-on-behalf-by-duty-manager": [("breach.no_contact", ABOUT_V1)],
    "ack-unacknowledged-critical-escalates": [("breach.no_contact", ABOUT_V1)],
    "activity-other-force-area": [("activity.other_force_area", MANAGER), ("release.custody", EVERYONE),
                                  ("activity.other_force_area", MANAGER)],
    "breach-after-condition-ended": [("breach.no_contact", ABOUT_V1)],  # the report after the order ended: nothing
    "breach-curfew": [("release.bail", EVERYONE), ("breach.curfew", EVERYONE)],
    "breach-exclusion-zone": [("breach.exclusion_zone", ABOUT_V1)],
    "breach-late-bail-record": [("release.bail", EVERYONE), ("breach.no_contact", ABOUT_V1)],  # no unverified
    "breach-no-contact": [("breach.no_contact", ABOUT_V1)],
    "breach-other-residence": [("release.bail", EVERYONE), ("breach.other", EVERYONE)],
    "breach-school": [("breach.school", ABOUT_V1)],
    "breach-unverified": [("breach.unverified", MANAGER)],
    "conditions-varied-tightened": [("release.bail", EVERYONE), ("conditions.varied", MANAGER)],  # no weakening
    "conditions-weakened-bail-varied": [("release.bail", EVERYONE), ("conditions.weakened", ABOUT_V1)],
    "conditions-weakened-curfew-hours-cut": [("release.bail", EVERYONE), ("conditions.weakened", EVERYONE)],
    "conditions-weakened-nfa": [("conditions.weakened", EVERYONE)],
    "conditions-weakened-no-contact-narrowed": [("conditions.weakened", ABOUT_V2)],
    "conditions-weakened-order-discharged": [("conditions.weakened", ABOUT_V2)],
    "conditions-weakened-order-expired": [("conditions.weakened", ABOUT_V1)],
    "conditions-weakened-reporting-dropped": [("release.bail", EVERYONE), ("conditions.weakened", EVERYONE)],
    "conditions-weakened-residence-removed": [("release.bail", EVERYONE), ("conditions.weakened", EVERYONE)],
    "conditions-weakened-zone-moved": [("conditions.weakened", ABOUT_V1)],
    "court-hearing-listed": [("court.hearing_listed", EVERYONE)],
    "court-outcome": [("court.outcome", EVERYONE)],
    "demo-multi-agency": [("incident.new", ABOUT_V1), ("release.bail", EVERYONE), ("release.custody", EVERYONE),
                          ("breach.exclusion_zone", ABOUT_V1), ("court.hearing_listed", EVERYONE)],
    "em-tamper": [("breach.em_tamper", EVERYONE), ("breach.em_tamper", EVERYONE)],  # the flapping signal: once
    "em-zone-flapping": [("breach.exclusion_zone", ABOUT_V1), ("breach.exclusion_zone", ABOUT_V1)],
    "escalation-frequency": [("incident.new", ABOUT_V1)] * 3 + [("escalation.frequency", EVERYONE)],
    "escalation-severity": [("incident.new", ABOUT_V2), ("incident.new", ABOUT_V2), ("escalation.severity", EVERYONE)],
    "expiry-bail": [("release.bail", EVERYONE), ("expiry.upcoming", ABOUT_V1)],
    "expiry-order": [("expiry.upcoming", ABOUT_V2)],
    "identity-possible-match": [("identity.possible_match", MANAGER)],
    # "TESTSUBJECT,  Aléxis Marie" from another force: comma form, capitals, a mark, a middle name, two spaces
    "identity-names-as-written": [("identity.possible_match", MANAGER)],
    "incident-new": [("incident.new", ABOUT_V2)],
    "incident-possible-new-victim": [("incident.possible_new_victim", MANAGER)],
    "not-a-subject": [],
    "release-bail": [("release.bail", EVERYONE)],
    "release-bail-no-conditions": [("release.bail", EVERYONE)],
    "release-bail-no-victim-protected": [("release.bail", EVERYONE)],
    "release-custody-order-protects-one": [("release.custody", EVERYONE)],
    "release-from-custody": [("release.custody", EVERYONE)],
    "release-prison": [("release.prison", EVERYONE)],
    "release-remand-ended": [("release.remand_ended", EVERYONE)],
    "routing-two-victims": [("release.bail", EVERYONE), ("breach.no_contact", ABOUT_V2), ("incident.new", ABOUT_V1),
                            ("breach.no_contact", ABOUT_V1)],
    "summary-new-idva": [("release.bail", EVERYONE), ("summary.victim_linked", frozenset({NEW_IDVA_V1}))],
    "summary-victim-linked-later": [("release.bail", ABOUT_V1), ("court.hearing_listed", ABOUT_V1),
                                    ("summary.victim_linked", frozenset({IDVA_V2}))],  # the repeated snapshot: none
    "warrant-issued": [("court.hearing_listed", EVERYONE), ("warrant.issued", EVERYONE)],
}

# Where the wording is the behaviour: (rule, recipient, fragment, said) - the recipient's text of that scenario's
# alert of that rule says the fragment (said) or never does (not said).
WORDING: dict[str, list[tuple[str, tuple[str, str | None], str, bool]]] = {
    "release-bail-no-conditions": [("release.bail", IDVA_V1, "NO conditions protecting your client", True),
                                   ("release.bail", IDVA_V2, "NO conditions protecting your client", True),
                                   ("release.bail", CM, "NO conditions in force", True)],
    "release-bail-no-victim-protected": [("release.bail", IDVA_V1, "NO conditions protecting your client", True),
                                         ("release.bail", IDVA_V1, "curfew, residence in force", True),
                                         ("release.bail", CM, "NO protection for VIC-0001, VIC-0002", True)],
    "release-custody-order-protects-one": [("release.custody", IDVA_V1, "NO conditions protecting your client", True),
                                           ("release.custody", IDVA_V2, "in force: no contact", True),
                                           ("release.custody", CM, "NO protection for VIC-0001", True)],
    "release-bail": [("release.bail", IDVA_V1, "in force: no contact, exclusion zone", True),
                     ("release.bail", IDVA_V2, "NO conditions protecting your client", True),
                     ("release.bail", IDVA_V2, "exclusion zone", False)],
    "conditions-weakened-curfew-hours-cut": [("conditions.weakened", IDVA_V2, "curfew hours cut", True)],
    "conditions-weakened-zone-moved": [("conditions.weakened", IDVA_V1, "exclusion zone moved or made smaller", True)],
    "conditions-weakened-no-contact-narrowed": [("conditions.weakened", IDVA_V2, "no contact narrowed", True)],
    "conditions-weakened-residence-removed": [("conditions.weakened", IDVA_V1, "residence removed", True)],
    "conditions-weakened-reporting-dropped": [("conditions.weakened", CM, "other condition removed", True)],
    "conditions-varied-tightened": [("conditions.varied", CM, "curfew added", True)],
    "summary-victim-linked-later": [
        ("summary.victim_linked", IDVA_V2,
         "in community; curfew to 20/12, no contact to 23/05; next hearing 10/12; on EM", True),
        ("summary.victim_linked", IDVA_V2, "exclusion zone", False),
        ("summary.victim_linked", IDVA_V2, "VIC-0001", False)],
    "summary-new-idva": [("summary.victim_linked", NEW_IDVA_V1, "in community; no contact to 20/12; no EM on record",
                          True)],
}


def scenario_path(name: str) -> Path:
    """The file of a shipped scenario."""
    return SCENARIOS_DIR / f"{name}.jsonl"


def outcome_of(lines: Iterable[dict[str, Any]]) -> Counter:
    """Printed alert lines reduced to what the table states: how often each (rule, recipients) was raised."""
    return Counter((line["rule"], frozenset((r["staff_id"], r["victim_ref"]) for r in line["recipients"]))
                   for line in lines)


def expected_outcome(name: str) -> Counter:
    """The table's entry for a scenario, in the form outcome_of gives."""
    return Counter(EXPECTED[name])


def test_every_scenario_file_has_an_expected_outcome() -> None:
    """Each shipped scenario has a row in the table and each row names a shipped scenario."""
    shipped = {path.stem for path in SCENARIOS_DIR.glob("*.jsonl")}
    assert shipped == set(EXPECTED)
