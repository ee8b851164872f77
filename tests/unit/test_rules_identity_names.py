"""Names as agencies write them: every spelling of one person gives one near-match key, and it only ever asks."""
from __future__ import annotations

import itertools
import unicodedata
from dataclasses import dataclass
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.intake.pseudonymise import NameHasher, normalise_name
from schemas.enums import IncidentEventType, PersonIdScheme
from schemas.shared import PersonId
from streams.rules import IdentityIndex, NotASubject, PossibleMatch, index_case, resolve
from tests.unit.rules_fixtures import SUBJECT, case_event, event, incident

HASHER = NameHasher(b"test-key")
DOB = date(1988, 3, 14)
_LETTERS = "abcdefghijklmnopqrstuvwxyzéèêëáàâäíïóöôúüûñçå"


@dataclass(frozen=True)
class Person:
    """A person's name as parts: forename, middle names, surname parts (double-barrelled) and an O'-style prefix."""

    forename: str
    middles: tuple[str, ...]
    surname: tuple[str, ...]
    prefix: str  # "" or e.g. "O" for O'Brien


@dataclass(frozen=True)
class Style:
    """How one agency writes names."""

    form: int  # 0 "SURNAME, Forenames"; 1 "Forenames SURNAME"; 2 "Forenames Surname"; 3 "SURNAME Forenames"
    middles: bool
    hyphen: str  # "-" or " " between surname parts
    apostrophe: bool
    diacritics: bool
    case: str  # "as is", "upper", "lower" (the whole string; not for form 3, whose capitals mark the surname)
    spaces: tuple[str, ...]


word = st.text(_LETTERS, min_size=2, max_size=9).map(str.capitalize)
people = st.builds(Person, word, st.lists(word, max_size=2).map(tuple), st.lists(word, min_size=1, max_size=2)
                   .map(tuple), st.sampled_from(["", "O", "D"]))
styles = st.builds(Style, st.integers(0, 3), st.booleans(), st.sampled_from(["-", " "]), st.booleans(),
                   st.booleans(), st.sampled_from(["as is", "upper", "lower"]),
                   st.lists(st.sampled_from([" ", "  ", "\t", " \t "]), min_size=1, max_size=6).map(tuple))


def _plain(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def written(p: Person, s: Style) -> str:
    """The person's name as an agency of that style writes it."""
    surname = s.hyphen.join(p.surname)
    if p.prefix:
        surname = p.prefix + ("'" if s.apostrophe else "") + surname
    forenames = [p.forename, *(p.middles if s.middles else ())]
    gap = itertools.cycle(s.spaces)
    forenames_text = "".join(f"{w}{next(gap)}" for w in forenames).rstrip()
    between = next(gap)
    text = [f"{surname.upper()},{between}{forenames_text}", f"{forenames_text}{between}{surname.upper()}",
            f"{forenames_text}{between}{surname}", f"{surname.upper()}{between}{forenames_text}"][s.form]
    if not s.diacritics:
        text = _plain(text)
    if s.form != 3:
        text = {"as is": text, "upper": text.upper(), "lower": text.lower()}[s.case]
    return f"{next(gap)}{text}{next(gap)}"


@given(people, styles, styles)
def test_one_person_written_two_ways_has_one_key(person: Person, a: Style, b: Style) -> None:
    """Order (comma, capitals), middle names, case, diacritics, hyphens, apostrophes, spaces: one key, one hash."""
    assert normalise_name(written(person, a)) == normalise_name(written(person, b))
    assert HASHER.hash_name(written(person, a)) == HASHER.hash_name(written(person, b))


@given(people, people, styles)
def test_a_different_forename_or_surname_is_another_key(one: Person, other: Person, style: Style) -> None:
    """Two people whose first forename or last surname part differ do not share a key."""
    def parts(p: Person) -> frozenset[str]:
        last = (p.prefix + p.surname[-1]) if len(p.surname) == 1 else p.surname[-1]
        return frozenset({_plain(p.forename).casefold(), _plain(last).casefold()})
    if parts(one) != parts(other):
        assert HASHER.hash_name(written(one, style)) != HASHER.hash_name(written(other, style))


@pytest.mark.parametrize("registry, agency", [
    ("Alexis Jane TESTSUBJECT-SMITH", "TESTSUBJECT SMITH, Alexis"),
    ("Seán O'Brien", "OBRIEN Sean"),
    ("  zoë   van-der-berg ", "Zoe Marie Van Der BERG"),
])
def test_a_near_match_however_written_is_a_possible_match_never_a_link(registry: str, agency: str) -> None:
    """The case registry's spelling and an agency's: a possible match for the case manager, not a resolution."""
    index = index_case(IdentityIndex(), case_event(name_hash=HASHER.hash_name(registry), dob=DOB))
    unknown = (PersonId(scheme=PersonIdScheme.FORCE_NOMINAL, value="MPS-000001"),)
    details = incident("VIC-X").details
    e = event(IncidentEventType.DOMESTIC_INCIDENT, details, person_ids=unknown, name_hash=HASHER.hash_name(agency),
              dob=DOB)
    assert resolve(index, e) == PossibleMatch((SUBJECT,))
    other_day = event(IncidentEventType.DOMESTIC_INCIDENT, details, person_ids=unknown,
                      name_hash=HASHER.hash_name(agency), dob=date(1988, 3, 15))
    assert resolve(index, other_day) == NotASubject()


@pytest.mark.parametrize("name, key", [
    ("SMITH, John Michael", "john smith"),
    ("John Michael SMITH", "john smith"),
    ("SMITH John", "john smith"),
    ("Mary-Jane Smith-Jones", "jones mary"),
    ("O’BRIEN, Seán", "obrien sean"),
    ("Smith", "smith"),
    ("", ""),
], ids=["comma", "capitals-last", "capitals-first", "hyphens", "apostrophe-diacritics", "one-word", "empty"])
def test_the_key_is_first_forename_and_last_surname_part(name: str, key: str) -> None:
    """The key is the first forename and the last part of the surname, casefolded and sorted."""
    assert normalise_name(name) == key
