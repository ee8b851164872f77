"""SubjectState <-> a compact JSON-able dict (short keys, epoch seconds, no None values) for the state table."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from schemas.enums import CaseStatus, ConditionKind, HearingType
from streams.rules.state import (
    ActiveCondition,
    BreachProbe,
    CaseInfo,
    Custody,
    CustodyStatus,
    FlapGroup,
    Hearing,
    PendingBreach,
    RecentEvent,
    SourceKind,
    SubjectState,
    VictimLink,
)

_KIND_CODE = {ConditionKind.NO_CONTACT: "NC", ConditionKind.EXCLUSION_ZONE: "EZ", ConditionKind.CURFEW: "CU",
              ConditionKind.RESIDENCE: "RE", ConditionKind.NO_APPROACH_SCHOOL: "SC", ConditionKind.OTHER: "OT"}
_CODE_KIND = {code: kind for kind, code in _KIND_CODE.items()}
_SOURCE_CODE = {SourceKind.BAIL: "B", SourceKind.ORDER: "O", SourceKind.LICENCE: "L"}
_CODE_SOURCE = {code: kind for kind, code in _SOURCE_CODE.items()}
_HEARING_CODE = {HearingType.FIRST_APPEARANCE: "FA", HearingType.PLEA: "PL", HearingType.TRIAL: "TR",
                 HearingType.SENTENCE: "SE", HearingType.REVIEW: "RV", HearingType.OTHER: "OT"}
_CODE_HEARING = {code: kind for kind, code in _HEARING_CODE.items()}


def _ts(t: datetime | None) -> int | None:
    return None if t is None else int(t.timestamp())


def _dt(v: int | None) -> datetime | None:
    return None if v is None else datetime.fromtimestamp(v, UTC)


def _compact(d: dict[str, Any]) -> dict[str, Any]:
    """Drops None values and empty sequences."""
    return {k: v for k, v in d.items() if v is not None and v != [] and v != ()}


def _victim(v: VictimLink) -> dict[str, Any]:
    d: dict[str, Any] = {"r": v.victim_ref}
    if v.idva_id is not None:
        d["i"] = v.idva_id
    if v.protected_person_refs:
        d["p"] = list(v.protected_person_refs)
    if v.protected_location_values:
        d["l"] = list(v.protected_location_values)
    return d


def _case(c: CaseInfo) -> dict[str, Any]:
    d: dict[str, Any] = {"st": c.status.value, "cm": c.case_manager_id}
    if c.home_force_area:
        d["fa"] = c.home_force_area
    if c.victims:
        d["v"] = [_victim(v) for v in c.victims]
    return d


def _conditions(conditions: tuple[ActiveCondition, ...]) -> list[dict[str, Any]]:
    """Conditions grouped by their source (kind, ref, expiry), which they share."""
    groups: dict[tuple[str, str, int | None], list[dict[str, Any]]] = {}
    for c in conditions:
        key = (_SOURCE_CODE[c.source_kind], c.source_ref, _ts(c.source_expires_at))
        item: dict[str, Any] = {"id": c.condition_id, "k": _KIND_CODE.get(c.kind, "OT"), "s": _ts(c.starts_at)}
        for name, value in (("e", _ts(c.ends_at)), ("p", c.protected_person_ref), ("l", c.location),
                            ("cf", c.curfew)):
            if value is not None:
                item[name] = value
        groups.setdefault(key, []).append(item)
    out = []
    for (sk, sr, x), items in groups.items():
        group: dict[str, Any] = {"sk": sk, "sr": sr}
        if x is not None:
            group["x"] = x
        group["c"] = items
        out.append(group)
    return out


def _recent(e: RecentEvent) -> list[Any]:
    """[event id, time, score]; a breach has score 0."""
    return [e.event_id, _ts(e.at), e.score if e.kind == "I" else 0]


def _probe(p: BreachProbe) -> dict[str, Any]:
    return _compact({"k": None if p.kind is None else _KIND_CODE.get(p.kind, "OT"), "id": p.condition_id,
                     "sr": p.source_ref, "p": p.person_ref, "l": p.location})


def _pending(p: PendingBreach) -> dict[str, Any]:
    return {"id": p.event_id, "t": _ts(p.at), "d": _ts(p.deadline), "b": _probe(p.probe)}


def state_to_dict(s: SubjectState) -> dict[str, Any]:
    """The compact form of a state (keys whose value is empty are left out)."""
    d: dict[str, Any] = {"s": s.subject_id}
    if s.case is not None:
        d["c"] = _case(s.case)
    if s.custody.status != CustodyStatus.UNKNOWN or s.custody.since:
        d["cu"] = {"st": s.custody.status.value, **({"t": _ts(s.custody.since)} if s.custody.since else {})}
    if s.conditions:
        d["co"] = _conditions(s.conditions)
    if s.incidents:
        d["in"] = [_recent(e) for e in s.incidents]
    if s.pending:
        d["pe"] = [_pending(p) for p in s.pending]
    if s.flaps:
        d["fl"] = [[f.key, _ts(f.last_seen), f.alert_id] for f in s.flaps]
    for key, items in (("w", s.warned), ("se", s.seen_events), ("sa", s.seen_alerts)):
        if items:
            d[key] = list(items)
    if s.escalated_at is not None:
        d["ea"] = _ts(s.escalated_at)
    if s.hearings:
        d["h"] = [[h.court_case, _ts(h.at), _HEARING_CODE.get(h.hearing_type, "OT"), _ts(h.listed_at)]
                  for h in s.hearings]
    if s.em_seen_at is not None:
        d["em"] = _ts(s.em_seen_at)
    return d


def state_from_dict(d: dict[str, Any]) -> SubjectState:
    """The state of a compact form written by state_to_dict."""
    cu = d.get("cu", {})
    return SubjectState(
        subject_id=d["s"],
        case=_case_from(d["c"]) if "c" in d else None,
        custody=Custody(CustodyStatus(cu.get("st", CustodyStatus.UNKNOWN.value)), _dt(cu.get("t"))),
        conditions=tuple(_condition_from(g, c) for g in d.get("co", ()) for c in g["c"]),
        incidents=tuple(RecentEvent(event_id, _dt(t), "I" if score else "B", score)
                        for event_id, t, score in d.get("in", ())),
        pending=tuple(PendingBreach(p["id"], _dt(p["t"]), _dt(p["d"]), _probe_from(p["b"]))
                      for p in d.get("pe", ())),
        flaps=tuple(FlapGroup(key, _dt(t), alert_id) for key, t, alert_id in d.get("fl", ())),
        warned=tuple(d.get("w", ())), seen_events=tuple(d.get("se", ())), seen_alerts=tuple(d.get("sa", ())),
        escalated_at=_dt(d.get("ea")),
        hearings=tuple(Hearing(case, _dt(at), _CODE_HEARING[code], _dt(listed))
                       for case, at, code, listed in d.get("h", ())),
        em_seen_at=_dt(d.get("em")),
    )


def _case_from(c: dict[str, Any]) -> CaseInfo:
    victims = tuple(VictimLink(v["r"], v.get("i"), tuple(v.get("p", ())), tuple(v.get("l", ())))
                    for v in c.get("v", ()))
    return CaseInfo(CaseStatus(c["st"]), c["cm"], c.get("fa", ""), victims)


def _condition_from(g: dict[str, Any], c: dict[str, Any]) -> ActiveCondition:
    return ActiveCondition(
        source_kind=_CODE_SOURCE[g["sk"]], source_ref=g["sr"], condition_id=c["id"], kind=_CODE_KIND[c["k"]],
        starts_at=_dt(c["s"]), ends_at=_dt(c.get("e")), protected_person_ref=c.get("p"), location=c.get("l"),
        curfew=c.get("cf"), source_expires_at=_dt(g.get("x")),
    )


def _probe_from(b: dict[str, Any]) -> BreachProbe:
    kind = _CODE_KIND[b["k"]] if "k" in b else None
    return BreachProbe(kind, b.get("id"), b.get("sr"), b.get("p"), b.get("l"))
