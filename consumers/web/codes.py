"""One-time sign-in codes (the embedded default): sent to the registered phone or e-mail, kept only as keyed hashes."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from consumers.delivery.channels import EMAIL, SMS, OutgoingMessage
from consumers.ledger.directory import staff_by_email
from consumers.ledger.models import Staff, audit
from consumers.web.tables import SignInCode
from runtime.settings import Settings

CODE_DIGITS = 6
MOST_CODES_PER_TTL = 3  # codes one staff member may be sent within a code's lifetime (no SMS bombing)
SIGN_IN = "sign-in"  # the outbox's alert_id of a sign-in message
OK, BAD_CODE, EXPIRED, EXHAUSTED = "OK", "BAD_CODE", "EXPIRED", "TOO_MANY_ATTEMPTS"


@dataclass(frozen=True, slots=True)
class Issued:
    """A code to send: its row, and the message carrying it (the only place the code exists in clear)."""

    code_id: int
    message: OutgoingMessage


def find_staff(db: Session, identifier: str) -> Staff | None:
    """The active registered staff member with this staff id, or this registered e-mail (any case); else None."""
    text = identifier.strip()
    if not text or len(text) > 320:
        return None
    staff = db.get(Staff, text)
    if staff is None and "@" in text:
        staff = staff_by_email(db, text)
    return staff if staff is not None and staff.active and (staff.phone_e164 or staff.email) else None


def _hash(settings: Settings, staff_id: str, code: str) -> str:
    key = hashlib.sha256(b"drive-web-code|" + settings.web_session_secret.get_secret_value().encode()).digest()
    return hmac.new(key, f"{staff_id}|{code}".encode(), hashlib.sha256).hexdigest()


def issue(db: Session, staff: Staff, settings: Settings, now: datetime) -> Issued | None:
    """A new code for a registered staff member, by SMS when they have a phone, else e-mail; None when they were
    sent too many codes lately (audited; the person sees the same answer either way)."""
    ttl = timedelta(seconds=settings.web_sign_in_code_ttl_s)
    recent = db.scalar(sa.select(sa.func.count()).select_from(SignInCode).where(
        SignInCode.staff_id == staff.staff_id, SignInCode.created_at > now - ttl))
    if (recent or 0) >= MOST_CODES_PER_TTL:
        audit(db, "WEB_SIGN_IN_CODE_LIMITED", at=now, staff_id=staff.staff_id, channel="WEB",
              detail={"recent": int(recent or 0)})
        return None
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    channel = SMS if staff.phone_e164 else EMAIL
    row = SignInCode(staff_id=staff.staff_id, code_hash=_hash(settings, staff.staff_id, code), channel=channel,
                     created_at=now, expires_at=now + ttl, attempts=0)
    db.add(row)
    db.flush()
    minutes = max(1, settings.web_sign_in_code_ttl_s // 60)
    body = (f"DRIVE sign-in code {code}. It expires in {minutes} minutes. "
            "If you did not ask for it, tell the duty manager.")
    destination = staff.phone_e164 if channel == SMS else staff.email
    audit(db, "WEB_SIGN_IN_CODE_SENT", at=now, staff_id=staff.staff_id, channel=channel, detail={"code_id": row.id})
    # Numbered below zero: a sign-in message never matches a delivery's id in the outbox or a reconcile.
    return Issued(row.id, OutgoingMessage(delivery_id=-row.id, alert_id=SIGN_IN, staff_id=staff.staff_id,
                                          channel=channel, destination=destination or "", body=body, ack_code="",
                                          subject="[DRIVE] sign-in code",
                                          message_id=f"<sign-in-{row.id}@drive-alerts.local>"))


def void(db: Session, code_id: int, now: datetime, reason: str) -> None:
    """A code that could not be sent can never be used."""
    row = db.get(SignInCode, code_id)
    if row is not None and row.used_at is None:
        row.used_at = now
        audit(db, "WEB_SIGN_IN_CODE_FAILED", at=now, staff_id=row.staff_id, channel=row.channel,
              detail={"code_id": code_id, "reason": reason})


def check(db: Session, code_id: int | None, typed: str, settings: Settings, now: datetime) -> tuple[str, str | None]:
    """(OK, staff id) for the right code in time, once; else (why not, the staff id the code was for, if any).
    Each wrong try counts; the code is void after DRIVE_WEB_SIGN_IN_CODE_ATTEMPTS of them."""
    row = db.get(SignInCode, code_id) if code_id else None
    if row is None:
        return BAD_CODE, None
    if row.used_at is not None or row.attempts >= settings.web_sign_in_code_attempts:
        return EXHAUSTED, row.staff_id
    if now >= row.expires_at:
        return EXPIRED, row.staff_id
    digits = "".join(c for c in typed if c.isdigit())
    if not hmac.compare_digest(_hash(settings, row.staff_id, digits), row.code_hash):
        # A conditional UPDATE: two simultaneous wrong tries both count.
        db.execute(sa.update(SignInCode).where(SignInCode.id == row.id)
                   .values(attempts=SignInCode.attempts + 1).execution_options(synchronize_session=False))
        return BAD_CODE, row.staff_id
    won = db.execute(sa.update(SignInCode).where(SignInCode.id == row.id, SignInCode.used_at.is_(None))
                     .values(used_at=now).execution_options(synchronize_session=False)).rowcount == 1
    return (OK, row.staff_id) if won else (EXHAUSTED, row.staff_id)
