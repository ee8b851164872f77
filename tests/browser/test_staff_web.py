"""The staff web app in a real headless Chromium, on a phone-sized screen, as each person would use it: sign in with
the code from the outbox, see only one's own alerts, acknowledge, open a chronology; a screenshot of every page."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from consumers.escalation.runner import run_escalations
from consumers.ledger.models import Delivery
from tests.browser.conftest import LiveWeb
from tests.fakes.web_harness import outbox_code
from tests.fakes.web_world import CM1, DM, IDVA7, IDVA9, IDVA11, S1, S2

pytestmark = pytest.mark.integration
NO_SIDEWAYS = "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
SMALLEST_TARGET = """() => Math.min(...[...document.querySelectorAll('button, main a, input, select')]
    .filter(e => e.offsetParent !== null).map(e => e.getBoundingClientRect().height))"""


def _fits_the_phone(page: Any) -> None:
    wide, screen = page.evaluate(NO_SIDEWAYS)
    assert wide <= screen == 390, (page.url, wide, screen)


def _sign_in(page: Any, live: LiveWeb, staff_id: str, shoot: bool = False) -> None:
    page.goto(live.base + "/")
    assert page.url.endswith("/sign-in")
    if shoot:
        live.shot(page, "01-sign-in")
    page.fill("#who", staff_id)
    page.click("#send")
    page.wait_for_url("**/sign-in/code")
    if shoot:
        live.shot(page, "02-enter-code")
    page.fill("#code", outbox_code(live.world.outbox, staff_id))
    page.click("#verify")
    page.wait_for_url(live.base + "/")
    assert page.text_content("#who").startswith(staff_id)


def test_an_idva_signs_in_sees_only_their_alerts_and_acknowledges_escalation_stops_for_them_only(
        phone: Any, live: LiveWeb) -> None:
    """IDVA 07 (two other clients' IDVAs in the data) sees their two alerts, none of the others', each with the text
    their SMS carried; one button acknowledges; escalation then goes on for the case manager only."""
    _sign_in(phone, live, IDVA7, shoot=True)
    cards = phone.locator("article.card")
    codes = [c.get_attribute("data-code") for c in cards.all()]
    assert sorted(codes) == sorted([live.world.code("breach"), live.world.code("bail")])
    assert cards.first.get_attribute("data-code") == live.world.code("breach")  # open CRITICAL first
    body = phone.text_content("main")
    for foreign in (IDVA9, IDVA11, "VIC-0102", "VIC-0201", live.world.code("other"), S2):
        assert foreign not in body
    with live.world.sessions() as db:
        sms = db.scalars(sa.select(Delivery.body).where(Delivery.alert_id == live.world.alerts["breach"].alert_id,
                                                        Delivery.staff_id == IDVA7, Delivery.channel == "SMS")).one()
    assert cards.first.locator(".text").text_content() == sms and " GMT " in sms
    _fits_the_phone(phone)
    assert phone.evaluate(SMALLEST_TARGET) >= 44
    live.shot(phone, "03-my-alerts-idva")
    cards.first.locator("button.ack").click()
    phone.wait_for_url(f"**/alerts/{live.world.code('breach')}?done=ACKNOWLEDGED")
    assert "Acknowledged. Thank you." in phone.text_content("#message")
    assert phone.locator(f"#duties li[data-staff='{IDVA7}']").get_attribute("data-acked") == "yes"
    assert phone.locator(f"#duties li[data-staff='{CM1}']").get_attribute("data-acked") == "no"
    _fits_the_phone(phone)
    live.shot(phone, "04-alert-acknowledged")
    assert live.world.duty("breach", IDVA7).ack_via == "WEB"
    breach = live.world.alerts["breach"]
    with live.world.sessions.begin() as db:
        run = run_escalations(db, breach.received_at + timedelta(minutes=16), live.world.settings)
    assert [e.staff_id for e in run.escalated if e.alert_id == breach.alert_id] == [CM1]
    assert live.world.duty("breach", IDVA7).escalation_level == 0
    with live.world.sessions() as db:
        about = set(db.scalars(sa.select(Delivery.regarding).where(Delivery.alert_id == breach.alert_id,
                                                                   Delivery.staff_id == DM)))
    assert about == {CM1}


def test_a_case_manager_opens_the_review_chronology_grouped_by_alert_with_its_flags(phone: Any, browser: Any,
                                                                                     live: LiveWeb) -> None:
    """Each alert is one group, from the agency's record through our intake to each recipient told and each
    acknowledgement; the release without an alert, the silence on bail, the missing and escalated acks are
    flagged; the SVG timeline is drawn; the page fits a phone and prints without the app's navigation."""
    _sign_in(phone, live, CM1)
    phone.click("nav >> text=Chronologies")
    live.shot(phone, "05-chronologies")
    phone.click(f"text={S1}")
    phone.wait_for_url(f"**/subjects/{S1}/chronology")
    groups = phone.locator("article.alert-group")
    assert sorted(g.get_attribute("data-alert") for g in groups.all()) == sorted(
        [live.world.code("bail"), live.world.code("breach")])
    bail = phone.locator(f"article[data-alert='{live.world.code('bail')}']")
    kinds = [row.get_attribute("data-kind") for row in bail.locator("tr.step").all()]
    assert kinds[:4] == ["RECORDED", "TAKEN_IN", "RAISED", "LEDGER"]
    assert kinds.count("TOLD") == 3 and kinds.count("ACKNOWLEDGED") == 2 and "ESCALATED" in kinds
    assert bail.locator(f"tr.recipient.not-acknowledged[data-staff='{IDVA9}']").count() == 1
    assert "GMT" in bail.locator("tr.step td.when").first.text_content()
    assert bail.locator("tr.step td.utc").first.text_content().endswith("UTC")
    flags = {f.get_attribute("data-flag") for f in phone.locator("#flags li").all()}
    assert {"RELEASE_WITHOUT_ALERT", "SILENCE_DURING_BAIL", "NOT_ACKNOWLEDGED", "ESCALATED"} <= flags
    assert phone.locator("#unalerted tr[data-type='CUSTODY_RELEASE']").count() == 1
    assert phone.locator("svg .alert").count() == 2 and phone.locator("svg .band").count() == 1
    _fits_the_phone(phone)
    live.shot(phone, "06-chronology-phone")
    desk = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = desk.new_page()
        page.goto(live.base + "/sign-in")
        page.context.add_cookies(phone.context.cookies())
        page.goto(f"{live.base}/subjects/{S1}/chronology")
        live.shot(page, "07-chronology-desktop")
        page.emulate_media(media="print")
        assert page.locator("nav").is_hidden() and page.locator("#printable").is_hidden()
        live.shot(page, "08-chronology-print")
        page.emulate_media(media="screen")
        page.click("#printable")
        assert page.title() == f"Chronology of {S1}" and page.locator("article.alert-group").count() == 2
        live.shot(page, "09-chronology-standalone")
    finally:
        desk.close()
    phone.goto(f"{live.base}/subjects/{S2}/chronology")
    assert phone.locator("h1").text_content() == "Not found"


def test_a_duty_manager_sees_the_open_escalation_and_acknowledges_on_behalf_with_a_reason(phone: Any,
                                                                                          live: LiveWeb) -> None:
    """The duty manager's list holds IDVA 09's escalated duty; a reason is required; the on-call page names who is
    on call and the policy."""
    _sign_in(phone, live, DM)
    code = live.world.code("bail")
    card = phone.locator(f"article.card[data-code='{code}']")
    assert card.get_attribute("data-open") == "yes"
    live.shot(phone, "10-my-alerts-duty-manager")
    card.locator("a.code").click()
    phone.wait_for_url(f"**/alerts/{code}")
    phone.select_option("#on_behalf_of", IDVA9)
    phone.select_option("#reason", "RECIPIENT_UNAVAILABLE")
    phone.click("#behalf")
    phone.wait_for_url("**done=ACKNOWLEDGED")
    line = phone.text_content(f"#duties li[data-staff='{IDVA9}']")
    assert "for them by staff-duty-01 (RECIPIENT_UNAVAILABLE)" in line
    _fits_the_phone(phone)
    live.shot(phone, "11-acknowledged-on-behalf")
    duty = live.world.duty("bail", IDVA9)
    assert (duty.acknowledged_by, duty.ack_via, duty.ack_reason) == (DM, "ON_BEHALF", "RECIPIENT_UNAVAILABLE")
    phone.click("nav >> text=On call")
    assert DM in phone.text_content("#on-call") and "+44" not in phone.text_content("main")
    assert "CRITICAL" in phone.text_content("#policy")
    _fits_the_phone(phone)
    live.shot(phone, "12-on-call")


def test_session_cookie_404_for_another_idvas_alert_and_expiry_in_the_browser(phone: Any, live: LiveWeb) -> None:
    """The cookie is HttpOnly and SameSite=Lax; another IDVA's alert by direct URL is the 404 page; an idle session
    ends and the next click lands on sign-in."""
    _sign_in(phone, live, IDVA7)
    [cookie] = phone.context.cookies()
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"
    assert phone.evaluate("document.cookie") == ""
    answer = phone.goto(f"{live.base}/alerts/{live.world.code('other')}")
    assert answer.status == 404 and phone.locator("h1").text_content() == "Not found"
    assert live.world.code("other") not in phone.content()
    live.shot(phone, "13-not-found")
    live.clock.advance(seconds=live.world.settings.web_session_idle_s + 1)
    phone.goto(live.base + "/")
    assert phone.url.endswith("/sign-in")
    live.shot(phone, "14-session-expired")
