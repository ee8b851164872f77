"""Names reduced at the door: a keyed HMAC-SHA256 of a normalised name, so clear names are never kept."""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from pydantic import SecretStr

from schemas.errors import FieldError, Reason
from schemas.jsonparse import JsonRefused, parse_json

_APOSTROPHES = frozenset("'\u2019\u2018`\u00b4\u02bc")
_LETTER_RUN = re.compile(r"[^\W\d_]+")


def normalise_name(name: str) -> str:
    """The near-match key of a name: its first forename and the last part of its surname, casefolded, sorted.

    The same person written differently by two agencies gets the same key: "SURNAME, Forename" or "Forename
    SURNAME" or "Forename Surname" (or "SURNAME Forename"), middle names or not, any case, with or without
    diacritics, apostrophes (O'Brien = OBrien), extra spaces; a hyphen is a separator (Smith-Jones = Smith Jones).
    The surname is the part before a comma, else the words in capitals when others are not, else the last word.
    Two people sharing a first forename and a surname share a key: the key only ever asks for a possible match.
    """
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", name)
                    if not unicodedata.combining(ch) and ch not in _APOSTROPHES)
    words = _words(plain)
    surname, forenames = words[-1:], words[:-1]
    before, comma, after = plain.partition(",")
    capitals = [w for w in words if _in_capitals(w)]
    if comma and _words(before) and _words(after):
        surname, forenames = _words(before), _words(after)
    elif capitals and len(capitals) < len(words) and any(ch.islower() for w in words for ch in w):
        surname, forenames = capitals, [w for w in words if not _in_capitals(w)]
    parts = [_LETTER_RUN.findall(forenames[0])[0] if forenames else "",
             _LETTER_RUN.findall(surname[-1])[-1] if surname else ""]
    return " ".join(sorted(p.casefold() for p in parts if p))


def _words(text: str) -> list[str]:
    """The whitespace-separated words of a name that hold a letter."""
    return [w for w in text.split() if _LETTER_RUN.search(w)]


def _in_capitals(word: str) -> bool:
    letters = "".join(_LETTER_RUN.findall(word))
    return len(letters) >= 2 and not any(ch.islower() for ch in letters)


class NameHasher:
    """Turns a person's name into a stable keyed hash; the key (settings.name_hash_key) is secret."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes | str | SecretStr) -> None:
        if isinstance(key, SecretStr):
            key = key.get_secret_value()
        if isinstance(key, str):
            key = key.encode("utf-8")
        if not key:
            raise ValueError("the name hash key must not be empty")
        self._key = key

    def hash_name(self, name: str) -> str:
        """Hex HMAC-SHA256 of the normalised name; the same person written differently hashes the same."""
        if not isinstance(name, str):
            raise TypeError("a name must be a string")
        return hmac.new(self._key, normalise_name(name).encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()

    def fingerprint(self, value: str | bytes) -> str:
        """A short keyed fingerprint of any value (16 hex): equal values match, the value cannot be read back."""
        data = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
        return hmac.new(self._key, b"fingerprint\x00" + data, hashlib.sha256).hexdigest()[:16]

    def __repr__(self) -> str:
        return "NameHasher(key=***)"


NAME_FIELD = "person_name"
HASH_FIELD = "name_hash"
NAME_MAX_CHARS = 1000
# A name may hold format characters (zero-width joiners and bidi marks are how some scripts and tools write
# names, and the hash does not care), but no control or line separator characters and no lone surrogates.
_NOT_IN_NAMES = frozenset({"Cc", "Zl", "Zp", "Cs"})
NAME_CHARACTERS = "must not contain control or line separator characters or lone surrogates"
# a person_name member inside JSON-looking text that did not parse as a whole (e.g. a broken line)
_NAME_MEMBER = re.compile(rb'"person_name"\s*:\s*"((?:[^"\\]|\\.)*)"')


def name_problem(value: object, path: str = NAME_FIELD) -> FieldError | None:
    """Why a name given to the door cannot be hashed, or None (null: no name). The door's own rule: the contract
    never sees names, only their hashes."""
    if value is None:
        return None
    if not isinstance(value, str):
        return FieldError(path, "must be a string", Reason.TYPE)
    if len(value) > NAME_MAX_CHARS:
        return FieldError(path, f"must be at most {NAME_MAX_CHARS} characters", Reason.TOO_LONG)
    if any(unicodedata.category(ch) in _NOT_IN_NAMES for ch in value):
        return FieldError(path, NAME_CHARACTERS, Reason.CHARACTERS)
    return None


def reduce_record(record: dict[str, Any], hasher: NameHasher) -> dict[str, Any]:
    """A copy of a JSON-form record whose top-level person_name is replaced by name_hash."""
    reduced = dict(record)
    if NAME_FIELD in reduced:
        name = reduced.pop(NAME_FIELD)
        reduced[HASH_FIELD] = hasher.hash_name(name) if isinstance(name, str) else None
    return reduced


def _reduce_everywhere(value: Any, hasher: NameHasher) -> tuple[Any, bool]:
    """Replace person_name at every depth of parsed JSON; returns (value, whether anything changed)."""
    if isinstance(value, dict):
        changed = NAME_FIELD in value
        out = reduce_record(value, hasher) if changed else dict(value)
        for k, v in out.items():
            out[k], sub = _reduce_everywhere(v, hasher)
            changed = changed or sub
        return out, changed
    if isinstance(value, list):
        items = [_reduce_everywhere(v, hasher) for v in value]
        return [v for v, _ in items], any(c for _, c in items)
    return value, False


def scrub_raw(raw: bytes, hasher: NameHasher, clear_names: Iterable[str] = ()) -> bytes:
    """The raw payload as a dead letter keeps it, with every person name reduced to its hash.

    - JSON that parses: every `"person_name": <v>` member at any depth becomes `"name_hash": <hash>`
      (non-string values: null) and the document is re-serialised compactly as UTF-8; a document
      without person_name is kept byte for byte.
    - anything else: each `"person_name": "..."` member in the text becomes `"name_hash": "<hash>"`.
    - then, in both cases, every exact occurrence of a caller-given clear name (e.g. a CSV name
      column) is replaced by `name_hash:<hash>`.
    """
    try:
        reduced, changed = _reduce_everywhere(parse_json(raw), hasher)
        if changed:
            raw = _compact(reduced)
    except JsonRefused:  # not JSON the door reads (truncated, too deep, ...): scrub the text
        raw = _NAME_MEMBER.sub(lambda m: _hash_member(m.group(1), hasher), raw)
    for name in sorted({n for n in clear_names if n}, key=len, reverse=True):
        raw = raw.replace(name.encode("utf-8", "surrogatepass"), f"name_hash:{hasher.hash_name(name)}".encode("ascii"))
    return raw


def _compact(value: Any) -> bytes:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: escaped instead
        return json.dumps(value, separators=(",", ":")).encode("ascii")


def _hash_member(escaped: bytes, hasher: NameHasher) -> bytes:
    try:
        name = json.loads(b'"' + escaped + b'"')
    except ValueError:
        name = escaped.decode("utf-8", "replace")
    return f'"{HASH_FIELD}":"{hasher.hash_name(name)}"'.encode("ascii")
