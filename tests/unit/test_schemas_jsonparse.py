"""The bounded JSON parser: every input gives a value or JsonRefused with a reason, and valid JSON round-trips."""
from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from schemas.errors import Reason
from schemas.jsonparse import JsonLimits, JsonRefused, parse_json, split_items

PROFILE = hsettings(max_examples=300, deadline=None)
JSON_SCALARS = st.none() | st.booleans() | st.integers(-(10**30), 10**30) | st.floats(allow_nan=False,
                                                                                         allow_infinity=False) \
    | st.text(st.characters(blacklist_categories=["Cs"]), max_size=40)
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=5)
                           | st.dictionaries(st.text(st.characters(blacklist_categories=["Cs"]), max_size=10),
                                             inner, max_size=5), max_leaves=40)


def _refusal(data, limits=JsonLimits()):
    with pytest.raises(JsonRefused) as caught:
        parse_json(data, limits)
    return caught.value.code, caught.value.message, caught.value.path


@given(st.binary(max_size=300))
@PROFILE
def test_any_bytes_give_a_value_or_a_refusal(data):
    """Random bytes never raise anything but JsonRefused."""
    try:
        parse_json(data)
    except JsonRefused as exc:
        assert isinstance(exc.code, Reason) and exc.message


@given(st.text(max_size=200))
@PROFILE
def test_any_text_including_lone_surrogates_gives_a_value_or_a_refusal(text):
    """Random text (with surrogates) never raises anything but JsonRefused."""
    try:
        parse_json(text)
    except JsonRefused as exc:
        assert exc.code in set(Reason)


@given(st.lists(st.sampled_from(['[', ']', '{', '}', '"a":', '1', ',', '"\\ud800"', '9' * 50, 'NaN', '"x"', ' ']),
                max_size=120))
@PROFILE
def test_adversarial_fragments_give_a_value_or_a_refusal(pieces):
    """Brackets, keys, long numbers, surrogate escapes and constants in any order: never another exception."""
    try:
        parse_json("".join(pieces).encode())
    except JsonRefused:
        pass


@given(JSON_VALUES, st.booleans())
@PROFILE
def test_valid_json_round_trips(value, ascii_only):
    """Whatever json.dumps writes (within the limits) parses back to an equal value."""
    assert parse_json(json.dumps(value, ensure_ascii=ascii_only).encode("utf-8")) == value


@pytest.mark.parametrize("depth", [900, 5000, 150_000])
def test_deep_nesting_is_refused_not_a_recursion_error(depth):
    """~900-deep nesting crashed the intake; any depth past the limit is too_deep."""
    assert _refusal(b"[" * depth + b"]" * depth)[0] is Reason.TOO_DEEP
    assert _refusal(('{"a":' * depth + "1" + "}" * depth).encode())[0] is Reason.TOO_DEEP


def test_nesting_up_to_the_limit_parses_and_brackets_in_strings_do_not_count():
    """32 levels parse; brackets inside strings are text, not nesting."""
    assert parse_json(b"[" * 32 + b"]" * 32) is not None
    assert parse_json(json.dumps({"x": "[" * 100}).encode()) == {"x": "[" * 100}


def test_a_5000_digit_integer_has_its_own_reason():
    """A long number is number_too_long (it was 'not UTF-8'); 40 characters still parse."""
    assert _refusal(b'{"n": ' + b"7" * 5000 + b"}")[0] is Reason.NUMBER_TOO_LONG
    assert parse_json(b"[" + b"9" * 40 + b"]") == [int("9" * 40)]


@pytest.mark.parametrize(("data", "code"), [
    (b'{"id": "x-\\ud800"}', Reason.ENCODING),
    (b'{"id": "\\udc00x"}', Reason.ENCODING),
    ("x-\ud800", Reason.ENCODING),
    (b"\xff\xfe{}", Reason.ENCODING),
    (b'{"a": 1, "a": 2}', Reason.DUPLICATE_KEY),
    (b"NaN", Reason.OUT_OF_RANGE),
    (b"[-Infinity]", Reason.OUT_OF_RANGE),
    (b"[1e999]", Reason.OUT_OF_RANGE),
    (b'{"a": }', Reason.SYNTAX),
    (b"{'a': 1}", Reason.SYNTAX),
    (b"", Reason.SYNTAX),
])
def test_refusals_name_their_reason(data, code):
    """Lone surrogates, bad UTF-8, duplicate keys, non-finite numbers and syntax errors each say why."""
    assert _refusal(data)[0] is code


def test_surrogate_pairs_are_text_and_the_bom_is_ignored():
    """A proper \\ud83d\\ude00 pair is one character; a leading UTF-8 BOM is skipped."""
    assert parse_json(b'{"a": "\\ud83d\\ude00"}') == {"a": "\U0001F600"}
    assert parse_json(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}


def test_size_and_string_limits_name_the_place():
    """A body over max_bytes is too_large; an overlong string is too_long with its path."""
    limits = JsonLimits(max_bytes=100, max_string_length=10)
    assert _refusal(b"[" + b"1," * 60 + b"1]", limits)[0] is Reason.TOO_LARGE
    code, _, path = _refusal(b'{"records": [{"incident_ref": "' + b"x" * 11 + b'"}]}', limits)
    assert (code, path) == (Reason.TOO_LONG, "records[0].incident_ref")
    code, _, path = _refusal(b'{"a": ["\\ud800"]}')
    assert (code, path) == (Reason.ENCODING, "a[0]")


def test_too_deep_names_the_container_nested_too_deep():
    """Depth is refused where it happens: the path of the first value nested one level too deep."""
    deep = b"[" * 40 + b"]" * 40
    code, _, path = _refusal(b'{"a": 1, "details": {"ref": "x", "incident_ref": ' + deep + b"}}")
    assert code is Reason.TOO_DEEP and path == "details.incident_ref" + "[0]" * 30
    code, _, path = _refusal(b'[1, 2, {"k[": ' + deep + b"}]")
    assert (code, path[:9]) == (Reason.TOO_DEEP, "[2].k[[0]")
    assert _refusal(b"[" * 100_000)[2] == "[0]" * 32


@pytest.mark.parametrize(("data", "items"), [
    (b'{"records": [1, {"a": [2, 3]}, "x,]}"]}', ["1", ' {"a": [2, 3]}', ' "x,]}"']),
    (b' \n{ "rec\\u006frds" :[ ] }\n', []),
    (b'{"records": [' + b"[" * 5000 + b", 7]}", None),  # unbalanced: parse it whole to learn why
    (b'{"records": [1], "x": 2}', None),
    (b'{"records": [1]', None),
    (b'{"other": [1]}', None),
    (b'{"records": ["unterminated]}', None),
    (b'[{"records": []}]', None),
])
def test_split_items_reads_a_batch_into_its_items_unparsed(data, items):
    """The items of {"records": [...]} come back as texts to parse one by one; any other form is None."""
    assert split_items(data, "records") == items


def test_split_items_lets_each_item_be_refused_alone():
    """A batch with a too-deep and a too-long item: the good items parse, each bad one is refused on its own."""
    body = b'{"records": [{"id": 1}, ' + b"[" * 900 + b"]" * 900 + b', {"id": "' + b"x" * 70_000 + b'"}, {"id": 2}]}'
    parsed = []
    for item in split_items(body, "records"):
        try:
            parsed.append(parse_json(item))
        except JsonRefused as refused:
            parsed.append(refused.code)
    assert parsed == [{"id": 1}, Reason.TOO_DEEP, Reason.TOO_LONG, {"id": 2}]
    with pytest.raises(JsonRefused) as refused:
        split_items(b'{"records": [1]}', "records", JsonLimits(max_bytes=4))
    assert refused.value.code is Reason.TOO_LARGE


@pytest.mark.parametrize(("data", "code", "path"), [
    (b'{"a": "7", "b": [1, ' + b"7" * 50 + b"]}", Reason.NUMBER_TOO_LONG, "b[1]"),
    (b'{"s": "NaN", "n": {"x": NaN}}', Reason.OUT_OF_RANGE, "n.x"),
    (b'[1e999]', Reason.OUT_OF_RANGE, "[0]"),
])
def test_number_refusals_name_the_number(data, code, path):
    """A refused number says where it is, though json.loads does not."""
    assert _refusal(data)[::2] == (code, path)
