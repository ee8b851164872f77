"""The intake's limits in the file drop and SQL polling: each refused row is dead-lettered with its reason code,
and the good rows around it flow (real broker, SQLite journal and source)."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.filedrop.watcher import FileDrop
from connectors.mappings.config import default_mappings_dir, load_mappings
from connectors.sqlpoll import SqlPoller, SqlSource
from runtime.db import make_engine
from tests.integration.intake_wiring import read_records, real_intake
from tests.integration.test_filedrop import HEADER, drop, incident_line
from tests.integration.test_sqlpoll import T0, agency_table, feed, insert

pytestmark = pytest.mark.integration


def _letters(settings: Any, n: int) -> dict[str, tuple[str, list[str]]]:
    """Dead letters by location: (reason code, error paths)."""
    return {d["source"]["location"]: (d["reason"], [e["path"] for e in d["errors"]])
            for _, d in read_records(settings, "dead-letter", n + 5, timeout=5)}


def test_filedrop_refuses_each_hostile_row_alone(settings: Any, sqlite_url: str, tmp_path: Path) -> None:
    """Oversized, NUL, bidi, non-UTF-8 and ragged rows are dead-lettered with reasons; every good row is published."""
    rows = [
        incident_line("L-0101"),
        incident_line("L-0102").replace("01/L-0102/26", "R" * 2000),
        incident_line("L-0103").replace("L-0103,", "L-01\x0003,", 1),
        incident_line("L-0104").replace("2019/0004A", "2019/\u202e0004A"),
        incident_line("L-0105"),
        incident_line("L-0106", name="SMITH \udcffJohn"),  # written below as the byte 0xff: not UTF-8
        "L-0107,DA_INC,too,few\n",
        incident_line("L-0108"),
        incident_line("L-0109", name="\u200fSMITH John"),  # a right-to-left mark in a name is no reason to refuse
    ]
    drop(tmp_path / "drop", "met", "incidents_hostile.csv", (HEADER + "".join(rows)).encode("utf-8", "surrogateescape"))
    with real_intake(settings, sqlite_url) as intake:
        filedrop = FileDrop(tmp_path / "drop", intake, load_mappings(default_mappings_dir()), poll_s=0.1,
                            settle_s=3600, max_cell_chars=1000)
        [report] = filedrop.run_once()
    assert [r["status"] for r in report.rows] == ["accepted", "rejected", "rejected", "rejected", "accepted",
                                                  "rejected", "rejected", "accepted", "accepted"]
    published = sorted(d["event_id"] for _, d in read_records(settings, "incident", 10, timeout=5))
    assert published == [f"met:incidents:L-01{n:02d}" for n in (1, 5, 8, 9)]
    at = "met/incidents_hostile.csv#row="
    assert _letters(settings, 5) == {
        f"{at}2": ("TOO_LONG", ["Occurrence No"]), f"{at}3": ("BAD_CHARACTER", ["Log Ref"]),
        f"{at}4": ("BAD_CHARACTER", ["PNC ID"]), f"{at}6": ("UNPARSEABLE", ["row"]), f"{at}7": ("UNPARSEABLE", ["row"])}
    saved = json.loads((tmp_path / "drop" / "met" / "failed" / "incidents_hostile.csv.report.json").read_text())
    assert saved["rows"][1]["code"] == "TOO_LONG" and "R" * 20 not in json.dumps(saved)


def test_sqlpoll_refuses_each_hostile_row_alone_and_moves_on(settings: Any, sqlite_url: str, tmp_path: Path) -> None:
    """Oversized, NUL, bidi and non-UTF-8 values refuse their row only; the mark passes them; good rows flow."""
    engine = make_engine(f"sqlite:///{tmp_path / 'agency.db'}")
    table = agency_table(engine)
    for row_id in range(1, 7):
        insert(engine, table, row_id, T0 + timedelta(minutes=row_id))
    with engine.begin() as conn:
        for row_id, column, value in [(2, "occurrence_no", "R" * 2000), (3, "pnc_id", "2019/\x000003A"),
                                      (4, "force", "M\u202ePS")]:
            conn.execute(table.update().where(table.c.incident_row_id == row_id).values({column: value}))
        conn.execute(sa.text("UPDATE da_incidents SET subject_name = CAST(X'534d495448ff' AS TEXT) "
                             "WHERE incident_row_id = 5"))
    try:
        with real_intake(settings, sqlite_url) as intake:
            poller = SqlPoller(engine, SqlSource.from_mapping(feed("da_incidents")), intake, intake.journal.engine,
                               max_cell_chars=1000)
            assert poller.poll_all() == 6
            assert poller.mark() == (T0 + timedelta(minutes=6), 6)
    finally:
        engine.dispose()
    published = sorted(d["event_id"] for _, d in read_records(settings, "incident", 10, timeout=5))
    assert published == ["met:rms-view:1", "met:rms-view:6"]
    at = "sql:da_incidents#incident_row_id="
    assert _letters(settings, 4) == {f"{at}2": ("TOO_LONG", ["occurrence_no"]), f"{at}3": ("BAD_CHARACTER", ["pnc_id"]),
                                     f"{at}4": ("BAD_CHARACTER", ["force"]), f"{at}5": ("NOT_UTF8", ["subject_name"])}
