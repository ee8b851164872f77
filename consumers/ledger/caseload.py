"""The caseload: which case manager holds which subject, from the case registry's snapshots (ids only)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from consumers.ledger.columns import UtcDateTime, utcnow
from consumers.ledger.models import AlertRecipientRow, Base, LedgerAlert
from schemas.case_details import CaseSnapshot
from schemas.enums import StaffRole

CASE_MANAGER = StaffRole.CASE_MANAGER.value


class Caseload(Base):
    """One Drive case as the registry last said: its subject, status and case manager."""

    __tablename__ = "caseload"
    subject_id: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    case_manager_id: Mapped[str] = mapped_column(sa.String(100), index=True)
    status: Mapped[str] = mapped_column(sa.String(16))
    source_event_id: Mapped[str] = mapped_column(sa.String(160))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())  # the snapshot's recorded_at applied
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


def upsert_case(session: Session, case: CaseSnapshot, event_id: str, recorded_at: datetime,
                now: datetime | None = None) -> bool:
    """Apply a case snapshot unless a later one is already applied; True when applied."""
    row = session.get(Caseload, case.subject_id)
    if row is not None and row.recorded_at > recorded_at:
        return False
    values = dict(case_manager_id=case.case_manager_id, status=str(case.status), source_event_id=event_id,
                  recorded_at=recorded_at, updated_at=now or utcnow())
    if row is None:
        session.add(Caseload(subject_id=case.subject_id, **values))
    else:
        for name, value in values.items():
            setattr(row, name, value)
    session.flush()
    return True


def subjects_of(session: Session, staff_id: str) -> set[str]:
    """The subjects a case manager holds: by the registry; for subjects the registry has not told the ledger about
    (a ledger older than the caseload), those whose alerts reached them as the case manager."""
    held = set(session.scalars(sa.select(Caseload.subject_id).where(Caseload.case_manager_id == staff_id)))
    known = sa.select(Caseload.subject_id)
    told = session.scalars(
        sa.select(LedgerAlert.subject_id).join(AlertRecipientRow, AlertRecipientRow.alert_id == LedgerAlert.alert_id)
        .where(AlertRecipientRow.staff_id == staff_id, AlertRecipientRow.role == CASE_MANAGER,
               LedgerAlert.subject_id.not_in(known)).distinct())
    return held | set(told)


def all_subjects(session: Session) -> list[str]:
    """Every subject the ledger knows (registered, or alerted about), in order."""
    registered = set(session.scalars(sa.select(Caseload.subject_id)))
    alerted = set(session.scalars(sa.select(LedgerAlert.subject_id).distinct()))
    return sorted(registered | alerted)
