"""Reading dropped extracts: CSV and JSON-lines rows with their raw bytes, and per-row / per-file problems."""
from __future__ import annotations

import pytest

from connectors.filedrop.rows import FileProblem, read_rows


def rows(name: str, data: bytes) -> list:
    """All rows of a file."""
    return list(read_rows(name, data))


def test_csv_rows_keep_exact_raw_bytes_including_multiline_cells() -> None:
    """Each CSV row carries the bytes it was read from; a quoted cell may span lines."""
    data = b'\xef\xbb\xbfa,b\r\n1,"x\r\ny"\r\n\r\n2,z\r\n'
    found = rows("f.csv", data)
    assert [(r.number, r.raw, r.values) for r in found] == [
        (1, b'1,"x\r\ny"\r\n', {"a": "1", "b": "x\r\ny"}), (2, b"2,z\r\n", {"a": "2", "b": "z"})]


def test_ragged_and_badly_encoded_csv_rows_are_per_row_problems() -> None:
    """A row with the wrong cell count or invalid UTF-8 is reported on its own; good rows still come."""
    found = rows("f.csv", b"a,b\n1,2,3\n\xff\xfe,4\n5,6\n")
    assert [(r.number, r.problem) for r in found] == [
        (1, "ragged row: 3 cells, the header has 2"), (2, "row is not valid UTF-8"), (3, None)]
    assert found[1].raw == b"\xff\xfe,4\n"


@pytest.mark.parametrize(("name", "data", "message"), [
    ("f.csv", b"", "empty file"),
    ("f.csv", b"  \n", "empty file"),
    ("f.csv", b"a,b\n", "header only"),
    ("f.csv", b"a,a\n1,2\n", "repeated column names"),
    ("f.xlsx", b"PK\x03\x04", "unsupported file type"),
])
def test_unusable_files_are_per_file_problems(name: str, data: bytes, message: str) -> None:
    """Empty, header-only, bad-header and unknown-type files raise FileProblem with a clear message."""
    with pytest.raises(FileProblem, match=message):
        rows(name, data)


def test_unclosed_quote_stops_reading_with_a_row_problem() -> None:
    """A CSV syntax error reports the rest of the file as one unreadable row."""
    found = rows("f.csv", b'a,b\n1,2\n3,"open\n')
    assert found[0].values == {"a": "1", "b": "2"}
    assert found[1].problem.startswith("CSV syntax error") and found[1].raw == b'3,"open\n'


def test_jsonl_rows_numbered_by_line_with_bad_lines_reported() -> None:
    """JSON lines: blank lines skipped, bad JSON, non-objects and bad UTF-8 are per-line problems."""
    data = b'{"a": 1}\n\n{broken\n[1]\n"\xff"\n{"b": "x"}\r\n'
    found = rows("f.jsonl", data)
    assert [(r.number, r.code, (r.problem or "")[:22]) for r in found] == [
        (1, "UNPARSEABLE", ""), (3, "UNPARSEABLE", "line is not valid JSON"),
        (4, "NOT_AN_OBJECT", "line is not a JSON obj"), (5, "NOT_UTF8", "line is not UTF-8: inv"), (6, "UNPARSEABLE", "")]
    assert found[0].values == {"a": 1} and found[5 - 1].raw == b'{"b": "x"}'


def test_jsonl_lines_are_read_with_the_contracts_bounded_parser() -> None:
    """A line nested too deep, with a long number or a duplicate key is refused with the parser's code and place."""
    data = b'{"x": ' + b"[" * 40 + b"]" * 40 + b'}\n{"n": ' + b"9" * 50 + b'}\n{"a": 1, "a": 2}\n'
    found = rows("f.jsonl", data)
    assert [(r.code, r.path, r.reason) for r in found] == [
        ("TOO_DEEP", "x" + "[0]" * 31, "too_deep"), ("TOO_LONG", "n", "number_too_long"),
        ("DUPLICATE_KEY", "row", "duplicate_key")]
