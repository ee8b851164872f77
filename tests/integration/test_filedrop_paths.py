"""Path tricks in the file drop: symlinks, hard links, hidden and temporary names, folders, symlinked agency dirs."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from connectors.filedrop.watcher import FileDrop
from connectors.mappings.config import default_mappings_dir, load_mappings
from tests.integration.intake_wiring import read_records, real_intake
from tests.integration.test_filedrop import HEADER, incident_line

pytestmark = pytest.mark.integration


def test_only_plain_files_directly_in_incoming_are_processed(settings: Any, sqlite_url: str, tmp_path: Path,
                                                             captured_logs: Any) -> None:
    """Symlinks (to files outside the drop), hard links, hidden/.tmp names and folders are refused and left alone."""
    root = tmp_path / "drop"
    outside = tmp_path / "secret" / "incidents_outside.csv"
    outside.parent.mkdir()
    outside.write_text(HEADER + incident_line("L-0901"))
    with real_intake(settings, sqlite_url) as intake:
        filedrop = FileDrop(root, intake, load_mappings(default_mappings_dir()), poll_s=0.1, settle_s=0)
        incoming = root / "met" / "incoming"
        (incoming / "incidents_link.csv").symlink_to(outside)
        os.link(outside, incoming / "incidents_hard.csv")
        (incoming / ".incidents_hidden.csv").write_text(HEADER + incident_line("L-0902"))
        (incoming / "incidents_writing.csv.part").write_text(HEADER + incident_line("L-0903"))
        (incoming / "incidents_dir.csv").mkdir()
        (incoming / "incidents_dir.csv" / "incidents_inner.csv").write_text(HEADER + incident_line("L-0904"))
        (incoming / "incidents_ok.csv").write_text(HEADER + incident_line("L-0905"))

        reports = filedrop.run_once()

    assert [r.file for r in reports] == ["incidents_ok.csv"]
    [(_, record)] = read_records(settings, "incident", 2, timeout=5)
    assert record["event_id"] == "met:incidents:L-0905"
    assert sorted(p.name for p in incoming.iterdir()) == [
        ".incidents_hidden.csv", "incidents_dir.csv", "incidents_hard.csv", "incidents_link.csv",
        "incidents_writing.csv.part"]
    assert outside.read_text() == HEADER + incident_line("L-0901")
    refusals = {(line["file"], line["reason"]) for line in captured_logs.lines if line.get("event") == "filedrop.refused_path"}
    assert refusals == {("incidents_link.csv", "symlinks are not followed"),
                        ("incidents_hard.csv", "hard-linked file (may live outside the drop)"),
                        ("incidents_dir.csv", "not a regular file")}


def test_symlinked_agency_folder_is_not_followed(settings: Any, sqlite_url: str, tmp_path: Path) -> None:
    """An agency folder that is a symlink to elsewhere is refused: nothing there is read or moved."""
    root = tmp_path / "drop"
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "incoming").mkdir(parents=True)
    (elsewhere / "incoming" / "incidents_x.csv").write_text(HEADER + incident_line("L-0910"))
    root.mkdir()
    (root / "met").symlink_to(elsewhere, target_is_directory=True)
    with real_intake(settings, sqlite_url) as intake:
        filedrop = FileDrop(root, intake, load_mappings(default_mappings_dir()), poll_s=0.1, settle_s=0)
        assert filedrop.run_once() == []
    assert (elsewhere / "incoming" / "incidents_x.csv").exists()
    assert sorted(p.name for p in elsewhere.iterdir()) == ["incoming"]
