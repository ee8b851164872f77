"""A bounded, total JSON parser for the connectors: bytes -> Python value, or JsonRefused with a reason code.

Whatever the input, parse_json returns or raises JsonRefused, never anything else (no RecursionError at depth,
no ValueError for a 5,000-digit integer). Limits: total size, nesting depth, string length (after unescaping),
length of a number literal. Refused too: text that is not UTF-8, lone surrogates (a \\ud800 escape without its
pair), NaN/Infinity and numbers a float cannot hold, and duplicate keys (two values for one name: which one a
reader sees differs between parsers, so neither is kept). A UTF-8 byte-order mark at the start is ignored.
A refusal names where it is (`path`) when it is about one value: a string, a key, a number, or the value nested
one level too deep.

split_items reads a document of the form {"<member>": [item, ...]} into the texts of its items without parsing
them, so that each item can be parsed (and refused) on its own: one bad record of a batch costs no other.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from schemas.errors import Reason
from schemas.formats import SURROGATES

_STRUCTURE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
# strings, structure and separators; a quote that starts no complete string is a token of its own (never valid)
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},:]|"')
_MEMBER_ARRAY = re.compile(r'[ \t\r\n]*\{[ \t\r\n]*("[^"\\]*(?:\\.[^"\\]*)*")[ \t\r\n]*:[ \t\r\n]*\[')
_LITERALS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|-?(?:Infinity|[0-9][0-9.eE+-]*)|NaN')
_CLOSING = re.compile(r'[ \t\r\n]*\}[ \t\r\n]*')
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_OPENERS = frozenset("[{")


@dataclass(frozen=True, slots=True)
class JsonLimits:
    """How much JSON a connector accepts; the connectors set these from DRIVE_* settings."""

    max_bytes: int = 1_048_576
    max_depth: int = 32  # arrays and objects inside each other; an event needs 5
    max_string_length: int = 65_536  # characters of one string or key, after unescaping
    max_number_length: int = 40  # characters of one number literal (sign, digits, point, exponent)


class JsonRefused(ValueError):
    """The bytes are not JSON this project accepts: `code` (a Reason), `message` for people, `path` where ("" top)."""

    def __init__(self, code: Reason, message: str, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.code = code
        self.message = message
        self.path = path


class _Misread(JsonRefused):
    """A number refused inside json.loads, which does not say where: its literal, to find it."""

    def __init__(self, code: Reason, message: str, literal: str) -> None:
        super().__init__(code, message)
        self.literal = literal


def parse_json(data: bytes | bytearray | memoryview | str, limits: JsonLimits = JsonLimits()) -> Any:
    """The JSON value of `data` within `limits`; raises JsonRefused (and nothing else) for anything else."""
    size = len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data)
    if size > limits.max_bytes:
        raise JsonRefused(Reason.TOO_LARGE, f"is {size} bytes, more than the limit of {limits.max_bytes}")
    text = _text(data)
    if text.count("[") + text.count("{") > limits.max_depth:
        _check_depth(text, limits.max_depth)
    try:
        value = json.loads(text, object_pairs_hook=_object, parse_int=_number(limits, int),
                           parse_float=_number(limits, float), parse_constant=_constant)
    except _Misread as exc:
        raise JsonRefused(exc.code, exc.message, _path_of(text, exc.literal)) from None
    except JsonRefused:
        raise
    except json.JSONDecodeError as exc:
        raise JsonRefused(Reason.SYNTAX, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:  # only if the limit is set above what the interpreter can nest
        raise JsonRefused(Reason.TOO_DEEP, f"nested deeper than {limits.max_depth} levels") from None
    except (ValueError, TypeError, OverflowError) as exc:
        raise JsonRefused(Reason.SYNTAX, f"not valid JSON: {type(exc).__name__}") from None
    if len(text) > limits.max_string_length or _SURROGATE_ESCAPE.search(text):
        _check_strings(value, limits.max_string_length)
    return value


def _text(data: bytes | bytearray | memoryview | str) -> str:
    if isinstance(data, str):
        if SURROGATES.search(data):
            raise JsonRefused(Reason.ENCODING, "not UTF-8: holds a lone surrogate")
        text = data
    else:
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonRefused(Reason.ENCODING, f"not UTF-8: invalid byte at position {exc.start}") from None
    return text[1:] if text.startswith("\ufeff") else text


def _check_depth(text: str, limit: int) -> None:
    depth = 0
    for match in _STRUCTURE.finditer(text):
        token = match.group()
        if token in _OPENERS:
            depth += 1
            if depth > limit:
                raise JsonRefused(Reason.TOO_DEEP, f"nested deeper than {limit} levels", _path_at(text, match.start()))
        elif token in "]}":
            depth -= 1


def _path_at(text: str, end: int) -> str:
    """The path of the value text[end] opens (one level too deep), read off a second scan up to it."""
    stack: list[list[Any]] = []  # per open container: its opener and the current key (object) or index (array)
    last = ""
    for match in _TOKENS.finditer(text, 0, end):
        token = match.group()
        if token in _OPENERS:
            stack.append([token, 0 if token == "[" else None])
        elif token in "]}":
            if stack:
                stack.pop()
        elif token == "," and stack:
            stack[-1][1] = stack[-1][1] + 1 if stack[-1][0] == "[" else None
        elif token == ":" and stack:
            stack[-1][1] = _key(last)
        else:
            last = token
    return _path(tuple(part for _, part in stack if part is not None))


def _path_of(text: str, literal: str) -> str:
    """The path of the first value written as `literal` (a number) outside strings."""
    match = next((m for m in _LITERALS.finditer(text) if m.group() == literal), None)
    return "" if match is None else _path_at(text, match.start())


def _key(token: str) -> str:
    try:
        key = json.loads(token)
    except ValueError:
        return "?"
    return key if isinstance(key, str) else "?"


def split_items(data: bytes | bytearray | memoryview | str, member: str,
                limits: JsonLimits = JsonLimits()) -> list[str] | None:
    """The texts of the items of `{"<member>": [item, ...]}`, unparsed (parse each with parse_json), or None when
    the document is not exactly of that form (parse it whole to learn why). Raises JsonRefused only for what is
    wrong with the whole document: too large, not UTF-8. Never recursive: depth costs nothing here."""
    size = len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data)
    if size > limits.max_bytes:
        raise JsonRefused(Reason.TOO_LARGE, f"is {size} bytes, more than the limit of {limits.max_bytes}")
    text = _text(data)
    head = _MEMBER_ARRAY.match(text)
    if head is None or _key(head.group(1)) != member:
        return None
    items: list[str] = []
    depth, start = 0, head.end()
    for match in _TOKENS.finditer(text, head.end()):
        token = match.group()
        if token in _OPENERS:
            depth += 1
        elif token in "]}" and depth:
            depth -= 1
        elif token == "]":
            items.append(text[start:match.start()])
            closed = _CLOSING.fullmatch(text, match.end())
            if closed is None or (len(items) == 1 and not items[0].strip()):
                return [] if closed is not None else None
            return items
        elif token in "}\"":
            return None
        elif token == "," and not depth:
            items.append(text[start:match.start()])
            start = match.end()
    return None


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                shown = key if len(key) <= 64 and not SURROGATES.search(key) else "(a long or odd name)"
                raise JsonRefused(Reason.DUPLICATE_KEY, f"an object has the key {shown!r} twice")
            seen.add(key)
    return out


def _number(limits: JsonLimits, kind: type) -> Any:
    longest = limits.max_number_length

    def parse(literal: str) -> Any:
        if len(literal) > longest:
            raise _Misread(Reason.NUMBER_TOO_LONG, f"a number is {len(literal)} characters long, more than {longest}",
                           literal)
        value = kind(literal)
        if kind is float and not math.isfinite(value):
            raise _Misread(Reason.OUT_OF_RANGE, f"the number {literal} is too large for a double", literal)
        return value

    return parse


def _constant(name: str) -> Any:
    raise _Misread(Reason.OUT_OF_RANGE, f"{name} is not a JSON number", name)


def _check_strings(value: Any, longest: int) -> None:
    """Every string and key within length and free of lone surrogates (iteratively: no recursion on depth)."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            _check_string(node, path, longest)
        elif isinstance(node, dict):
            for key, item in node.items():
                _check_string(key, (*path, key), longest)
                stack.append((item, (*path, key)))
        elif isinstance(node, list):
            stack.extend((item, (*path, i)) for i, item in enumerate(node))


def _check_string(text: str, path: tuple[Any, ...], longest: int) -> None:
    if len(text) > longest:
        raise JsonRefused(Reason.TOO_LONG, f"a string is {len(text)} characters long, more than {longest}", _path(path))
    if SURROGATES.search(text):
        raise JsonRefused(Reason.ENCODING,
                          "a string holds a lone surrogate (a \\ud800-\\udfff escape without its pair)", _path(path))


def _path(parts: tuple[Any, ...]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = part if len(part) <= 64 and not SURROGATES.search(part) else "?"
            out = f"{out}.{name}" if out else name
    return out
