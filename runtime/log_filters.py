"""Log filters for what libraries report as errors but is not: a cancelled task on a clean stop, a refused HTTP request."""
from __future__ import annotations

import asyncio
import logging

from aiohttp.http_exceptions import HttpProcessingError


class QuietStops(logging.Filter):
    """On the handler: mode/faust's "Crashed reason=CancelledError()" goes to DEBUG (a clean stop cancels every actor),
    and aiohttp's traceback for a malformed request becomes one INFO line without the request's bytes."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        reason = record.args[0] if isinstance(record.args, tuple) and record.args else error
        if isinstance(reason, asyncio.CancelledError) and "Crashed reason=" in str(record.msg):
            return _lowered(record, logging.DEBUG, "task cancelled while stopping")
        if record.name == "aiohttp.server" and isinstance(error, HttpProcessingError):
            # The exception's text quotes the offending bytes (a header may carry anything): name only its kind.
            message = f"http request refused: {type(error).__name__} (status {error.code})"
            return _lowered(record, logging.INFO, message)
        return True


def _lowered(record: logging.LogRecord, level: int, message: str) -> bool:
    """Rewrite the record in place at `level`, without its traceback; drop it when its logger does not log that level."""
    record.levelno, record.levelname = level, logging.getLevelName(level)
    record.msg, record.args = message, ()
    record.exc_info, record.exc_text, record.stack_info = None, None, None
    return logging.getLogger(record.name).isEnabledFor(level)
