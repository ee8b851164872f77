"""summary.victim_linked: a victim linked to an existing case, or given a new IDVA, gets the position for them now.

One alert per newly linked victim (or new IDVA), to that IDVA only: custody, the conditions in force that protect
their client (kinds and end dates), the next hearing, EM or not (streams.rules.position). Nothing about other
victims. A case's first snapshot raises nothing: nothing is known about the subject before the case exists.
"""
from __future__ import annotations

from functools import partial

from schemas.details import CaseSnapshot
from schemas.enums import CaseEventType, Severity
from schemas.events import Event
from streams.rules.catalogue import Recipients, rule
from streams.rules.drafts import AlertDraft, RuleContext
from streams.rules.position import summary_detail
from streams.rules.state import SubjectState
from streams.rules.triggers import triggered_by

SUMMARY_VICTIM_LINKED = rule("summary.victim_linked", Severity.MEDIUM, Recipients.IDVA, "a victim linked to an "
                             "open case later, or a new IDVA for a victim: what is in force for that client now "
                             "(custody, conditions protecting them with end dates, next hearing, EM)")

_SNAPSHOT_TYPES = (CaseEventType.CASE_OPENED, CaseEventType.IDENTIFIERS_ADDED, CaseEventType.VICTIM_LINKED,
                   CaseEventType.VICTIM_UNLINKED, CaseEventType.WORKER_ASSIGNED, CaseEventType.CASE_CLOSED)


@triggered_by(*_SNAPSHOT_TYPES)
def victim_linked(state: SubjectState, event: Event, ctx: RuleContext) -> list[AlertDraft]:
    """A case snapshot naming a victim the case did not have, or another IDVA for one it had."""
    d = event.details
    assert isinstance(d, CaseSnapshot)
    if state.case is None:
        return []
    idva_before = {v.victim_ref: v.idva_id for v in state.case.victims}
    at = event.occurred_at
    return [AlertDraft(SUMMARY_VICTIM_LINKED, (event.event_id,), at, victim_refs=(v.victim_ref,),
                       dedupe_key=f"{v.victim_ref}|{v.idva_id}", describe=partial(summary_detail, at=at))
            for v in d.victims
            if v.idva_id and (v.victim_ref not in idva_before or idva_before[v.victim_ref] != v.idva_id)]
