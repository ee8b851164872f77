"""Rows of a dropped extract: CSV with a header, or JSON lines; each row keeps its exact raw bytes.

CSV rows are numbered from 1 after the header (a quoted cell may span lines); JSON-lines rows by
their line number. A row that cannot be read (ragged, bad encoding, bad JSON) comes back with a
`problem` instead of values; a file that cannot be read at all raises FileProblem.
"""
from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from connectors.intake.codes import RefusalCode, parser_code
from schemas.errors import Reason
from schemas.jsonparse import JsonRefused, parse_json

CSV_TYPE = "text/csv"
JSONL_TYPE = "application/x-ndjson"


class FileProblem(ValueError):
    """The whole file is unusable (empty, header only, bad header, unknown type)."""


@dataclass(frozen=True)
class SourceRow:
    """One record of an extract: its number, raw bytes, and values or why it could not be read (the problem, its
    code, and where: the row, or a path inside a JSON line)."""

    number: int
    raw: bytes
    values: dict[str, Any] | None
    problem: str | None = None
    code: RefusalCode = RefusalCode.UNPARSEABLE
    path: str = "row"
    reason: Reason = Reason.INVALID


def content_type(file_name: str) -> str:
    """The MIME type of an extract by its file name; FileProblem for other kinds of file."""
    lower = file_name.lower()
    if lower.endswith(".csv"):
        return CSV_TYPE
    if lower.endswith(".jsonl") or lower.endswith(".ndjson"):
        return JSONL_TYPE
    raise FileProblem("unsupported file type: only .csv and .jsonl extracts are read")


def read_rows(file_name: str, data: bytes) -> Iterator[SourceRow]:
    """The rows of an extract (CSV or JSON lines by file name)."""
    if not data.strip():
        raise FileProblem("empty file")
    if content_type(file_name) == CSV_TYPE:
        return _csv_rows(data)
    return _jsonl_rows(data)


class _LineTap:
    """Feeds csv.reader line by line and remembers the lines the current record consumed."""

    def __init__(self, lines: list[str]) -> None:
        self._lines = iter(lines)
        self.taken: list[str] = []

    def __iter__(self) -> "_LineTap":
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.taken.append(line)
        return line

    def take(self) -> bytes:
        raw = "".join(self.taken).encode("utf-8", "surrogateescape")
        self.taken = []
        return raw


def _has_bad_bytes(cells: list[str]) -> bool:
    return any("\udc80" <= ch <= "\udcff" for cell in cells for ch in cell)


def _csv_rows(data: bytes) -> Iterator[SourceRow]:
    text = data.decode("utf-8", "surrogateescape").removeprefix("\ufeff")
    tap = _LineTap(text.splitlines(keepends=True))
    reader = csv.reader(tap, strict=True)
    header = _csv_header(reader, tap)
    return _csv_records(reader, tap, header)


def _csv_header(reader: Any, tap: _LineTap) -> list[str]:
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise FileProblem("no readable CSV header") from exc
    tap.take()
    names = [name.strip() for name in header]
    if _has_bad_bytes(names):
        raise FileProblem("CSV header is not valid UTF-8")
    if any(not name for name in names) or len(set(names)) != len(names):
        raise FileProblem("CSV header has blank or repeated column names")
    return names


def _csv_records(reader: Any, tap: _LineTap, header: list[str]) -> Iterator[SourceRow]:
    number = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            number += 1
            rest = tap.take() + "".join(tap).encode("utf-8", "surrogateescape")
            yield SourceRow(number, rest, None, "CSV syntax error (e.g. an unclosed quote); rest of file not read")
            return
        raw = tap.take()
        if not cells:
            continue  # blank line
        number += 1
        if _has_bad_bytes(cells):
            yield SourceRow(number, raw, None, "row is not valid UTF-8")
        elif len(cells) != len(header):
            yield SourceRow(number, raw, None, f"ragged row: {len(cells)} cells, the header has {len(header)}")
        else:
            yield SourceRow(number, raw, dict(zip(header, cells)))
    if number == 0:
        raise FileProblem("header only: no data rows")


def _jsonl_rows(data: bytes) -> Iterator[SourceRow]:
    for number, line in enumerate(data.split(b"\n"), start=1):
        raw = line.removesuffix(b"\r")
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        if not raw.strip():
            continue
        try:
            value = parse_json(raw)
        except JsonRefused as refused:
            yield SourceRow(number, raw, None, f"line is {refused.message}", parser_code(refused.code),
                            refused.path or "row", refused.code)
            continue
        if not isinstance(value, dict):
            yield SourceRow(number, raw, None, "line is not a JSON object", RefusalCode.NOT_AN_OBJECT, "row",
                            Reason.TYPE)
            continue
        yield SourceRow(number, raw, value)
