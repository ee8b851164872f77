"""Structured logging, configured once per process: JSON lines or console, personal data and secrets redacted."""
from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import IO, Any

import structlog

from runtime.log_filters import QuietStops
from runtime.settings import Settings, get_settings

REDACTED = "[redacted]"

# Keys whose values are personal data or free text: redacted whatever the value is.
PERSONAL_KEYS = frozenset({
    "name", "person_name", "first_name", "forename", "given_name", "middle_name", "surname", "last_name",
    "family_name", "full_name", "maiden_name", "alias", "aliases", "address", "address_line", "street",
    "postcode", "post_code", "phone", "phone_e164", "phone_number", "mobile", "telephone", "to_number",
    "from_number", "email", "email_address", "narrative", "free_text", "description", "notes", "note",
    "comment", "comments", "body", "text", "message_body", "raw", "payload", "content", "date_of_birth", "dob",
})
# Key fragments that mark a secret anywhere in a key name (e.g. kafka_sasl_password, x_twilio_signature).
SECRET_FRAGMENTS = ("password", "passwd", "secret", "token", "api_key", "apikey", "authorization",
                    "signature", "credential", "private_key", "cookie")
# Identifiers are how people are referred to: never redacted by key.
_ID_SUFFIXES = ("_id", "_ids", "_ref", "_refs")

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_E164 = re.compile(r"(?<![\w+])\+[1-9]\d{7,14}\b")
_UK_MOBILE = re.compile(r"(?<!\w)07\d{3}\s?\d{6}\b")
_SECRET_ASSIGNMENT = re.compile(
    r"(?i)((?:password|passwd|secret|token|api_key|apikey|authorization|signature)[\w-]*['\"]?\s*[:=]\s*['\"]?)"
    r"([^'\"\s,}]+)")
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}")

# Client libraries that log every connection at INFO; they get settings.library_log_level.
CHATTY_LIBRARIES = ("kafka", "aiokafka", "alembic", "twilio")

_configured = False
_handler: logging.Handler | None = None


def is_sensitive_key(key: object) -> bool:
    """True when a key names personal data or a secret (case-insensitive; identifiers never are)."""
    if not isinstance(key, str):
        return False
    normal = key.strip().lower().replace("-", "_")
    if normal.endswith(_ID_SUFFIXES):
        return False
    return normal in PERSONAL_KEYS or any(fragment in normal for fragment in SECRET_FRAGMENTS)


def scrub_text(text: str) -> str:
    """Replace e-mail addresses, phone numbers and secret assignments inside free text."""
    text = _EMAIL.sub(REDACTED, text)
    text = _E164.sub(REDACTED, text)
    text = _UK_MOBILE.sub(REDACTED, text)
    text = _SECRET_ASSIGNMENT.sub(lambda m: m.group(1) + REDACTED, text)
    return _AUTH_SCHEME.sub(lambda m: f"{m.group(1)} {REDACTED}", text)


def redact(value: Any) -> Any:
    """Redact sensitive keys at any depth and scrub every string value."""
    if isinstance(value, Mapping):
        return {k: REDACTED if is_sensitive_key(k) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, (tuple, set, frozenset)):
        return tuple(redact(v) for v in value)
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, bytes):
        return REDACTED  # raw bytes may be a whole record: never log them
    return value


def redaction_processor(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: the last word before rendering, so nothing unredacted reaches a stream."""
    return redact(event_dict)


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _renderer(log_format: str, stream: IO[str]) -> Any:
    use_console = log_format == "console" or (log_format == "auto" and _isatty(stream))
    if use_console:
        return structlog.dev.ConsoleRenderer(colors=_isatty(stream))
    return structlog.processors.JSONRenderer()


def _isatty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def configure_logging(settings: Settings | None = None, stream: IO[str] | None = None, force: bool = False) -> None:
    """Set up structlog and route stdlib logging (faust, aiokafka, aiohttp) through it; once per process."""
    global _configured, _handler
    if _configured and not force:
        return
    if settings is None:

        settings = get_settings()
    stream = stream if stream is not None else sys.stderr
    level = getattr(logging, settings.log_level)
    shared = _shared_processors()
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redaction_processor,
            _renderer(settings.log_format, stream),
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(QuietStops())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    library_level = max(level, getattr(logging, getattr(settings, "library_log_level", "WARNING")))
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(library_level)
    logging.captureWarnings(True)
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *shared,
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached, so force=True (tests, CLI) really re-routes loggers made before it.
        cache_logger_on_first_use=False,
    )
    _handler = handler
    _configured = True


def log_handler() -> logging.Handler | None:
    """The handler configure_logging installed, for frameworks that take their own handlers (faust)."""
    return _handler


def get_logger(name: str | None = None) -> Any:
    """A structlog logger (bound to stdlib under `name`)."""
    return structlog.get_logger(name)
