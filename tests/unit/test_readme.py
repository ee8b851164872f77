"""The README stays true: its settings table is the one the code generates, its quick start is two commands."""
from __future__ import annotations

import re
from pathlib import Path

from entrypoints.commands.settings import markdown_table, setting_rows

README = Path(__file__).resolve().parents[2] / "README.md"


def _settings_block(text: str) -> str:
    match = re.search(r"<!-- settings-table:start -->\n(.*?)<!-- settings-table:end -->", text, re.S)
    assert match, "README lacks the settings-table markers"
    return match.group(1).strip()


def test_settings_table_matches_the_settings() -> None:
    """Every setting is in the README table with its current default and meaning (regenerate with `drive-alerts settings --markdown`)."""
    assert _settings_block(README.read_text()) == markdown_table(setting_rows(None)).strip()


def test_quick_start_has_exactly_two_commands() -> None:
    """The quick start is one command for the demo and one for the tests, and CI runs the latter."""
    section = README.read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert commands == ["python3 dev.py demo", "python3 dev.py test"]
    ci = (README.parent / ".ci" / "run").read_text()
    assert [line for line in ci.splitlines() if line and not line.startswith(("#", "set ", "cd "))] == ["python3 dev.py test"]
