"""Chronology rendering: time order, Markdown cell safety, HTML escaping; coded event summaries."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from consumers.chronology.render import ChronologyEntry, render_html, render_markdown
from consumers.chronology.summary import summarise
from schemas.events import event_from_datum
from schemas.jsonform import from_json
from tests.samples.events import sample

T = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def _entries() -> list[ChronologyEntry]:
    return [ChronologyEntry(T + timedelta(minutes=5), "DELIVERY", "SMS", "ABC234", "ALERT to staff-cm-01: sent"),
            ChronologyEntry(T, "ALERT", "drive-alerts", "ABC234", "CRITICAL BREACH"),
            ChronologyEntry(T, "AGENCY_EVENT", "police-wm (breach)", "e1", "BREACH_REPORTED: a|b <script>")]


def test_markdown_is_in_time_order_with_cause_first() -> None:
    """Rows are sorted by time; at the same instant the agency event precedes the alert it caused."""
    rows = [line for line in render_markdown("DRV-1", _entries(), T).splitlines() if line.startswith("| 2026")]
    assert [r.split("|")[2].strip() for r in rows] == ["AGENCY_EVENT", "ALERT", "DELIVERY"]


def test_markdown_escapes_pipes_and_line_breaks() -> None:
    """A pipe or newline in a value cannot break the table."""
    entry = ChronologyEntry(T, "ALERT", "x", "r", "one|two\nthree")
    row = render_markdown("DRV-1", [entry], T).splitlines()[-1]
    assert "one\\|two three" in row and row.count(" | ") == 4


def test_html_is_standalone_and_escaped() -> None:
    """The HTML page is a full document and no value is emitted unescaped."""
    page = render_html("DRV-<1>", _entries(), T)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<script>" not in page and "&lt;script&gt;" in page and "DRV-&lt;1&gt;" in page


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
