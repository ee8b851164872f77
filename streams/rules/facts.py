"""Small pure helpers over state facts: condition conversion, protected victims, short ids, time precision."""
from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from datetime import datetime

from schemas.shared import Condition, LocationRef
from streams.rules.state import ActiveCondition, CaseInfo, SourceKind


def whole_seconds(t: datetime) -> datetime:
    """t without its fraction of a second: the precision the state keeps (and judges) times at."""
    return t.replace(microsecond=0)


def maybe_seconds(t: datetime | None) -> datetime | None:
    """whole_seconds for optional times."""
    return None if t is None else whole_seconds(t)


def short_id(text: str) -> str:
    """A 10-character digest of an id, for the bounded seen-sets (collisions within one subject are negligible)."""
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()[:8]).decode()[:10]


def location_key(loc: LocationRef | None) -> str | None:
    """A coded place as "KIND:value"."""
    return None if loc is None else f"{loc.kind.value}:{loc.value}"


def to_active(kind: SourceKind, ref: str, c: Condition, expires_at: datetime | None,
              not_before: datetime | None = None) -> ActiveCondition:
    """The state form of a contract condition of bail, an order or a licence."""
    starts = c.starts_at if not_before is None else max(c.starts_at, not_before)
    return ActiveCondition(
        source_kind=kind, source_ref=ref, condition_id=c.condition_id, kind=c.kind,
        starts_at=whole_seconds(starts), ends_at=maybe_seconds(c.ends_at),
        protected_person_ref=c.protected_person_ref, location=location_key(c.location_ref),
        curfew=None if c.curfew is None else f"{c.curfew.start}-{c.curfew.end}",
        source_expires_at=maybe_seconds(expires_at),
    )


def protected_victims(case: CaseInfo | None, c: ActiveCondition) -> tuple[str, ...]:
    """The linked victims a condition protects (by person or by place); () when it protects no one in particular."""
    person, place = c.protected_person_ref, c.location
    if case is None or (person is None and place is None):
        return ()
    return tuple(v.victim_ref for v in case.victims
                 if (person is not None and (person == v.victim_ref or person in v.protected_person_refs))
                 or (place is not None and place in v.protected_location_values))


def victims_of(case: CaseInfo | None, conditions: Iterable[ActiveCondition]) -> tuple[str, ...]:
    """The victims concerned by some conditions; () (perpetrator-wide) if any of them protects no one in particular."""
    refs: set[str] = set()
    for c in conditions:
        victims = protected_victims(case, c)
        if not victims:
            return ()
        refs.update(victims)
    return tuple(sorted(refs))


def end_later(a: datetime | None, b: datetime | None) -> bool:
    """a ends later than b (None: never ends)."""
    if a is None:
        return b is not None
    return b is not None and a > b
