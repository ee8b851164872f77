"""The outgoing-text guard: every word must be a known template/rule word, a code, a time or punctuation.

A name slipped into an alert text, an address, a phone number or narrative fails the guard and the
message falls back to a generic safe body (see consumers.delivery.render). The guard never returns or logs the
offending words: only how many there were.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from functools import cache

import schemas.enums as enums
from schemas.alert_text import phrases

# Words of this package's own templates (render.py) and of the streams' text templates and details.
TEMPLATE_WORDS = """
drive alert alerts code reply ack case client re at ends act now check victim safety with police review risk and
safety plans today contact at next the plan confirm or reject match conditions details in system could not reach
for to a an of is was on by use link below acknowledge this message sms email e-mail been sent please escalated
escalation unacknowledged failover duty manager case manager idva signal lost tamper no further action window force
bail order licence ref refs from until level minutes hours see open it concerning about reported are has have be
you your
"""
CODE = re.compile(r"^[A-Z0-9][A-Z0-9._:/-]*$")  # ids, refs, times (09:41), dates (22/11, 2026-11-22)
SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)+$")  # system ids: staff-cm-01, police-wm, alt-5c2e9f0a
LETTERS_ONLY = re.compile(r"^[A-Z]+$")
MAX_BARE_UPPER = 3  # WM, DA, EM: longer all-letter capitals must be known (an upper-cased name is not a code)
STRIP = ".,;:!?()[]\"'~|*/+&-"  # punctuation around (or standing as) a word
_PHONE_LIKE = re.compile(r"[+(]?\d[\d ()-]{7,}\d")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FORBIDDEN = re.compile(r"@|https?:|www\.", re.I)


def _words(text: str) -> set[str]:
    return {w for w in re.split(r"[^a-z0-9]+", text.lower()) if w}


@cache
def vocabulary() -> frozenset[str]:
    """Every known word (lower case): templates, rule phrases and actions, and enum symbols of the contract."""
    words = _words(TEMPLATE_WORDS)
    for phrase in phrases():
        words |= _words(phrase)
    for value in vars(enums).values():
        if isinstance(value, type) and issubclass(value, StrEnum) and value is not StrEnum:
            for member in value:
                words |= _words(member.value) | {member.value.lower()}
    return frozenset(words)


def _phone_like(text: str) -> bool:
    for match in _PHONE_LIKE.finditer(text):
        candidate = match.group(0).strip()
        if sum(c.isdigit() for c in candidate) >= 10 and not _ISO_DATE.match(candidate):
            return True
    return False


def _token_ok(token: str, known: frozenset[str], vocab: frozenset[str]) -> bool:
    if not token or token in known or token.lower() in vocab:
        return True
    if LETTERS_ONLY.match(token):
        return len(token) <= MAX_BARE_UPPER
    if CODE.match(token) or SLUG.match(token):
        return True
    parts = [p for p in re.split(r"[-/]", token) if p]
    return len(parts) > 1 and all(_token_ok(p, known, vocab) for p in parts)


def unsafe_token_count(text: str, known_codes: Iterable[str] = ()) -> int:
    """How many words of `text` are not allowed (0: safe); phone numbers, e-mails and URLs count as one each."""
    known = frozenset(c for c in known_codes if c)
    vocab = vocabulary()
    count = int(_phone_like(text)) + len(_FORBIDDEN.findall(text))
    for raw in text.split():
        if not _token_ok(raw.strip(STRIP), known, vocab):
            count += 1
    return count


def is_safe(text: str, known_codes: Iterable[str] = ()) -> bool:
    """True when every word of `text` is allowed."""
    return unsafe_token_count(text, known_codes) == 0
