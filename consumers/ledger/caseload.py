"""The caseload: which case manager holds which subject, from the case registry's snapshots (ids only)."""
from __future__ import annotations

from collections.abc import Sequence
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
    return upsert_cases(session, [(case, event_id, recorded_at)], now) == 1


def upsert_cases(session: Session, snapshots: Sequence[tuple[CaseSnapshot, str, datetime]],
                 now: datetime | None = None) -> int:
    """Apply a batch of (snapshot, event id, recorded_at): per subject the latest, unless a later one is already
    applied; one query for what is stored, one INSERT and one UPDATE for the batch. How many applied."""
    latest: dict[str, tuple[CaseSnapshot, str, datetime]] = {}
    for case, event_id, recorded_at in snapshots:
        kept = latest.get(case.subject_id)
        if kept is None or kept[2] <= recorded_at:
            latest[case.subject_id] = (case, event_id, recorded_at)
    if not latest:
        return 0
    rows = session.execute(sa.select(Caseload.subject_id, Caseload.recorded_at)
                           .where(Caseload.subject_id.in_(sorted(latest))))
    stored = {subject_id: recorded for subject_id, recorded in rows}
    at = now or utcnow()
    new, changed = [], []
    for subject_id, (case, event_id, recorded_at) in latest.items():
        values = {"subject_id": subject_id, "case_manager_id": case.case_manager_id, "status": str(case.status),
                  "source_event_id": event_id, "recorded_at": recorded_at, "updated_at": at}
        if subject_id not in stored:
            new.append(values)
        elif stored[subject_id] <= recorded_at:
            changed.append(values)
    if new:
        session.execute(sa.insert(Caseload), new)
    if changed:
        session.execute(sa.update(Caseload), changed)  # bulk UPDATE by primary key
    return len(new) + len(changed)


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
