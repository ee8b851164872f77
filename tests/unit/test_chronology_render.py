"""The review chronology's pure parts: UK time with its zone beside UTC, durations, bail periods and silences, the
releases that raised no alert, and its templates (HTML escaped, Markdown cells safe); coded event summaries."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from consumers.chronology.gaps import bail_periods, silences, unalerted_releases
from consumers.chronology.render import render
from consumers.chronology.review import AlertPath, Recipient, Review, Step
from consumers.chronology.summary import summarise
from consumers.chronology.times import both, duration, uk
from consumers.ledger.models import ChronologyEvent, LedgerAlert
from schemas.events import event_from_datum
from schemas.jsonform import from_json
from tests.samples.events import sample

T = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
SUMMER = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)


def _event(event_type: str, at: datetime, topic: str = "bail", expires: datetime | None = None,
           event_id: str | None = None, summary: str = "") -> ChronologyEvent:
    return ChronologyEvent(event_id=event_id or f"{event_type}-{at.isoformat()}", subject_id="DRV-1", topic=topic,
                           event_type=event_type, agency="police-wm", occurred_at=at, recorded_at=at, received_at=at,
                           expires_at=expires, summary=summary or event_type)


def test_times_are_uk_local_with_the_zone_beside_utc() -> None:
    """GMT in winter, BST in summer, the UTC date named when it differs from the UK one."""
    assert both(T) == "22/11/2026 09:00 GMT (09:00:00 UTC)"
    assert both(SUMMER) == "02/07/2026 00:30 BST (01/07 23:30:00 UTC)"
    assert uk(None) == "-" and uk(SUMMER) == "02/07/2026 00:30 BST"


def test_durations_read_as_words() -> None:
    assert [duration(timedelta(seconds=s)) for s in (45, 192, 7500, 277200, -30)] == [
        "45 s", "3 min 12 s", "2 h 05 min", "3 d 5 h", "-30 s"]


def test_a_bail_period_runs_from_grant_to_its_end_and_silences_in_it_are_flagged() -> None:
    """Granted, then nothing for two days, then a breach, then revoked: one period, one silence (only inside it)."""
    events = [_event("BAIL_GRANTED", T, expires=T + timedelta(days=28)),
              _event("BREACH_REPORTED", T + timedelta(days=2), topic="breach"),
              _event("VICTIM_LINKED", T + timedelta(days=1), topic="case"),  # the registry's own record: not agency
              _event("BAIL_REVOKED", T + timedelta(days=2, hours=6)),
              _event("DOMESTIC_INCIDENT", T + timedelta(days=9), topic="incident")]
    periods = bail_periods(events, T + timedelta(days=30))
    assert periods == [(T, T + timedelta(days=2, hours=6))]
    [gap] = silences(events, periods, timedelta(hours=24), T + timedelta(days=30))
    assert gap.code == "SILENCE_DURING_BAIL" and gap.at == T and "2 d 0 h" in gap.text


def test_an_open_bail_period_ends_at_its_expiry_or_now() -> None:
    """Without an end record the period runs to the bail's expiry, else to the end of the chronology."""
    until = T + timedelta(days=5)
    assert bail_periods([_event("BAIL_GRANTED", T, expires=T + timedelta(days=2))], until) == [
        (T, T + timedelta(days=2))]
    assert bail_periods([_event("BAIL_GRANTED", T)], until) == [(T, until)]
    assert silences([_event("BAIL_GRANTED", T)], [(T, until)], timedelta(hours=24), T + timedelta(hours=12)) == []


def test_a_release_without_an_alert_is_flagged_and_one_with_an_alert_is_not() -> None:
    released, bailed = _event("CUSTODY_RELEASE", T, topic="incident", event_id="e1"), _event("BAIL_GRANTED", T,
                                                                                             event_id="e2")
    [flag] = unalerted_releases([released, bailed, _event("ARREST", T, topic="incident")], triggered={"e2"})
    assert flag.code == "RELEASE_WITHOUT_ALERT" and "e1" in flag.text


def _review(summary: str) -> Review:
    alert = LedgerAlert(alert_id="alt-1", rule="breach.no_contact", severity="CRITICAL", subject_id="DRV-<1>",
                        raised_at=T, received_at=T + timedelta(seconds=1), trigger_event_ids='["e1"]', ack_code="ABC234")
    event = _event("BREACH_REPORTED", T - timedelta(minutes=3), topic="breach", event_id="e1", summary=summary)
    steps = [Step(T - timedelta(minutes=3), "RECORDED", "police-wm recorded a|b"),
             Step(T, "RAISED", "CRITICAL alert ABC234 raised", timedelta(minutes=3)),
             Step(T + timedelta(seconds=2), "TOLD", "staff-cm-01 told by SMS", timedelta(seconds=2))]
    who = Recipient("staff-cm-01", "case manager", T + timedelta(seconds=2), "SMS", None, "not acknowledged",
                    timedelta(seconds=2), None, 0, 0)
    path = AlertPath(alert, [event], steps, [who])
    released = _event("CUSTODY_RELEASE", T, topic="incident", event_id="e9", summary="<script>x</script>")
    return Review("DRV-<1>", T + timedelta(hours=1), T - timedelta(minutes=3), T + timedelta(hours=1), [path],
                  [event, released], [released], [], [])


def test_html_is_a_standalone_escaped_page_grouped_by_alert_with_print_css() -> None:
    page = render("html", _review("BREACH_REPORTED: <b>"))
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<script>" not in page and "&lt;script&gt;x" in page and "DRV-&lt;1&gt;" in page and "@media print" in page
    assert page.count('<article class="alert-group') == 1 and 'data-kind="TOLD"' in page and "<svg" in page
    assert "NOT ACKNOWLEDGED" in page and "09:00 GMT" in page and "09:00:00 UTC" in page


def test_markdown_cells_cannot_break_the_tables() -> None:
    text = render("markdown", _review("x"))
    row = next(line for line in text.splitlines() if "recorded a" in line)
    assert "a\\|b" in row and row.count(" | ") == 4
    assert "### CRITICAL ABC234: breach.no_contact" in text


def test_summary_keeps_codes_and_drops_coded_places() -> None:
    """A breach summary names the condition kind and refs but only the kind of a location, never its value."""
    record = sample("breach", "BREACH_REPORTED")
    summary = summarise(event_from_datum("breach", from_json("breach", record)))
    assert summary.startswith("BREACH_REPORTED: ") and "condition_kind=NO_CONTACT" in summary
    assert "location_ref=POSTCODE_SECTOR" in summary and "B15 2" not in summary


def test_summary_of_staff_snapshot_has_no_contact_details() -> None:
    """Phone numbers and e-mails of a staff snapshot never reach a summary."""
    record = sample("case", "STAFF_UPDATED")
    summary = summarise(event_from_datum("case", from_json("case", record)))
    assert "+447700900123" not in summary and "@" not in summary
