"""Signed, expiring acknowledgement links for e-mail: HMAC-SHA256 over (alert_id, staff_id, expires_at)."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from runtime.logging import get_logger
from runtime.settings import DEV_ACK_LINK_SECRET, Settings, get_settings

log = get_logger(__name__)

ACK_PATH = "/ack/"
_warned = False


class AckLinkRefused(Exception):
    """A token that must not acknowledge anything; `reason` is a machine code (BAD_TOKEN, BAD_SIGNATURE, EXPIRED).

    `claim` is set for EXPIRED only: the signature held, so who and which alert it names is genuine.
    """

    def __init__(self, reason: str, claim: AckClaim | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.claim = claim


@dataclass(frozen=True, slots=True)
class AckClaim:
    """What a verified token says: this staff member may acknowledge this alert until expires_at."""

    alert_id: str
    staff_id: str
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).digest()


def sign_token(secret: str, alert_id: str, staff_id: str, expires_at: datetime) -> str:
    """The URL-safe token `<payload>.<mac>` for one (alert, staff member, expiry)."""
    payload = json.dumps([alert_id, staff_id, int(expires_at.timestamp())], separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(_mac(secret, payload))}"


def verify_token(secret: str, token: str, now: datetime) -> AckClaim:
    """The claim of a genuine, unexpired token; raises AckLinkRefused otherwise."""
    try:
        payload_text, mac_text = token.split(".")
        payload, mac = _unb64(payload_text), _unb64(mac_text)
    except (ValueError, binascii.Error, UnicodeError):
        raise AckLinkRefused("BAD_TOKEN") from None
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        raise AckLinkRefused("BAD_SIGNATURE")
    try:
        alert_id, staff_id, expires = json.loads(payload)
        expires_at = datetime.fromtimestamp(int(expires), UTC)
    except (ValueError, TypeError, OverflowError, OSError):
        raise AckLinkRefused("BAD_TOKEN") from None
    if not isinstance(alert_id, str) or not isinstance(staff_id, str):
        raise AckLinkRefused("BAD_TOKEN")
    claim = AckClaim(alert_id=alert_id, staff_id=staff_id, expires_at=expires_at)
    if now >= expires_at:
        raise AckLinkRefused("EXPIRED", claim)
    return claim


def link_secret(settings: Settings) -> str:
    """The signing secret from settings; the development default is used with a warning (once)."""
    global _warned
    secret = settings.ack_link_secret.get_secret_value()
    if secret == DEV_ACK_LINK_SECRET and not _warned:
        log.warning("ack_link_secret_is_development_default", setting="DRIVE_ACK_LINK_SECRET")
        _warned = True
    return secret


def link_url(settings: Settings, token: str) -> str:
    """The external URL of a token: public_base_url + /ack/<token>."""
    return settings.public_base_url.rstrip("/") + ACK_PATH + token


def ack_link(alert_id: str, staff_id: str, *, settings: Settings = None, now: datetime | None = None) -> str:
    """The acknowledgement URL the e-mail renderer puts in a message to staff_id about alert_id."""
    if settings is None:

        settings = get_settings()
    issued = now or datetime.now(UTC)
    expires_at = issued + timedelta(hours=settings.ack_link_ttl_h)
    return link_url(settings, sign_token(link_secret(settings), alert_id, staff_id, expires_at))
