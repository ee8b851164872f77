"""Identity resolution against the case registry: exact identifiers link, a name-hash + birth-date match only asks."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas.details import CaseSnapshot
from schemas.enums import CaseStatus, Severity
from schemas.events import Alert, Event
from streams.rules.alerts import build_alert
from streams.rules.catalogue import Recipients, rule
from streams.rules.drafts import draft
from streams.rules.state import SubjectState

IDENTITY_POSSIBLE_MATCH = rule("identity.possible_match", Severity.HIGH, Recipients.CASE_MANAGER, "an agency event "
                               "matches the case's name hash and date of birth but no identifier")


@dataclass(slots=True)
class IdentityIndex:
    """The registry's identifiers: "SCHEME:value" -> subject, "name_hash|dob" -> subjects, and each subject's keys."""

    by_identifier: dict[str, str] = field(default_factory=dict)
    by_near: dict[str, set[str]] = field(default_factory=dict)
    keys_of: dict[str, tuple[tuple[str, ...], str | None]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form (each subject's keys; the lookups are rebuilt from them)."""
        return {subject: {"ids": list(ids), "near": near} for subject, (ids, near) in self.keys_of.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IdentityIndex:
        """The index of a to_dict form."""
        index = cls()
        for subject, keys in data.items():
            _add(index, subject, tuple(keys["ids"]), keys.get("near"))
        return index


@dataclass(frozen=True, slots=True)
class Resolved:
    """The event is about this Drive subject."""

    subject_id: str


@dataclass(frozen=True, slots=True)
class PossibleMatch:
    """No shared identifier, but the same name hash and date of birth as these subjects: ask, never link."""

    subject_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NotASubject:
    """Nobody in the registry: drop the event and keep nothing of it."""


Resolution = Resolved | PossibleMatch | NotASubject


def near_key(event: Event) -> str | None:
    """"name_hash|dob" of an event, when it carries both."""
    if not event.name_hash or event.date_of_birth is None:
        return None
    return f"{event.name_hash}|{event.date_of_birth.isoformat()}"


def index_case(index: IdentityIndex, event: Event) -> IdentityIndex:
    """Replaces the subject's entries with those of a case snapshot (a closed case is removed); updates in place."""
    snapshot = event.details
    if not isinstance(snapshot, CaseSnapshot):
        return index
    _remove(index, snapshot.subject_id)
    if snapshot.status != CaseStatus.CLOSED:
        ids = tuple(dict.fromkeys(p.key() for p in snapshot.identifiers))
        _add(index, snapshot.subject_id, ids, near_key(event))
    return index


def resolve(index: IdentityIndex, event: Event) -> Resolution:
    """Which subject an event is about: a shared identifier, else a near-match to confirm, else nobody."""
    if isinstance(event.details, CaseSnapshot):
        return Resolved(event.details.subject_id)
    for person_id in event.person_ids:
        subject = index.by_identifier.get(person_id.key())
        if subject is not None:
            return Resolved(subject)
    near = near_key(event)
    candidates = index.by_near.get(near, set()) if near else set()
    return PossibleMatch(tuple(sorted(candidates))) if candidates else NotASubject()


def possible_match_alert(event: Event, subject_state: SubjectState, now: datetime) -> Alert | None:
    """The "possible match" alert to the candidate subject's case manager (None without an open case)."""
    identifier = event.person_ids[0].key() if event.person_ids else "no identifier"
    # The agency id in capitals: a code the delivery guard passes whatever its punctuation (police.demo).
    detail = f"{event.source.agency.upper()} {event.event_type.value} for {identifier}"
    d = draft(IDENTITY_POSSIBLE_MATCH, event.event_id, event.occurred_at, detail=detail)
    return build_alert(subject_state, d, now)


def _add(index: IdentityIndex, subject: str, ids: tuple[str, ...], near: str | None) -> None:
    for key in ids:
        index.by_identifier[key] = subject
    if near:
        index.by_near.setdefault(near, set()).add(subject)
    index.keys_of[subject] = (ids, near)


def _remove(index: IdentityIndex, subject: str) -> None:
    ids, near = index.keys_of.pop(subject, ((), None))
    for key in ids:
        if index.by_identifier.get(key) == subject:
            del index.by_identifier[key]
    if near and near in index.by_near:
        index.by_near[near].discard(subject)
        if not index.by_near[near]:
            del index.by_near[near]
