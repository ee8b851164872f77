"""Str-valued enums mirroring every Avro enum of the contract (a test keeps them in step with the .avsc files)."""
from __future__ import annotations

from enum import StrEnum


class IncidentEventType(StrEnum):
    """Event types of the incident topic; UNKNOWN is the reader's default for types added later."""

    DOMESTIC_INCIDENT = "DOMESTIC_INCIDENT"
    ARREST = "ARREST"
    CUSTODY_RELEASE = "CUSTODY_RELEASE"
    CHARGE_DECISION = "CHARGE_DECISION"
    UNKNOWN = "UNKNOWN"


class PersonIdScheme(StrEnum):
    """Which system issued a person identifier; OTHER is the reader's default for schemes added later."""

    PNC = "PNC"
    FORCE_NOMINAL = "FORCE_NOMINAL"
    COURT_DEFENDANT = "COURT_DEFENDANT"
    PROBATION_CRN = "PROBATION_CRN"
    PRISON_NUMBER = "PRISON_NUMBER"
    EM_SUBJECT = "EM_SUBJECT"
    DRIVE_SUBJECT = "DRIVE_SUBJECT"
    OTHER = "OTHER"


class LocationKind(StrEnum):
    """How a location is coded; OTHER is the reader's default for kinds added later."""

    UPRN = "UPRN"
    POSTCODE_SECTOR = "POSTCODE_SECTOR"
    EM_ZONE = "EM_ZONE"
    COURT = "COURT"
    PRISON = "PRISON"
    OTHER = "OTHER"


class OffenceCategory(StrEnum):
    """Category of offence; the only offence detail that ever reaches an alert."""

    ASSAULT = "ASSAULT"
    CRIMINAL_DAMAGE = "CRIMINAL_DAMAGE"
    HARASSMENT = "HARASSMENT"
    STALKING = "STALKING"
    COERCIVE_CONTROL = "COERCIVE_CONTROL"
    THREATS = "THREATS"
    SEXUAL = "SEXUAL"
    BREACH_OF_ORDER = "BREACH_OF_ORDER"
    OTHER = "OTHER"


class RiskLevel(StrEnum):
    """DASH risk grading of the victim; UNKNOWN is the reader's default for levels added later."""

    STANDARD = "STANDARD"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    UNKNOWN = "UNKNOWN"


class CustodyReleaseType(StrEnum):
    """How the person left custody."""

    BAILED = "BAILED"
    RELEASED_UNDER_INVESTIGATION = "RELEASED_UNDER_INVESTIGATION"
    NO_FURTHER_ACTION = "NO_FURTHER_ACTION"
    CHARGED_REMANDED = "CHARGED_REMANDED"
    OTHER = "OTHER"


class ChargeOutcome(StrEnum):
    """The charging decision; UNKNOWN is the reader's default for decisions added later."""

    CHARGED = "CHARGED"
    NO_FURTHER_ACTION = "NO_FURTHER_ACTION"
    FURTHER_INVESTIGATION = "FURTHER_INVESTIGATION"
    CAUTION = "CAUTION"
    UNKNOWN = "UNKNOWN"


class BailEventType(StrEnum):
    """Event types of the bail topic; UNKNOWN is the reader's default for types added later."""

    BAIL_GRANTED = "BAIL_GRANTED"
    BAIL_VARIED = "BAIL_VARIED"
    BAIL_REVOKED = "BAIL_REVOKED"
    BAIL_EXPIRED = "BAIL_EXPIRED"
    RELEASED_UNDER_INVESTIGATION = "RELEASED_UNDER_INVESTIGATION"
    REMANDED = "REMANDED"
    UNKNOWN = "UNKNOWN"


class BailKind(StrEnum):
    """Who granted bail; UNKNOWN is the reader's default for kinds added later."""

    PRE_CHARGE = "PRE_CHARGE"
    COURT = "COURT"
    UNKNOWN = "UNKNOWN"


class ConditionKind(StrEnum):
    """What a bail, order or licence condition forbids or requires."""

    NO_CONTACT = "NO_CONTACT"
    EXCLUSION_ZONE = "EXCLUSION_ZONE"
    CURFEW = "CURFEW"
    RESIDENCE = "RESIDENCE"
    NO_APPROACH_SCHOOL = "NO_APPROACH_SCHOOL"
    OTHER = "OTHER"


class CourtEventType(StrEnum):
    """Event types of the court topic; UNKNOWN is the reader's default for types added later."""

    HEARING_LISTED = "HEARING_LISTED"
    COURT_OUTCOME = "COURT_OUTCOME"
    ORDER_ISSUED = "ORDER_ISSUED"
    ORDER_VARIED = "ORDER_VARIED"
    ORDER_DISCHARGED = "ORDER_DISCHARGED"
    ORDER_EXPIRED = "ORDER_EXPIRED"
    WARRANT_ISSUED = "WARRANT_ISSUED"
    PRISON_RELEASE = "PRISON_RELEASE"
    UNKNOWN = "UNKNOWN"


class HearingType(StrEnum):
    """Kind of hearing."""

    FIRST_APPEARANCE = "FIRST_APPEARANCE"
    PLEA = "PLEA"
    TRIAL = "TRIAL"
    SENTENCE = "SENTENCE"
    REVIEW = "REVIEW"
    OTHER = "OTHER"


class CourtOutcomeKind(StrEnum):
    """Outcome of a hearing; UNKNOWN is the reader's default for outcomes added later."""

    ADJOURNED = "ADJOURNED"
    CONVICTED = "CONVICTED"
    ACQUITTED = "ACQUITTED"
    SENTENCED = "SENTENCED"
    REMANDED = "REMANDED"
    RELEASED = "RELEASED"
    DISMISSED = "DISMISSED"
    UNKNOWN = "UNKNOWN"


class SentenceCategory(StrEnum):
    """Category of sentence; UNKNOWN is the reader's default for categories added later."""

    CUSTODY = "CUSTODY"
    SUSPENDED = "SUSPENDED"
    COMMUNITY = "COMMUNITY"
    FINE = "FINE"
    DISCHARGE = "DISCHARGE"
    UNKNOWN = "UNKNOWN"


class OrderType(StrEnum):
    """Kind of protective notice or order."""

    DVPN = "DVPN"
    DVPO = "DVPO"
    DAPO = "DAPO"
    NON_MOLESTATION = "NON_MOLESTATION"
    RESTRAINING = "RESTRAINING"
    STALKING_PROTECTION = "STALKING_PROTECTION"
    OTHER = "OTHER"


class WarrantReason(StrEnum):
    """Why the warrant was issued."""

    FAILED_TO_APPEAR = "FAILED_TO_APPEAR"
    BREACH = "BREACH"
    OTHER = "OTHER"


class PrisonReleaseType(StrEnum):
    """Basis of a release from prison."""

    LICENCE = "LICENCE"
    END_OF_SENTENCE = "END_OF_SENTENCE"
    HOME_DETENTION_CURFEW = "HOME_DETENTION_CURFEW"
    ON_BAIL = "ON_BAIL"
    OTHER = "OTHER"


class BreachEventType(StrEnum):
    """Event types of the breach topic; UNKNOWN is the reader's default for types added later."""

    BREACH_REPORTED = "BREACH_REPORTED"
    EM_ZONE_ENTRY = "EM_ZONE_ENTRY"
    EM_ZONE_EXIT = "EM_ZONE_EXIT"
    EM_TAG_TAMPER = "EM_TAG_TAMPER"
    EM_SIGNAL_LOSS = "EM_SIGNAL_LOSS"
    UNKNOWN = "UNKNOWN"


class Reporter(StrEnum):
    """Who reported a breach."""

    VICTIM = "VICTIM"
    POLICE = "POLICE"
    PROBATION = "PROBATION"
    EM_PROVIDER = "EM_PROVIDER"
    OTHER = "OTHER"


class CaseEventType(StrEnum):
    """Event types of the case topic; UNKNOWN is the reader's default for types added later."""

    CASE_OPENED = "CASE_OPENED"
    IDENTIFIERS_ADDED = "IDENTIFIERS_ADDED"
    VICTIM_LINKED = "VICTIM_LINKED"
    VICTIM_UNLINKED = "VICTIM_UNLINKED"
    WORKER_ASSIGNED = "WORKER_ASSIGNED"
    CASE_CLOSED = "CASE_CLOSED"
    STAFF_UPDATED = "STAFF_UPDATED"
    UNKNOWN = "UNKNOWN"


class CaseStatus(StrEnum):
    """Status of a Drive case; UNKNOWN is the reader's default for statuses added later."""

    OPEN = "OPEN"
    CLOSED = "CLOSED"
    UNKNOWN = "UNKNOWN"


class StaffRole(StrEnum):
    """Role of a member of staff who can receive alerts; UNKNOWN is the reader's default for roles added later."""

    CASE_MANAGER = "CASE_MANAGER"
    IDVA = "IDVA"
    DUTY_MANAGER = "DUTY_MANAGER"
    UNKNOWN = "UNKNOWN"


class Severity(StrEnum):
    """Severity of an alert; UNKNOWN is the reader's default for severities added later."""

    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    UNKNOWN = "UNKNOWN"


class DeliveryKind(StrEnum):
    """Kind of delivery event; UNKNOWN is the reader's default for kinds added later."""

    SENT = "SENT"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    ESCALATED = "ESCALATED"
    UNKNOWN = "UNKNOWN"


class Channel(StrEnum):
    """Delivery channel; UNKNOWN is the reader's default for channels added later."""

    SMS = "SMS"
    EMAIL = "EMAIL"
    UNKNOWN = "UNKNOWN"
