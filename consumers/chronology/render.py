"""A subject's multi-agency chronology as Markdown (a table) or a standalone, escaped HTML page."""
from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from runtime.db import as_utc

# Entry kinds, in the order they sort when two entries share a timestamp (cause before effect).
KIND_ORDER = ("AGENCY_EVENT", "ALERT", "DELIVERY", "ACK_REFUSED", "ACKNOWLEDGED", "ACK_REPEATED", "RESENT",
              "RESEND_SKIPPED", "ESCALATED", "ESCALATION_ACKNOWLEDGED", "NO_DUTY_MANAGER")
COLUMNS = ("When (UTC)", "Kind", "Source", "Reference", "What")


@dataclass(frozen=True, slots=True)
class ChronologyEntry:
    """One line of a chronology: when, what kind, who recorded it, which reference, a coded summary."""

    at: datetime
    kind: str
    source: str
    reference: str
    summary: str

    def sort_key(self) -> tuple[datetime, int, str]:
        rank = KIND_ORDER.index(self.kind) if self.kind in KIND_ORDER else len(KIND_ORDER)
        return (as_utc(self.at), rank, self.reference)


def in_time_order(entries: Iterable[ChronologyEntry]) -> list[ChronologyEntry]:
    """Entries sorted by time, then kind (cause before effect), then reference."""
    return sorted(entries, key=ChronologyEntry.sort_key)


def when(at: datetime) -> str:
    """A timestamp as `YYYY-MM-DD HH:MM:SS` in UTC."""
    return as_utc(at).strftime("%Y-%m-%d %H:%M:%S")


def _cells(entry: ChronologyEntry) -> tuple[str, ...]:
    return (when(entry.at), entry.kind, entry.source, entry.reference, entry.summary)


def _md_cell(text: str) -> str:
    # A pipe or a line break would end the cell or the row.
    return " ".join(text.split()).replace("\\", "\\\\").replace("|", "\\|")


def render_markdown(subject_id: str, entries: Iterable[ChronologyEntry], generated_at: datetime) -> str:
    """The chronology as a Markdown document: a heading, when it was made, and one table row per entry."""
    ordered = in_time_order(entries)
    lines = [f"# Chronology of {_md_cell(subject_id)}", "",
             f"Generated {when(generated_at)} UTC from the drive-alerts ledger; {len(ordered)} entries.", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_md_cell(c) for c in _cells(e)) + " |" for e in ordered]
    return "\n".join(lines) + "\n"


_STYLE = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
          "th,td{border:1px solid #999;padding:4px 8px;text-align:left;vertical-align:top}"
          "th{background:#eee}tr.ALERT td{background:#fff3e0}tr.ESCALATED td,tr.NO_DUTY_MANAGER td{background:#fde0dc}"
          "tr.ACKNOWLEDGED td,tr.ESCALATION_ACKNOWLEDGED td{background:#e8f5e9}tr.RESENT td{background:#fff8e1}")


def render_html(subject_id: str, entries: Iterable[ChronologyEntry], generated_at: datetime) -> str:
    """The chronology as a standalone HTML page; every value is escaped."""
    ordered = in_time_order(entries)
    esc = html.escape
    head = "".join(f"<th>{esc(c)}</th>" for c in COLUMNS)
    rows = "\n".join(
        f'<tr class="{esc(e.kind)}">' + "".join(f"<td>{esc(c)}</td>" for c in _cells(e)) + "</tr>"
        for e in ordered)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>Chronology of {esc(subject_id)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>Chronology of {esc(subject_id)}</h1>\n"
        f"<p>Generated {esc(when(generated_at))} UTC from the drive-alerts ledger; {len(ordered)} entries.</p>\n"
        f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>\n</body>\n</html>\n")


def render(fmt: str, subject_id: str, entries: Iterable[ChronologyEntry], generated_at: datetime) -> str:
    """Render in `fmt` ("markdown" or "html")."""
    if fmt == "markdown":
        return render_markdown(subject_id, entries, generated_at)
    if fmt == "html":
        return render_html(subject_id, entries, generated_at)
    raise ValueError(f"unknown chronology format {fmt!r}")
