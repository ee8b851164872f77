"""Web sessions: an encrypted, signed, HttpOnly, SameSite cookie naming a server-side session that expires and ends.

The cookie (aiohttp-session's EncryptedCookieStorage: Fernet, so encrypted and signed) holds a random session id
and the CSRF token; the web_sessions row (by the id's hash) says whose it is and whether it still stands: it ends
on sign-out, DRIVE_WEB_SESSION_MAX_AGE_S after sign-in, DRIVE_WEB_SESSION_IDLE_S after the last request, or when the
registry no longer has the staff member as active.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web
from aiohttp_session import Session as CookieSession
from aiohttp_session import get_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from sqlalchemy.orm import Session

from consumers.ledger.acks import role_words
from consumers.ledger.models import Staff, audit
from consumers.web.deps import WebDeps, deps_of
from consumers.web.tables import WebSession
from runtime.settings import Settings

COOKIE = "drive_web"
SID, CSRF, STAFF = "sid", "csrf", "staff_id"
TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most this often per session


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in staff member, as the registry has them now."""

    staff_id: str
    role: str
    programme_lead: bool

    @property
    def role_words(self) -> str:
        return role_words(self.role)


VIEWER: web.RequestKey[Viewer | None] = web.RequestKey("drive_viewer")


def cookie_storage(settings: Settings) -> EncryptedCookieStorage:
    """The session cookie: encrypted and signed with a key derived from DRIVE_WEB_SESSION_SECRET."""
    key = hashlib.sha256(b"drive-web-cookie|" + settings.web_session_secret.get_secret_value().encode()).digest()
    secure = settings.resolved_web_base_url.startswith("https://")
    # Lax, not Strict: the identity provider's redirect back is a cross-site navigation that must carry the cookie.
    return EncryptedCookieStorage(key, cookie_name=COOKIE, httponly=True, samesite="Lax",
                                  secure=secure, max_age=settings.web_session_max_age_s)


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


async def csrf_token(request: web.Request) -> str:
    """This browser's CSRF token (made on first use and kept in its session cookie)."""
    session = await get_session(request)
    if CSRF not in session:
        session[CSRF] = secrets.token_urlsafe(32)
    return str(session[CSRF])


async def csrf_ok(request: web.Request, sent: str | None) -> bool:
    """True when the form's token is this browser's own."""
    session = await get_session(request)
    expected = session.get(CSRF)
    return bool(expected and sent) and hmac.compare_digest(str(expected), str(sent))


def _viewer(db: Session, staff_id: str, settings: Settings) -> Viewer | None:
    staff = db.get(Staff, staff_id)
    if staff is None or not staff.active:
        return None
    return Viewer(staff.staff_id, staff.role, staff.staff_id in settings.programme_lead_ids)


def _why_ended(row: WebSession | None, now: datetime, settings: Settings) -> str | None:
    if row is None or row.ended_at is not None:
        return "UNKNOWN" if row is None else None
    if now - row.signed_in_at > timedelta(seconds=settings.web_session_max_age_s):
        return "EXPIRED"
    if now - row.last_seen_at > timedelta(seconds=settings.web_session_idle_s):
        return "IDLE"
    return None


def _check(db: Session, sid: str, now: datetime, settings: Settings) -> tuple[Viewer | None, str | None]:
    """(the viewer, None) for a standing session, touched; else (None, why it ended now, or None if it had)."""
    row = db.get(WebSession, _hash(sid))
    why = _why_ended(row, now, settings)
    if row is None or row.ended_at is not None:
        return None, None if row is not None else why
    viewer = _viewer(db, row.staff_id, settings) if why is None else None
    if why is None and viewer is None:
        why = "STAFF_INACTIVE"
    if why is not None:
        row.ended_at, row.ended_reason = now, why
        audit(db, "WEB_SESSION_ENDED", at=now, staff_id=row.staff_id, channel="WEB", detail={"reason": why})
        return None, why
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return viewer, None


async def current_viewer(request: web.Request) -> Viewer | None:
    """The signed-in viewer of this request, or None (an ended session is cleared from the cookie)."""
    if VIEWER in request:
        return request[VIEWER]
    deps, session = deps_of(request), await get_session(request)
    sid = session.get(SID)
    viewer = None
    if sid:
        viewer, _ = await deps.in_db(lambda db: _check(db, str(sid), deps.now(), deps.settings))
        if viewer is None:
            _forget(session)
    request[VIEWER] = viewer
    return viewer


def _forget(session: CookieSession) -> None:
    for key in (SID, STAFF):
        session.pop(key, None)


async def start(request: web.Request, deps: WebDeps, staff_id: str, via: str) -> None:
    """A new session for a staff member who just proved who they are (a fresh id and CSRF token: no fixation)."""
    session = await get_session(request)
    session.invalidate()
    sid = secrets.token_urlsafe(32)
    now = deps.now()

    def record(db: Session) -> None:
        db.add(WebSession(session_hash=_hash(sid), staff_id=staff_id, via=via, signed_in_at=now, last_seen_at=now))
        audit(db, "WEB_SIGN_IN", at=now, staff_id=staff_id, channel="WEB", detail={"via": via})
    await deps.in_db(record)
    session[SID], session[STAFF], session[CSRF] = sid, staff_id, secrets.token_urlsafe(32)


async def end(request: web.Request, deps: WebDeps) -> None:
    """Sign out: the session row ends and the cookie forgets it."""
    session = await get_session(request)
    sid = session.get(SID)
    if sid:
        now = deps.now()

        def close(db: Session) -> None:
            row = db.get(WebSession, _hash(str(sid)))
            if row is not None and row.ended_at is None:
                row.ended_at, row.ended_reason = now, "SIGNED_OUT"
                audit(db, "WEB_SIGN_OUT", at=now, staff_id=row.staff_id, channel="WEB")
        await deps.in_db(close)
    session.invalidate()

