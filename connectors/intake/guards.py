"""Guards the intake applies before the contract: bounded JSON, no lone surrogates, representable times, sane cells.

They stand in until the contract's bounded parser and field constraints are merged; each refusal is a
`Flaw` (a machine code and a FieldError with the path), never an exception.
"""
from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from schemas.errors import FieldError

MAX_DEPTH = 32  # the deepest contract record nests 4 levels
MAX_STRING_CHARS = 1000
MAX_INT_DIGITS = 20  # a long is at most 19 digits and a sign
# Bidirectional overrides/isolates/marks and zero-width characters: they make an id display as another id.
_INVISIBLE = frozenset("\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff")


@dataclass(frozen=True)
class Flaw:
    """Why a value is refused: a reason code (TOO_DEEP, TOO_LONG, BAD_CHARACTER, OUT_OF_RANGE, NOT_UTF8) and where."""

    code: str
    error: FieldError


class LongNumber(str):
    """A JSON integer with more digits than any field takes, kept as its text instead of parsed."""

    @property
    def digits(self) -> int:
        return len(self.lstrip("-"))


def _int(text: str) -> int | LongNumber:
    return int(text) if len(text) <= MAX_INT_DIGITS else LongNumber(text)


@dataclass(frozen=True)
class Parsed:
    """A body parsed as JSON (value), or why it could not be (code and reason)."""

    value: Any = None
    code: str | None = None
    reason: str | None = None


def parse_json(body: bytes) -> Parsed:
    """The JSON value of a body; never raises (too deep, not UTF-8, not JSON: a code and a reason)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Parsed(code="UNPARSEABLE", reason=f"body is not valid JSON: not UTF-8 (byte {exc.start})")
    try:
        return Parsed(json.loads(text, parse_int=_int))
    except RecursionError:
        return Parsed(code="TOO_DEEP", reason="body is not valid JSON: nested too deeply")
    except json.JSONDecodeError as exc:
        return Parsed(code="UNPARSEABLE", reason=f"body is not valid JSON: {exc.msg} (line {exc.lineno} column {exc.colno})")
    except ValueError as exc:  # e.g. a float literal json cannot read
        return Parsed(code="UNPARSEABLE", reason=f"body is not valid JSON: {type(exc).__name__}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _bad_text(text: str, max_chars: int) -> str | None:
    """Why a string is refused, or None."""
    if len(text) > max_chars:
        return f"longer than {max_chars} characters ({len(text)})"
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        return "holds a lone surrogate (not valid Unicode)"
    if any(ch in _INVISIBLE or (unicodedata.category(ch) == "Cc" and ch not in "\t\r\n") for ch in text):
        return "holds a control, bidirectional or zero-width character"
    return None


def _time_out_of_range(text: str) -> bool:
    """True for an ISO timestamp with an offset whose UTC value falls outside year 1..9999."""
    if not 10 <= len(text) <= 40 or not text[:4].isdigit():
        return False
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    try:
        moment.astimezone(UTC)
    except OverflowError:
        return True
    return False


def _text_flaw(path: str, text: str, max_chars: int) -> Flaw | None:
    problem = _bad_text(text, max_chars)
    if problem is not None:
        code = "TOO_LONG" if problem.startswith("longer") else "BAD_CHARACTER"
        return Flaw(code, FieldError(path, problem))
    if _time_out_of_range(text):
        return Flaw("OUT_OF_RANGE", FieldError(path, "timestamp outside the representable range once in UTC"))
    return None


def json_flaws(value: Any, names: Iterable[str] = ()) -> list[Flaw]:
    """Every flaw of a parsed JSON value, walked without recursion; `names`: paths whose text may hold marks."""
    free_text = frozenset(names)
    flaws: list[Flaw] = []
    stack: list[tuple[str, Any, int]] = [("", value, 0)]
    while stack:
        path, item, depth = stack.pop()
        if depth > MAX_DEPTH:
            flaws.append(Flaw("TOO_DEEP", FieldError(path, f"nested more than {MAX_DEPTH} levels deep")))
            continue
        if isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                key_flaw = _text_flaw(_join(path, "<key>"), key, 200)
                if key_flaw is not None:
                    flaws.append(Flaw(key_flaw.code, FieldError(path or "(record)", f"a field name {key_flaw.error.message}")))
                    continue
                stack.append((_join(path, key), child, depth + 1))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", child, depth + 1) for i, child in reversed(list(enumerate(item))))
        elif isinstance(item, LongNumber):
            flaws.append(Flaw("TOO_LONG", FieldError(path, f"a number of {item.digits} digits (at most {MAX_INT_DIGITS})")))
        elif isinstance(item, str):
            if path in free_text:
                item = "".join(ch for ch in item if ch not in _INVISIBLE)
            flaw = _text_flaw(path, item, MAX_STRING_CHARS)
            if flaw is not None:
                flaws.append(flaw)
    return flaws


def cell_flaws(cells: dict[str, Any], max_chars: int, names: Iterable[str] = ()) -> list[Flaw]:
    """Flaws of one row's cells (file drop, SQL polling), by column; `names`: columns holding a person's name."""
    free_text = frozenset(names)
    flaws = []
    for column, value in cells.items():
        if isinstance(value, bytes | bytearray):
            flaws.append(Flaw("NOT_UTF8", FieldError(column, "binary value, not text")))
            continue
        if not isinstance(value, str):
            continue
        if any("\udc80" <= ch <= "\udcff" for ch in value):
            flaws.append(Flaw("NOT_UTF8", FieldError(column, "not valid UTF-8")))
            continue
        if column in free_text:
            value = "".join(ch for ch in value if ch not in _INVISIBLE)
        problem = _bad_text(value, max_chars)
        if problem is not None:
            flaws.append(Flaw("TOO_LONG" if problem.startswith("longer") else "BAD_CHARACTER", FieldError(column, problem)))
    return flaws


def flaw_summary(flaws: list[Flaw]) -> tuple[str, tuple[FieldError, ...]]:
    """The dead letter's reason code (the first flaw's) and every field error."""
    return flaws[0].code, tuple(f.error for f in flaws)


def iter_strings(value: Any, limit: int = 500) -> Iterator[str]:
    """Up to `limit` string keys and values of a parsed JSON value (for scrubbing messages)."""
    stack, seen = [value], 0
    while stack and seen < limit:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            seen += 1
            yield item
