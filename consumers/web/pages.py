"""The signed-in pages: my alerts, one alert (acknowledge, take an escalation, on someone's behalf), chronologies,
on call and the escalation policy. An alert or subject the viewer may not see answers 404, exactly as one that does
not exist."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy.orm import Session

from consumers.acks.acknowledge import (
    ACKNOWLEDGED,
    ALREADY_ACKNOWLEDGED,
    ESCALATION_ACKNOWLEDGED,
    ON_BEHALF_REASONS,
    VIA_WEB,
    AckOutcome,
    acknowledge,
)
from consumers.chronology.render import context as chronology_context
from consumers.chronology.render import render as render_chronology
from consumers.chronology.review import Review, review
from consumers.ledger.caseload import all_subjects, subjects_of
from consumers.ledger.models import LedgerAlert, alert_by_ack_code, audit
from consumers.web.access import CASE_MANAGER, alert_card, may_open_chronology, my_alerts
from consumers.web.deps import WebDeps, deps_of
from consumers.web.metrics import ACKS
from consumers.web.oncall import duty_rota, open_escalations, policy_lines
from consumers.web.render import page
from consumers.web.sessions import Viewer, current_viewer

DONE = {  # the outcome of an acknowledgement, as the page after it says it
    ACKNOWLEDGED: ("ok", "Acknowledged. Thank you."),
    ALREADY_ACKNOWLEDGED: ("ok", "This was already acknowledged."),
    ESCALATION_ACKNOWLEDGED: ("ok", "You have the escalation: it goes no higher."),
    "REASON_REQUIRED": ("error", "Choose a reason to acknowledge on someone's behalf."),
    "UNKNOWN_REASON": ("error", "Choose one of the listed reasons."),
    "NOT_A_RECIPIENT": ("error", "Only its recipients (or a duty manager for them) can acknowledge this alert."),
    "NOT_A_DUTY_MANAGER": ("error", "Only an active duty manager can acknowledge on someone's behalf."),
}


async def _viewer(request: web.Request) -> Viewer:
    viewer = await current_viewer(request)
    if viewer is None:
        raise web.HTTPSeeOther("/sign-in")
    return viewer


async def _not_found(request: web.Request, deps: WebDeps, viewer: Viewer, what: str, alert_id: str | None) -> None:
    """Audited (an IDVA trying another's alert is worth knowing), answered as if nothing were there."""
    await deps.in_db(lambda db: audit(db, "WEB_NOT_FOUND", at=deps.now(), alert_id=alert_id, staff_id=viewer.staff_id,
                                      channel="WEB", detail={"what": what}))
    raise web.HTTPNotFound()


def _done(request: web.Request) -> dict[str, object]:
    kind, words = DONE.get(request.query.get("done", ""), ("", None))
    return {"done": words, "done_kind": kind}


async def alerts_page(request: web.Request) -> web.Response:
    """GET /: my alerts, open first by severity and age."""
    viewer, deps = await _viewer(request), deps_of(request)
    cards = await deps.in_db(lambda db: my_alerts(db, viewer))
    return await page(request, "alerts.html", {"cards": cards, **_done(request)})


def _hidden_alert_id(db: Session, code: str) -> str | None:
    alert = alert_by_ack_code(db, code) if len(code) <= 16 else db.get(LedgerAlert, code[:160])
    return alert.alert_id if alert is not None else None


async def alert_page(request: web.Request) -> web.Response:
    """GET /alerts/{code}: one alert, who was told, who acknowledged, what the viewer can do."""
    viewer, deps = await _viewer(request), deps_of(request)
    code = request.match_info["code"]
    card = await deps.in_db(lambda db: alert_card(db, viewer, code))
    if card is None:
        await _not_found(request, deps, viewer, "alert", await deps.in_db(lambda db: _hidden_alert_id(db, code)))
    return await page(request, "alert.html", {"c": card, "reasons": ON_BEHALF_REASONS, **_done(request)})


async def acknowledge_alert(request: web.Request) -> web.Response:
    """POST /alerts/{code}/ack: the viewer's own acknowledgement, their taking of an escalation, or (a duty manager)
    an acknowledgement on someone's behalf with a reason code; all through the one acknowledgement API."""
    viewer, deps = await _viewer(request), deps_of(request)
    code = request.match_info["code"]
    form = await request.post()
    on_behalf = str(form.get("on_behalf_of") or "")[:100] or None
    reason = str(form.get("reason") or "")[:40] or None
    now = deps.now()

    def act(db: Session) -> AckOutcome | None:
        card = alert_card(db, viewer, code)
        if card is None:
            return None
        return acknowledge(db, card.alert.alert_id, viewer.staff_id, VIA_WEB, now, on_behalf_of=on_behalf,
                           reason=reason)
    outcome = await deps.in_db(act)
    if outcome is None:
        await _not_found(request, deps, viewer, "acknowledge", await deps.in_db(lambda db: _hidden_alert_id(db, code)))
    ACKS.labels(status=outcome.status).inc()
    raise web.HTTPSeeOther(f"/alerts/{outcome.ack_code or code}?done={outcome.status}")


async def subjects_page(request: web.Request) -> web.Response:
    """GET /subjects: the subjects whose chronology the viewer may open."""
    viewer, deps = await _viewer(request), deps_of(request)

    def subjects(db: Session) -> list[str]:
        if viewer.programme_lead:
            return all_subjects(db)
        return sorted(subjects_of(db, viewer.staff_id)) if viewer.role == CASE_MANAGER else []
    return await page(request, "subjects.html", {"subjects": await deps.in_db(subjects)})


async def _review(request: web.Request) -> Review:
    viewer, deps = await _viewer(request), deps_of(request)
    subject = request.match_info["subject"][:100]

    def build(db: Session) -> Review | None:
        if not may_open_chronology(db, viewer, subject):
            return None
        return review(db, subject, deps.settings.chronology_silence_h, deps.now())
    found: Review | None = await deps.in_db(build)
    if found is None:
        await _not_found(request, deps, viewer, "chronology", None)
        raise AssertionError("unreachable")
    return found


async def chronology_page(request: web.Request) -> web.Response:
    """GET /subjects/{subject}/chronology: the review chronology inside the app (case manager, programme lead)."""
    found = await _review(request)
    return await page(request, "chronology_page.html", chronology_context(found))


async def chronology_file(request: web.Request) -> web.Response:
    """GET /subjects/{subject}/chronology.html: the standalone printable page, as `drive-alerts chronology` writes."""
    found = await _review(request)
    # The standalone page carries its stylesheet inline (it must work as a saved file): allow that, nothing else.
    return web.Response(text=render_chronology("html", found), content_type="text/html", headers={
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"})


async def on_call_page(request: web.Request) -> web.Response:
    """GET /on-call: who is on call, the rota, the escalation policy in words."""
    await _viewer(request)
    deps = deps_of(request)
    now = deps.now()
    on_call, rota = await deps.in_db(lambda db: duty_rota(db, now))
    count = await deps.in_db(open_escalations)
    return await page(request, "on_call.html", {"on_call": on_call, "rota": rota, "open_escalations": count,
                                                "policy": policy_lines(deps.settings)})


def add_routes(app: web.Application) -> None:
    """The signed-in routes."""
    app.router.add_get("/", alerts_page)
    app.router.add_get("/alerts/{code}", alert_page)
    app.router.add_post("/alerts/{code}/ack", acknowledge_alert)
    app.router.add_get("/subjects", subjects_page)
    app.router.add_get("/subjects/{subject}/chronology", chronology_page)
    app.router.add_get("/subjects/{subject}/chronology.html", chronology_file)
    app.router.add_get("/on-call", on_call_page)
