"""Delivery faults (transient or permanent, with a short code) and the capped, jittered exponential backoff."""
from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta


class DeliveryFault(Exception):
    """A provider refused or could not take a message; `code` is short and never holds personal data."""

    transient: bool = True

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code[:100]


class TransientFault(DeliveryFault):
    """Worth retrying later: network errors, timeouts, HTTP 429 / 5xx, SMTP 4xx."""

    transient = True


class PermanentFault(DeliveryFault):
    """Retrying cannot help: invalid, landline or opted-out number, SMTP 5xx, other 4xx."""

    transient = False


def backoff_delay(attempts: int, base_s: float, cap_s: float,
                  jitter: Callable[[], float] = random.random) -> timedelta:
    """Delay before the next attempt after `attempts` attempts: min(cap, base * 2^attempts) * U(0.5, 1.0)."""
    raw = min(cap_s, base_s * (2 ** min(max(attempts, 0), 32)))
    return timedelta(seconds=raw * (0.5 + 0.5 * jitter()))
