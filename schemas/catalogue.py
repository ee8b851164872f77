"""The topic catalogue as code: every topic's key, value schema, partitions, retention and event types."""
from __future__ import annotations

from dataclasses import dataclass

DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One topic: what its key is, which Avro record its values are, and how it is provisioned."""

    short_name: str
    key: str
    value_schema: str
    partitions: int
    retention_ms: int | None
    compacted: bool
    doc: str

    @property
    def namespace(self) -> str:
        """Avro namespace of the topic's records, e.g. drive.incident."""
        return self.value_schema.rsplit(".", 1)[0]


_SOURCE_RETENTION_MS = 30 * DAY_MS
# alert and delivery outlive the source topics: a year lets consumers be replayed to rebuild the
# ledger and audit views; the database remains the durable audit trail of record.
_OUTCOME_RETENTION_MS = 365 * DAY_MS

TOPICS: dict[str, TopicSpec] = {
    spec.short_name: spec
    for spec in (
        TopicSpec("incident", "agency person id SCHEME:value of the first person_ids entry",
                  "drive.incident.IncidentEvent", 6, _SOURCE_RETENTION_MS, False,
                  "Police incidents, arrests, custody releases and charge decisions."),
        TopicSpec("bail", "agency person id SCHEME:value of the first person_ids entry",
                  "drive.bail.BailEvent", 6, _SOURCE_RETENTION_MS, False,
                  "Bail granted, varied, revoked or expired; released under investigation; remand."),
        TopicSpec("court", "agency person id SCHEME:value of the first person_ids entry",
                  "drive.court.CourtEvent", 6, _SOURCE_RETENTION_MS, False,
                  "Hearings, outcomes, protective orders, warrants and releases from prison."),
        TopicSpec("breach", "agency person id SCHEME:value of the first person_ids entry",
                  "drive.breach.BreachEvent", 6, _SOURCE_RETENTION_MS, False,
                  "Reported breaches of conditions and electronic-monitoring events."),
        TopicSpec("case", "Drive subject id; staff:<staff_id> for STAFF_UPDATED",
                  "drive.case.CaseEvent", 6, None, True,
                  "The case registry: each record is the whole current entry of a case or staff member."),
        TopicSpec("alert", "Drive subject id", "drive.alert.Alert", 6, _OUTCOME_RETENTION_MS, False,
                  "Alerts raised by the rules, with recipients and minimised text."),
        TopicSpec("delivery", "alert id", "drive.delivery.DeliveryEvent", 6, _OUTCOME_RETENTION_MS, False,
                  "Sent, delivered, failed, acknowledged and escalated events of alert delivery."),
        TopicSpec("dead-letter", "source connector and agency, connector/agency", "drive.deadletter.DeadLetter",
                  3, _SOURCE_RETENTION_MS, False,
                  "Refused input records, where they came from and why."),
    )
}

SOURCE_TOPICS: tuple[str, ...] = ("incident", "bail", "court", "breach", "case")

_CASE_SNAPSHOT_TYPES = ("CASE_OPENED", "IDENTIFIERS_ADDED", "VICTIM_LINKED", "VICTIM_UNLINKED",
                        "WORKER_ASSIGNED", "CASE_CLOSED")

EVENT_TYPES: dict[str, dict[str, str]] = {
    "incident": {
        "DOMESTIC_INCIDENT": "DomesticIncident",
        "ARREST": "Arrest",
        "CUSTODY_RELEASE": "CustodyRelease",
        "CHARGE_DECISION": "ChargeDecision",
    },
    "bail": {
        "BAIL_GRANTED": "BailGranted",
        "BAIL_VARIED": "BailVaried",
        "BAIL_REVOKED": "BailRevoked",
        "BAIL_EXPIRED": "BailExpired",
        "RELEASED_UNDER_INVESTIGATION": "ReleasedUnderInvestigation",
        "REMANDED": "Remanded",
    },
    "court": {
        "HEARING_LISTED": "HearingListed",
        "COURT_OUTCOME": "CourtOutcome",
        "ORDER_ISSUED": "OrderIssued",
        "ORDER_VARIED": "OrderVaried",
        "ORDER_DISCHARGED": "OrderDischarged",
        "ORDER_EXPIRED": "OrderExpired",
        "WARRANT_ISSUED": "WarrantIssued",
        "PRISON_RELEASE": "PrisonRelease",
    },
    "breach": {
        "BREACH_REPORTED": "BreachReported",
        "EM_ZONE_ENTRY": "EmZoneEntry",
        "EM_ZONE_EXIT": "EmZoneExit",
        "EM_TAG_TAMPER": "EmTagTamper",
        "EM_SIGNAL_LOSS": "EmSignalLoss",
    },
    "case": {**{t: "CaseSnapshot" for t in _CASE_SNAPSHOT_TYPES}, "STAFF_UPDATED": "StaffMember"},
}

# event types whose envelope may carry no person identifier (staff are not subjects)
NO_PERSON_EVENT_TYPES: frozenset[str] = frozenset({"STAFF_UPDATED"})


def topic_name(short: str, prefix: str = "drive.") -> str:
    """Full Kafka topic name of a catalogue short name, e.g. drive.incident."""
    if short not in TOPICS:
        raise KeyError(f"unknown topic {short!r}; known: {', '.join(TOPICS)}")
    return f"{prefix}{short}"


def details_schema_name(topic: str, event_type: str) -> str:
    """Full Avro name of the details record of an event type, e.g. drive.incident.Arrest."""
    return f"{TOPICS[topic].namespace}.{EVENT_TYPES[topic][event_type]}"
