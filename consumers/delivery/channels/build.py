"""The channels the settings ask for: Twilio SMS and SMTP e-mail when configured, the local outbox otherwise."""
from __future__ import annotations

from typing import IO

from consumers.delivery.channels import EMAIL, SMS, Channel
from consumers.delivery.channels.email import SmtpEmail
from consumers.delivery.channels.outbox import Outbox
from consumers.delivery.channels.sms import TwilioSms
from runtime.settings import Settings


def build_channels(settings: Settings, outbox_stream: IO[str] | None = None) -> dict[str, Channel]:
    """SMS through Twilio and e-mail through SMTP when configured; each unconfigured channel uses the outbox."""
    outbox = Outbox(settings.data_dir / "outbox.jsonl", outbox_stream)
    channels: dict[str, Channel] = {SMS: outbox.for_channel(SMS), EMAIL: outbox.for_channel(EMAIL)}
    if settings.twilio_account_sid and settings.twilio_auth_token:
        channels[SMS] = TwilioSms.from_settings(settings)
    if settings.smtp_host:
        channels[EMAIL] = SmtpEmail.from_settings(settings)
    return channels
