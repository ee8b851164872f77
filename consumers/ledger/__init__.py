"""The delivery ledger and audit trail: tables, the functions that write and read them, the staff directory."""
from consumers.ledger.caseload import Caseload
from consumers.ledger.columns import ACK_ALPHABET, ACK_CODE_LENGTH, UtcDateTime, ack_code_for, utcnow
from consumers.ledger.directory import upsert_staff
from consumers.ledger.models import (
    DELIVERED,
    EMAIL,
    FAILED,
    NOBODY,
    PENDING,
    SENDING,
    SENT,
    SMS,
    AlertRecipientRow,
    AuditEntry,
    Base,
    BigId,
    ChronologyEvent,
    Delivery,
    LedgerAlert,
    RecipientAck,
    Staff,
    add_delivery,
    alert_by_ack_code,
    audit,
    audit_entries,
    deliveries_of,
    due_deliveries,
    get_alert,
    ledger_metadata,
    merged_recipients,
    recipients_of,
    record_alert,
)

__all__ = [
    "ACK_ALPHABET", "ACK_CODE_LENGTH", "DELIVERED", "EMAIL", "FAILED", "NOBODY", "PENDING", "SENDING", "SENT",
    "SMS", "AlertRecipientRow", "AuditEntry", "Base", "BigId", "Caseload", "ChronologyEvent", "Delivery", "LedgerAlert",
    "RecipientAck", "Staff", "UtcDateTime", "ack_code_for", "add_delivery", "alert_by_ack_code", "audit",
    "audit_entries", "deliveries_of", "due_deliveries", "get_alert", "ledger_metadata", "merged_recipients",
    "record_alert", "recipients_of", "upsert_staff", "utcnow",
]
