"""String rules of the contract: the named formats of avsc/formats.json, code lists, lengths and characters."""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from schemas.errors import Reason

# Control (Cc), format (Cf: bidi marks, zero-width characters, BOM, soft hyphen ...), line and paragraph
# separators (Zl, Zp) as of Unicode 15, then surrogates (Cs), which only a lone \ud800-style escape can produce.
FORBIDDEN_RANGES: tuple[tuple[int, int], ...] = (
    (0x00, 0x1F), (0x7F, 0x9F), (0xAD, 0xAD), (0x600, 0x605), (0x61C, 0x61C), (0x6DD, 0x6DD), (0x70F, 0x70F),
    (0x890, 0x891), (0x8E2, 0x8E2), (0x180E, 0x180E), (0x200B, 0x200F), (0x2028, 0x202E), (0x2060, 0x2064),
    (0x2066, 0x206F), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD), (0x110CD, 0x110CD),
    (0x13430, 0x1343F), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001), (0xE0020, 0xE007F),
    (0xD800, 0xDFFF),
)


def character_class(ranges: tuple[tuple[int, int], ...], escape: str = "\\U{:08x}") -> str:
    """A regex character class of code point ranges, each written with `escape` (Python: \\U; ECMA-262: \\u)."""
    parts = (escape.format(a) if a == b else f"{escape.format(a)}-{escape.format(b)}" for a, b in ranges)
    return "[" + "".join(parts) + "]"


FORBIDDEN_CHARACTERS = re.compile(character_class(FORBIDDEN_RANGES))
SURROGATES = re.compile("[\ud800-\udfff]")
CHARACTERS_MESSAGE = "must not contain control, format (bidi, zero-width) or line separator characters"
ENCODING_MESSAGE = "must be valid Unicode text: no lone surrogates"
EMPTY_MESSAGE = "must not be empty"

Problem = tuple[str, Reason]
TextCheck = Callable[[str], Problem | None]


def _contract_file(name: str) -> Any:
    return json.loads((resources.files("schemas") / "avsc" / name).read_text(encoding="utf-8"))


@cache
def formats() -> dict[str, dict[str, Any]]:
    """The named string formats of avsc/formats.json, by name (shared: never mutate)."""
    return _contract_file("formats.json")["formats"]


@cache
def code_list(name: str) -> tuple[dict[str, str], ...]:
    """The entries (code, name, ...) of a code-list file such as force-areas.json."""
    return tuple(_contract_file(name)["codes"])


@dataclass(frozen=True, slots=True)
class TextRule:
    """What one string field accepts: a length range, then a pattern, a code list or just printable text."""

    min_length: int = 1
    max_length: int | None = None
    pattern: str | None = None
    codes: frozenset[str] | None = None
    message: str | None = None  # for a value that is printable and of the right length but fits no pattern/code
    length_message: str | None = None  # instead of the generic "must not be empty" / "must be at most N"

    @classmethod
    def of(cls, attributes: dict[str, Any], format_name: str | None = None) -> TextRule:
        """The rule of a field's drive.* attributes (or of the named format given instead)."""
        name = format_name or attributes.get("drive.format")
        spec = formats()[name] if name else {}
        codes = frozenset(entry["code"] for entry in code_list(spec["codes"])) if "codes" in spec else None
        return cls(min_length=attributes.get("drive.minLength", spec.get("minLength", 1)),
                   max_length=attributes.get("drive.maxLength", spec.get("maxLength")),
                   pattern=spec.get("pattern"), codes=codes, message=spec.get("message"),
                   length_message=spec.get("lengthMessage"))

    def check(self) -> TextCheck:
        """A function giving the (message, reason) of the first problem of a string, or None when it fits."""
        low, high = self.min_length, self.max_length if self.max_length is not None else 1 << 62
        fits = _fits(self.pattern, self.codes)
        misfit = (self.message or "", Reason.UNKNOWN_CODE if self.codes is not None else Reason.PATTERN)
        # a code or reference that is too long is told the form it must have; free text its length
        too_long = (self.length_message or self.message or f"must be at most {high} characters", Reason.TOO_LONG)
        too_short = (self.length_message or (EMPTY_MESSAGE if low == 1 else f"must be at least {low} characters"),
                     Reason.TOO_SHORT if self.length_message or low > 1 else Reason.EMPTY)

        def check(value: str) -> Problem | None:
            if low <= len(value) <= high and fits(value):
                return None
            if len(value) < low:
                return too_short
            if SURROGATES.search(value):
                return ENCODING_MESSAGE, Reason.ENCODING
            if FORBIDDEN_CHARACTERS.search(value):
                return CHARACTERS_MESSAGE, Reason.CHARACTERS
            if len(value) > high:
                return too_long
            return misfit

        return check


def _fits(pattern: str | None, codes: frozenset[str] | None) -> Callable[[str], bool]:
    if codes is not None:
        return codes.__contains__
    if pattern is not None:
        full = re.compile(pattern).fullmatch
        return lambda value: full(value) is not None
    search = FORBIDDEN_CHARACTERS.search
    return lambda value: search(value) is None


def printable_key(key: object, limit: int = 64) -> str:
    """An unknown field's name as an error path shows it: forbidden characters as '?', at most `limit` characters."""
    text = FORBIDDEN_CHARACTERS.sub("?", str(key))
    return text if len(text) <= limit else text[:limit] + "…"
