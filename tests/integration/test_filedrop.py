"""File drop end to end against the real Tansu broker and a real journal database."""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import pytest

from connectors.filedrop.watcher import FileDrop
from connectors.mappings.config import default_mappings_dir, load_mappings
from tests.integration.intake_wiring import read_records, real_intake

pytestmark = pytest.mark.integration

HEADER = ("Log Ref,Record Type,PNC ID,Subject Name,DOB,Occurred,Occurrence No,Force,Victim Refs,Location UPRN,"
          "Offence Code,Injury,Weapon,Children Present,Home Address\n")


def incident_line(ref: str, offence: str = "ASLT", name: str = "SMITH John") -> str:
    """One RMS CSV row (a domestic incident) with the given log ref and offence code."""
    return (f'{ref},DA_INC,2019/00{ref[-2:]}A,{name},14/03/1988,01/07/2026 21:30,01/{ref}/26,E23000001,VIC-1;VIC-2,'
            f'100023336956,{offence},Y,N,N,"1 Any Street, London"\n')


def drop(root: Path, agency: str, name: str, text: str | bytes) -> Path:
    """Write a file into the agency's incoming folder, then its .done marker."""
    incoming = root / agency / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    path = incoming / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    (incoming / f"{name}.done").write_text("")
    return path


@pytest.fixture
def filedrop(settings: Any, sqlite_url: str, tmp_path: Path) -> Any:
    """A FileDrop over the shipped sample mappings, wired to a real intake."""
    with real_intake(settings, sqlite_url) as intake:
        yield FileDrop(tmp_path / "drop", intake, load_mappings(default_mappings_dir()), poll_s=0.1, settle_s=3600)


def test_csv_and_jsonl_files_are_published_and_moved_to_done(filedrop: FileDrop, settings: Any) -> None:
    """Rows of a CSV and a JSON-lines extract reach their topics decoded, names hashed; files go to done/."""
    root = filedrop.root
    drop(root, "met", "incidents_20260701.csv", HEADER + incident_line("L-0001") + incident_line("L-0002"))
    em = [{"alert_id": f"EMA-{i}", "subject_id": "EMS-7781", "alert_type": "ZONE_IN", "at": "2026-11-22T21:14:05Z",
           "tag": "TAG-1", "zone": "Z-17"} for i in (1, 2)]
    drop(root, "em-provider", "em_0001.jsonl", "".join(json.dumps(line) + "\n" for line in em))

    reports = filedrop.run_once()

    assert sorted((r.file, r.status, [row["status"] for row in r.rows]) for r in reports) == [
        ("em_0001.jsonl", "done", ["accepted", "accepted"]),
        ("incidents_20260701.csv", "done", ["accepted", "accepted"])]
    incidents = read_records(settings, "incident", 2)
    assert sorted(d["event_id"] for _, d in incidents) == ["met:incidents:L-0001", "met:incidents:L-0002"]
    assert all(d["name_hash"] and d["details"]["victim_refs"] == ["VIC-1", "VIC-2"] for _, d in incidents)
    assert "SMITH" not in repr(incidents) and "Any Street" not in repr(incidents)
    breaches = read_records(settings, "breach", 2)
    assert sorted((k, d["event_id"]) for k, d in breaches) == [
        ("EM_SUBJECT:EMS-7781", "em-provider:alerts:EMA-1"), ("EM_SUBJECT:EMS-7781", "em-provider:alerts:EMA-2")]
    # Only the reports stay: every row is in the journal, so the extract (names, addresses) is not kept.
    assert {p.name for p in (root / "met" / "done").iterdir()} == {"incidents_20260701.csv.report.json"}
    assert {p.name for p in (root / "em-provider" / "done").iterdir()} == {"em_0001.jsonl.report.json"}
    assert not list((root / "met" / "incoming").iterdir())


def test_bad_rows_are_dead_lettered_and_file_goes_to_failed_with_report(filedrop: FileDrop, settings: Any) -> None:
    """Good rows are published; an unknown code and a ragged row are dead-lettered with reasons; report written."""
    root = filedrop.root
    text = HEADER + incident_line("L-0010") + incident_line("L-0011", offence="XX", name="DOE Jane") + "L-0012,DA_INC\n"
    drop(root, "met", "incidents_bad.csv", text)

    [report] = filedrop.run_once()

    assert report.status == "failed"
    saved = json.loads((root / "met" / "failed" / "incidents_bad.csv.report.json").read_text())
    assert [(r["row"], r["status"], r["event_id"]) for r in saved["rows"]] == [
        (1, "accepted", "met:incidents:L-0010"), (2, "rejected", None), (3, "rejected", None)]
    assert saved["rows"][1]["errors"] == [{"path": "Offence Code", "message": "unknown code: not in the value map "
                                                                             "'offence_category'"}]
    assert saved["rows"][2]["errors"][0]["message"] == "ragged row: 2 cells, the header has 15"
    assert not (root / "met" / "failed" / "incidents_bad.csv").exists()  # kept only sealed:
    sealed = root / "met" / "failed" / "incidents_bad.csv.sealed"
    assert b"DOE Jane" not in sealed.read_bytes()
    assert b"".join(filedrop.intake.vault.sealer.open_file(sealed)) == text.encode()
    [(_, good)] = read_records(settings, "incident", 1)
    assert good["event_id"] == "met:incidents:L-0010"
    letters = sorted((d for _, d in read_records(settings, "dead-letter", 2)), key=lambda d: d["source"]["location"])
    assert [d["source"]["location"] for d in letters] == ["met/incidents_bad.csv#row=2", "met/incidents_bad.csv#row=3"]
    assert letters[0]["reason"] == "MAPPING_FAILED" and letters[0]["errors"][0]["path"] == "Offence Code"
    vault = filedrop.intake.vault
    assert b"L-0011" not in letters[0]["raw"] and b"DOE Jane" not in letters[0]["raw"]  # a description only
    assert b"L-0011,DA_INC" in vault.open(letters[0]["dead_letter_id"]).data
    assert b"DOE Jane" not in vault.open(letters[0]["dead_letter_id"]).data  # the name column is hashed
    assert vault.open(letters[1]["dead_letter_id"]).data == b"L-0012,DA_INC\n"
    assert letters[1]["intended_topic"] == "incident" and json.loads(letters[1]["raw"])["bytes"] == 14


def test_unusable_files_go_to_failed_with_a_file_error(filedrop: FileDrop) -> None:
    """Empty, header-only, unmatched and oversized files are moved to failed/ with a per-file error."""
    root = filedrop.root
    filedrop.max_bytes = 2000
    drop(root, "met", "incidents_empty.csv", "")
    drop(root, "met", "incidents_header.csv", HEADER)
    drop(root, "met", "unknown_feed.csv", HEADER + incident_line("L-0020"))
    drop(root, "met", "incidents_huge.csv", HEADER + incident_line("L-0021") * 20)

    errors = {r.file: r.errors[0]["message"] for r in filedrop.run_once()}

    assert errors == {"incidents_empty.csv": "empty file", "incidents_header.csv": "header only: no data rows",
                      "unknown_feed.csv": "no feed mapping of this agency matches the file name",
                      "incidents_huge.csv": "file larger than the limit of 2000 bytes"}
    assert sorted(p.name for p in (root / "met" / "failed").iterdir() if not p.name.endswith(".json")) == sorted(
        f"{name}.sealed" for name in errors)


def test_redropped_file_publishes_nothing_new(filedrop: FileDrop, settings: Any) -> None:
    """Dropping the same extract twice gives duplicates, not new records, and both copies land in done/."""
    root = filedrop.root
    text = HEADER + incident_line("L-0030")
    drop(root, "met", "incidents_a.csv", text)
    filedrop.run_once()
    drop(root, "met", "incidents_a.csv", text)
    [report] = filedrop.run_once()
    assert [r["status"] for r in report.rows] == ["duplicate"]
    assert {p.name for p in (root / "met" / "done").iterdir()} >= {"incidents_a.csv.report.json",
                                                                    "incidents_a.csv.1.report.json"}
    assert len(read_records(settings, "incident", 5, timeout=5)) == 1


def test_file_without_marker_waits_until_settled(filedrop: FileDrop) -> None:
    """A file with no .done marker is left alone until it has not changed for settle_s."""
    incoming = filedrop.root / "met" / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    path = incoming / "incidents_late.csv"
    path.write_text(HEADER + incident_line("L-0040"))
    assert filedrop.ready_files() == []
    old = path.stat().st_mtime - 7200
    os.utime(path, (old, old))
    assert filedrop.ready_files() == [("met", path)]


def test_run_filedrop_once_wires_database_broker_and_folders(settings_factory: Any, tmp_path: Path) -> None:
    """The `drive-alerts filedrop --once` path migrates the journal, provisions topics and processes the drop."""
    from entrypoints.commands import filedrop as filedrop_command

    settings = settings_factory(filedrop_dir=tmp_path / "cli-drop", database_url=f"sqlite:///{tmp_path / 'cli.db'}")
    drop(settings.filedrop_dir, "met", "incidents_cli.csv", HEADER + incident_line("L-0050"))
    assert filedrop_command.run(argparse.Namespace(once=True), settings) == 0
    assert (settings.filedrop_dir / "met" / "done" / "incidents_cli.csv.report.json").exists()
    [(key, record)] = read_records(settings, "incident", 1)
    assert key == "PNC:2019/0050A" and record["event_id"] == "met:incidents:L-0050"
