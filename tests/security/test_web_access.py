"""The staff web app's guards over a real ledger and socket: no page without a session, CSRF on every POST, another
IDVA's alert answered 404 (exactly as a missing one), sessions that expire and end, codes that cannot be guessed."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from consumers.ledger.models import AuditEntry, RecipientAck
from consumers.web.tables import SignInCode, WebSession
from tests.fakes.web_harness import outbox_code, running_web
from tests.fakes.web_world import CM1, CM2, DM, IDVA7, IDVA9, IDVA11, LEAD, S1, S2

pytestmark = pytest.mark.integration
PAGES = ("/", "/alerts/{code}", "/subjects", f"/subjects/{S1}/chronology", f"/subjects/{S1}/chronology.html",
         "/on-call")


def _audit(harness, action: str) -> list[AuditEntry]:  # noqa: ANN001 - test helper
    with harness.world.sessions() as db:
        return list(db.scalars(sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


async def test_no_page_without_a_session(tmp_path: Path) -> None:
    """Every page sends a visitor without a session to sign in, showing nothing of any alert; POSTs are refused."""
    async with running_web(tmp_path) as h:
        browser = h.client()
        code = h.world.code("breach")
        for path in PAGES:
            status, text, answer = await browser.get(path.format(code=code))
            assert status == 303 and answer.headers["Location"] == "/sign-in", path
            assert code not in text and "DRV-" not in text
        status, _, _ = await browser.post(f"/alerts/{code}/ack", {})  # a CSRF token from the sign-in page, no session
        assert status == 303
        status, _, _ = await browser.post(f"/alerts/{code}/ack", {}, csrf=None)
        assert status == 403
        assert h.world.duty("breach", CM1).acknowledged_at is None


async def test_sign_in_with_the_code_from_the_outbox_and_cookie_flags(tmp_path: Path) -> None:
    """The code goes to the registered phone (the outbox), works once; the cookie is HttpOnly and SameSite=Lax."""
    async with running_web(tmp_path) as h:
        browser = h.client()
        status, _, answer = await browser.post("/sign-in", {"who": IDVA7})
        cookie = answer.headers.getall("Set-Cookie")[0]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
        code = outbox_code(h.world.outbox, IDVA7)
        [message] = [json.loads(x) for x in h.world.outbox.read_text().splitlines() if '"sign-in"' in x]
        assert message["channel"] == "SMS" and message["to"] == "+447700900007" and message["delivery_id"] < 0
        status, _, answer = await browser.post("/sign-in/code", {"code": code}, from_page="/sign-in/code")
        assert status == 303 and answer.headers["Location"] == "/"
        status, text, _ = await browser.get("/")
        assert status == 200 and IDVA7 in text
        again = h.client()
        await again.post("/sign-in", {"who": IDVA7})
        status, text, _ = await again.post("/sign-in/code", {"code": code}, from_page="/sign-in/code")
        assert status == 403 and "not right" in text  # the old code belongs to its own pending sign-in only
        with h.world.sessions() as db:
            rows = db.scalars(sa.select(SignInCode)).all()
            assert rows and all(len(row.code_hash) == 64 and code not in row.code_hash for row in rows)
        assert [e.staff_id for e in _audit(h, "WEB_SIGN_IN")] == [IDVA7]
        assert code not in "".join(e.detail for e in _audit(h, "WEB_SIGN_IN_CODE_SENT"))


async def test_unknown_people_get_the_same_answer_and_no_code(tmp_path: Path) -> None:
    """Someone not in the registry sees what a registered person sees; nothing is sent, nothing typed is kept."""
    async with running_web(tmp_path) as h:
        before = h.world.outbox.read_text()
        status, _, answer = await h.client().post("/sign-in", {"who": "Jane Smith"})
        assert status == 303 and answer.headers["Location"] == "/sign-in/code"
        assert h.world.outbox.read_text() == before
        [failed] = _audit(h, "WEB_SIGN_IN_FAILED")
        assert json.loads(failed.detail)["reason"] == "UNKNOWN_STAFF" and "Jane" not in failed.detail


async def test_a_code_is_void_after_the_allowed_wrong_tries(tmp_path: Path) -> None:
    """Five wrong codes void it: the right one no longer works; every failure is audited with its reason."""
    async with running_web(tmp_path, web_sign_in_code_attempts=5) as h:
        browser = h.client()
        await browser.post("/sign-in", {"who": CM1})
        right = outbox_code(h.world.outbox, CM1)
        wrong = f"{(int(right) + 1) % 1_000_000:06d}"
        for _ in range(5):
            status, _, _ = await browser.post("/sign-in/code", {"code": wrong}, from_page="/sign-in/code")
            assert status == 403
        status, text, _ = await browser.post("/sign-in/code", {"code": right}, from_page="/sign-in/code")
        assert status in (303, 403) and "no longer" in text
        reasons = [json.loads(e.detail)["reason"] for e in _audit(h, "WEB_SIGN_IN_FAILED")]
        assert reasons == ["BAD_CODE"] * 5 + ["TOO_MANY_ATTEMPTS"]


async def test_csrf_is_refused_on_every_post(tmp_path: Path) -> None:
    """A signed-in acknowledgement without the page's token, or with another browser's, changes nothing (403)."""
    async with running_web(tmp_path) as h:
        mine, other = h.client(), h.client()
        await mine.sign_in(CM1)
        code = h.world.code("breach")
        foreign = await other.csrf()
        for token in (None, "", foreign):
            status, text, _ = await mine.post(f"/alerts/{code}/ack", {}, csrf=token)
            assert status == 403 and "not sent from a page of this app" in text
        status, _, _ = await mine.post("/sign-out", {}, csrf=None)
        assert status == 403
        assert h.world.duty("breach", CM1).acknowledged_at is None
        assert len(_audit(h, "WEB_CSRF_REFUSED")) == 4
        status, _, answer = await mine.post(f"/alerts/{code}/ack", {}, from_page="/")
        assert status == 303 and h.world.duty("breach", CM1).ack_via == "WEB"


async def test_another_idvas_alert_is_404_exactly_like_a_missing_one(tmp_path: Path) -> None:
    """IDVA 07 asking for IDVA 11's alert (another case) gets the page a made-up code gets; the probe is audited."""
    async with running_web(tmp_path) as h:
        idva = h.client()
        await idva.sign_in(IDVA7)
        hidden_status, hidden, _ = await idva.get(f"/alerts/{h.world.code('other')}")
        missing_status, missing, _ = await idva.get("/alerts/ZZZZZZ")
        assert hidden_status == missing_status == 404 and hidden == missing
        status, _, _ = await idva.post(f"/alerts/{h.world.code('other')}/ack", {}, from_page="/")
        assert status == 404 and h.world.duty("other", IDVA11).acknowledged_at is None
        probes = _audit(h, "WEB_NOT_FOUND")
        assert [(p.staff_id, p.alert_id) for p in probes][:2] == [(IDVA7, h.world.alerts["other"].alert_id),
                                                                  (IDVA7, None)]
        for path in (f"/subjects/{S1}/chronology", f"/subjects/{S1}/chronology.html"):
            assert (await idva.get(path))[0] == 404


async def test_an_idva_sees_only_their_own_alerts_and_nothing_of_other_clients(tmp_path: Path) -> None:
    """IDVA 07's list holds the two alerts addressed to them, never IDVA 09's or 11's names, texts or escalations."""
    async with running_web(tmp_path) as h:
        idva = h.client()
        await idva.sign_in(IDVA7)
        _, page, _ = await idva.get("/")
        assert h.world.code("breach") in page and h.world.code("bail") in page and h.world.code("other") not in page
        _, bail, _ = await idva.get(f"/alerts/{h.world.code('bail')}")
        for other in (IDVA9, IDVA11, "VIC-0102", "VIC-0201"):
            assert other not in page and other not in bail
        assert CM1 in bail and "Client VIC-0101" in bail and "Chronology of" not in bail


async def test_case_managers_and_programme_leads_open_chronologies_others_get_404(tmp_path: Path) -> None:
    """A case manager opens their own subject's chronology only; the programme lead opens every subject's."""
    async with running_web(tmp_path) as h:
        cm, lead = h.client(), h.client()
        await cm.sign_in(CM1)
        await lead.sign_in(LEAD)
        assert (await cm.get(f"/subjects/{S1}/chronology"))[0] == 200
        assert (await cm.get(f"/subjects/{S2}/chronology"))[0] == 404
        _, listing, _ = await lead.get("/subjects")
        assert S1 in listing and S2 in listing
        for subject in (S1, S2):
            status, text, answer = await lead.get(f"/subjects/{subject}/chronology.html")
            assert status == 200 and text.startswith("<!DOCTYPE html>") and f"Chronology of {subject}" in text
            assert "style-src 'unsafe-inline'" in answer.headers["Content-Security-Policy"]
        other = h.client()
        await other.sign_in(CM2)
        _, mine, _ = await other.get("/")
        assert h.world.code("other") in mine and h.world.code("breach") not in mine


async def test_sessions_expire_when_idle_or_old_and_end_on_sign_out(tmp_path: Path) -> None:
    """Idle past DRIVE_WEB_SESSION_IDLE_S or older than DRIVE_WEB_SESSION_MAX_AGE_S: back to sign-in; a signed-out
    session's cookie, replayed, is no session at all."""
    async with running_web(tmp_path, web_session_idle_s=600, web_session_max_age_s=3600) as h:
        browser = h.client()
        await browser.sign_in(CM1)
        h.clock.advance(minutes=9)
        assert (await browser.get("/"))[0] == 200
        h.clock.advance(minutes=11)
        status, _, answer = await browser.get("/")
        assert status == 303 and answer.headers["Location"] == "/sign-in"
        await browser.sign_in(CM1)
        for _ in range(6):
            h.clock.advance(minutes=9)
            assert (await browser.get("/"))[0] == 200
        h.clock.advance(minutes=9)  # 63 minutes since sign-in, never idle
        assert (await browser.get("/"))[0] == 303
        await browser.sign_in(CM1)
        saved = list(browser.http.cookie_jar)
        status, _, _ = await browser.post("/sign-out", {}, from_page="/")
        assert status == 303
        replay = h.client()
        replay.http.cookie_jar.update_cookies({c.key: c.value for c in saved})
        assert (await replay.get("/"))[0] == 303
        with h.world.sessions() as db:
            reasons = sorted(r.ended_reason for r in db.scalars(sa.select(WebSession)))
        assert reasons == ["EXPIRED", "IDLE", "SIGNED_OUT"]


async def test_a_duty_manager_acknowledges_for_someone_only_with_a_reason(tmp_path: Path) -> None:
    """The duty manager sees the open escalation; on behalf without a reason is refused, with one it is recorded."""
    async with running_web(tmp_path) as h:
        dm = h.client()
        await dm.sign_in(DM)
        code = h.world.code("bail")
        _, page, _ = await dm.get("/")
        assert code in page
        status, _, answer = await dm.post(f"/alerts/{code}/ack", {"on_behalf_of": IDVA9}, from_page="/")
        assert answer.headers["Location"].endswith("done=REASON_REQUIRED")
        assert h.world.duty("bail", IDVA9).acknowledged_at is None
        await dm.post(f"/alerts/{code}/ack", {"on_behalf_of": IDVA9, "reason": "SPOKE_TO_RECIPIENT"}, from_page="/")
        duty: RecipientAck = h.world.duty("bail", IDVA9)
        assert (duty.acknowledged_by, duty.ack_via, duty.ack_reason) == (DM, "ON_BEHALF", "SPOKE_TO_RECIPIENT")
        _, page, _ = await dm.get(f"/alerts/{code}")
        assert "for them by staff-duty-01" in page


async def test_the_on_call_page_names_duty_managers_and_the_policy(tmp_path: Path) -> None:
    """Who is on call (staff id, never a number) and what happens to an unacknowledged alert of each severity."""
    async with running_web(tmp_path, escalation_critical_min=15) as h:
        browser = h.client()
        await browser.sign_in(IDVA7)
        h.clock.advance(seconds=1)
        _, page, _ = await browser.get("/on-call")
        assert DM in page and "+4477" not in page and "after 15 min unacknowledged" in page
        assert "Open escalations now: 1." in page
        h.clock.advance(days=3)
        await browser.sign_in(IDVA7)
        _, page, _ = await browser.get("/on-call")
        assert "No duty manager is on call now" in page
