"""Signed e-mail acknowledgement links and the `ACK <code>` SMS parser."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from consumers.acks.acknowledge import mask_number, parse_ack_code
from consumers.acks.links import AckLinkRefused, ack_link, sign_token, verify_token
from runtime.settings import Settings

SECRET = "test-secret-not-the-default"
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def test_token_verifies_and_names_alert_and_staff() -> None:
    """A token signed with the secret verifies before expiry and carries the alert and staff ids."""
    token = sign_token(SECRET, "alt-1", "staff-cm-01", NOW + timedelta(hours=1))
    claim = verify_token(SECRET, token, NOW)
    assert (claim.alert_id, claim.staff_id) == ("alt-1", "staff-cm-01")
    assert claim.expires_at == NOW + timedelta(hours=1)


def test_expired_token_is_refused() -> None:
    """A token is refused at and after its expiry time."""
    token = sign_token(SECRET, "alt-1", "staff-cm-01", NOW)
    with pytest.raises(AckLinkRefused) as refused:
        verify_token(SECRET, token, NOW)
    assert refused.value.reason == "EXPIRED"


def test_token_signed_with_another_secret_is_refused() -> None:
    """A token made with a different key fails the signature check."""
    token = sign_token("another-secret", "alt-1", "staff-cm-01", NOW + timedelta(hours=1))
    with pytest.raises(AckLinkRefused) as refused:
        verify_token(SECRET, token, NOW)
    assert refused.value.reason == "BAD_SIGNATURE"


def test_tampered_payload_is_refused() -> None:
    """Swapping the payload of a genuine token for another staff member's breaks the signature."""
    genuine = sign_token(SECRET, "alt-1", "staff-cm-01", NOW + timedelta(hours=1))
    other = sign_token(SECRET, "alt-1", "staff-idva-07", NOW + timedelta(hours=1))
    forged = other.split(".")[0] + "." + genuine.split(".")[1]
    with pytest.raises(AckLinkRefused) as refused:
        verify_token(SECRET, forged, NOW)
    assert refused.value.reason == "BAD_SIGNATURE"


@pytest.mark.parametrize("token", ["", "nodot", "a.b.c", "!!!.???"])
def test_malformed_token_is_refused(token: str) -> None:
    """Garbage tokens are refused, never crash."""
    with pytest.raises(AckLinkRefused):
        verify_token(SECRET, token, NOW)


def test_ack_link_uses_public_base_url_and_ttl() -> None:
    """The link is public_base_url + /ack/<token>, valid for ack_link_ttl_h hours."""
    settings = Settings(public_base_url="https://alerts.example.org/hooks/", ack_link_secret=SecretStr(SECRET),
                        ack_link_ttl_h=2)
    url = ack_link("alt-9", "staff-idva-07", settings=settings, now=NOW)
    assert url.startswith("https://alerts.example.org/hooks/ack/")
    token = url.rsplit("/", 1)[1]
    assert verify_token(SECRET, token, NOW + timedelta(minutes=119)).alert_id == "alt-9"
    with pytest.raises(AckLinkRefused):
        verify_token(SECRET, token, NOW + timedelta(hours=2))


@pytest.mark.parametrize("body, code", [
    ("ACK 5C2EAB", "5C2EAB"), ("ack 5c2eab", "5C2EAB"), ("  Ack: 5c2-eab. ", "5C2EAB"),
    ("ACK5C2EAB", None), ("ACKNOWLEDGED", None), ("ACK", None), ("ACK !!", None), ("hello", None),
    ("ACK 5C2 EAB", "5C2EAB"), ("ack-ABCD", "ABCD"), ("ACK ABC", None),
])
def test_parse_ack_code(body: str, code: str | None) -> None:
    """`ACK <code>` is read case-insensitively, tolerant of spaces and punctuation; anything else is not an ack."""
    assert parse_ack_code(body) == code


def test_mask_number_keeps_last_three_digits() -> None:
    """Only the last three digits of a number reach the audit trail."""
    assert mask_number("+447700900123") == "***123"
    assert mask_number("") == "***"
