"""The feeds' own limits on the cells a mapping reads (file drop, SQL polling): text, length, characters, by column.

The contract checks the fields a row becomes; these checks name the agency's column instead, and see what the
contract cannot: bytes that are not UTF-8, cells of any length (DRIVE_CONNECTOR_MAX_CELL_CHARS), and name cells,
which are hashed at the door before the contract sees them (connectors.intake.pseudonymise.name_problem).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from connectors.intake.codes import RefusalCode
from connectors.intake.pseudonymise import name_problem
from schemas.errors import FieldError, Reason
from schemas.formats import CHARACTERS_MESSAGE, FORBIDDEN_RANGES, character_class

_LINE_WHITESPACE = {0x09, 0x0A, 0x0D}  # a cell may hold tabs and line breaks; the contract refuses them in fields
_UNDECODED = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8, as surrogateescape keeps them


def _without(low: int, high: int, holes: set[int]) -> list[tuple[int, int]]:
    parts, start = [], low
    for point in sorted(h for h in holes if low <= h <= high):
        if start < point:
            parts.append((start, point - 1))
        start = point + 1
    return parts + ([(start, high)] if start <= high else [])


_FORBIDDEN_IN_CELLS = re.compile(character_class(tuple(
    part for low, high in FORBIDDEN_RANGES for part in _without(low, high, _LINE_WHITESPACE))))


def cell_refusal(cells: dict[str, Any], max_chars: int, names: Iterable[str] = ()
                 ) -> tuple[RefusalCode, tuple[FieldError, ...]] | None:
    """The code (the first bad cell's) and one error per bad cell, by column; None when every cell can be read."""
    name_columns = frozenset(names)
    found = [problem for column, value in cells.items()
             if (problem := _problem(column, value, max_chars, column in name_columns)) is not None]
    return (found[0][0], tuple(error for _, error in found)) if found else None


def _problem(column: str, value: Any, max_chars: int, is_name: bool) -> tuple[RefusalCode, FieldError] | None:
    if isinstance(value, bytes | bytearray):
        return RefusalCode.NOT_UTF8, FieldError(column, "binary value, not text", Reason.ENCODING)
    if not isinstance(value, str):
        return None
    if _UNDECODED.search(value):
        return RefusalCode.NOT_UTF8, FieldError(column, "not valid UTF-8", Reason.ENCODING)
    if len(value) > max_chars:
        return RefusalCode.TOO_LONG, FieldError(column, f"longer than {max_chars} characters ({len(value)})",
                                                Reason.TOO_LONG)
    if is_name:
        error = name_problem(value, column)
        if error is None:
            return None
        return RefusalCode.TOO_LONG if error.code == Reason.TOO_LONG else RefusalCode.BAD_CHARACTER, error
    if _FORBIDDEN_IN_CELLS.search(value):
        return RefusalCode.BAD_CHARACTER, FieldError(column, CHARACTERS_MESSAGE, Reason.CHARACTERS)
    return None
