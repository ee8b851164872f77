"""SMS through the twilio SDK: send (messaging service or from number, status callback), classify faults, reconcile."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from consumers.delivery.channels import SMS, OutgoingMessage
from consumers.delivery.retry import DeliveryFault, PermanentFault, TransientFault
from runtime.settings import Settings

# invalid number, not a mobile, opted out (STOP), permission to send to region, cannot reach this carrier
PERMANENT_CODES = frozenset({21211, 21614, 21610, 21408, 21612})
TOO_MANY_REQUESTS = 20429
RECONCILE_SLACK = timedelta(seconds=2)  # clock skew between us and the provider's date_created


def _quiet_sdk_logger() -> logging.Logger:
    """The SDK logs whole requests (numbers, bodies) at INFO: keep it at WARNING whatever the root level."""
    logger = logging.getLogger("twilio.http_client")
    logger.setLevel(logging.WARNING)
    return logger


def classify(exc: Exception) -> DeliveryFault:
    """Transient: 429/20429, 5xx, network errors and timeouts; permanent: the known codes and other 4xx."""
    if isinstance(exc, TwilioRestException):
        return _classify_answer(int(exc.status or 0), exc.code)
    if isinstance(exc, TwilioException) and _page_status(exc):  # a list page answered with an error status
        return _classify_answer(_page_status(exc), None)
    if isinstance(exc, requests.Timeout):
        return TransientFault("TIMEOUT")
    if isinstance(exc, requests.RequestException | OSError):
        return TransientFault("NETWORK")
    return TransientFault("TWILIO_ERROR")


def _classify_answer(status: int, code: int | None) -> DeliveryFault:
    """An error answer from Twilio by HTTP status and Twilio error code."""
    if status == 429 or code == TOO_MANY_REQUESTS:
        return TransientFault("TWILIO_20429")
    if status >= 500:
        return TransientFault(f"TWILIO_HTTP_{status}")
    if code in PERMANENT_CODES:
        return PermanentFault(f"TWILIO_{code}")
    return PermanentFault(f"TWILIO_{code or status}")


def _page_status(exc: TwilioException) -> int:
    """The HTTP status of the SDK's "Unable to fetch page" error (it carries the response), else 0."""
    response = exc.args[1] if len(exc.args) > 1 else None
    return int(getattr(response, "status_code", 0) or 0)


class TwilioSms:
    """The SMS channel on a real twilio Client (its base URL may point at a local server in tests)."""

    name = SMS
    can_reconcile = True

    def __init__(self, client: Client, *, from_number: str | None, messaging_service_sid: str | None,
                 status_callback: str | None) -> None:
        if not (from_number or messaging_service_sid):
            raise ValueError("Twilio needs a from number or a messaging service SID")
        self.client = client
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.status_callback = status_callback

    @classmethod
    def from_settings(cls, settings: Settings) -> TwilioSms:
        """A channel from DRIVE_TWILIO_* settings; the status callback defaults to the webhooks service."""
        http_client = TwilioHttpClient(timeout=settings.twilio_timeout_s, logger=_quiet_sdk_logger())
        client = Client(settings.twilio_account_sid, settings.twilio_auth_token.get_secret_value(),
                        http_client=http_client)
        if settings.twilio_base_url:
            client.api.base_url = settings.twilio_base_url.rstrip("/")
        callback = settings.twilio_status_callback_url
        if callback is None and getattr(settings, "public_base_url", None):
            callback = settings.public_base_url.rstrip("/") + "/twilio/status"
        return cls(client, from_number=settings.twilio_from_number,
                   messaging_service_sid=settings.twilio_messaging_service_sid, status_callback=callback)

    def send(self, message: OutgoingMessage) -> str:
        """Create the message at Twilio; its SID, or a classified DeliveryFault."""
        kwargs: dict[str, Any] = {"to": message.destination, "body": message.body}
        if self.messaging_service_sid:
            kwargs["messaging_service_sid"] = self.messaging_service_sid
        else:
            kwargs["from_"] = self.from_number
        if self.status_callback:
            kwargs["status_callback"] = self.status_callback
        try:
            return str(self.client.messages.create(**kwargs).sid)
        except (TwilioException, requests.RequestException, OSError) as exc:
            raise classify(exc) from None  # the SDK's message may quote the number: not chained into logs

    def find_sent(self, message: OutgoingMessage, since: datetime) -> str | None:
        """The SID of a message to this number created since `since` whose body is this message's."""
        try:
            found = self.client.messages.list(to=message.destination, date_sent_after=since - RECONCILE_SLACK,
                                              limit=200)
        except (TwilioException, requests.RequestException, OSError) as exc:
            raise classify(exc) from None
        for candidate in found:
            created = candidate.date_created or candidate.date_sent
            if created is not None and created < since - RECONCILE_SLACK:
                continue
            # The whole body, not only the code: a duty manager gets one message per recipient they are told about.
            if message.ack_code in (candidate.body or "") and message.body.strip() in (candidate.body or ""):
                return str(candidate.sid)
        return None
