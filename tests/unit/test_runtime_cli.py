"""The drive-alerts CLI: lazy subcommand registry, settings listing with secrets masked, flags over env."""
from __future__ import annotations

import subprocess
import sys

import pytest

from entrypoints import cli
from entrypoints.commands.settings import display_value, env_var, setting_rows
from runtime.settings import Settings

SECRET = "pw-Zq8-not-for-eyes"


@pytest.fixture
def run_cli(restore_logging, capsys):
    """Run `drive-alerts ARGS` in-process and return (exit code, stdout)."""

    def run(*args: str) -> tuple[int, str]:
        code = cli.main(list(args))
        return code, capsys.readouterr().out

    return run


def test_settings_lists_every_field_with_its_env_var(run_cli, monkeypatch):
    """`settings` prints one line per Settings field, naming its DRIVE_* variable and current value."""
    monkeypatch.setenv("DRIVE_INTAKE_PORT", "9123")
    code, out = run_cli("settings")
    assert code == 0
    for name in Settings.model_fields:
        assert env_var(name) in out
    assert "DRIVE_INTAKE_PORT" in out and "= 9123" in out


def test_settings_masks_secrets_and_url_passwords(run_cli, monkeypatch):
    """Secret settings and passwords inside URLs are masked in the listing."""
    monkeypatch.setenv("DRIVE_KAFKA_SASL_PASSWORD", SECRET)
    monkeypatch.setenv("DRIVE_NAME_HASH_KEY", SECRET + "-key")
    monkeypatch.setenv("DRIVE_DATABASE_URL", f"postgresql+psycopg://drive:{SECRET}@db:5432/drive")
    code, out = run_cli("settings")
    assert code == 0
    assert SECRET not in out
    assert "postgresql+psycopg://drive:********@db:5432/drive" in out


def test_markdown_table_shows_defaults_not_environment(run_cli, monkeypatch):
    """`settings --markdown` is the README table of defaults, unaffected by the caller's environment."""
    monkeypatch.setenv("DRIVE_TOPIC_PREFIX", "local-only.")
    code, out = run_cli("settings", "--markdown")
    lines = out.strip().splitlines()
    assert code == 0
    assert lines[0].startswith("| environment variable |")
    assert len(lines) == 2 + len(Settings.model_fields)
    assert "| `DRIVE_TOPIC_PREFIX` | `drive.` |" in out and "local-only." not in out
    assert "drive-alerts-development-key" not in out


def test_every_setting_has_a_description():
    """Each Settings field carries the description the README table is generated from."""
    assert all(row.description for row in setting_rows(None))


def test_flag_overrides_environment(monkeypatch):
    """A global flag wins over the environment; absent flags leave the environment in charge."""
    monkeypatch.setenv("DRIVE_TOPIC_PREFIX", "env.")
    monkeypatch.setenv("DRIVE_LOG_LEVEL", "ERROR")
    args = cli.build_parser(["--topic-prefix", "flag.", "settings"]).parse_args(["--topic-prefix", "flag.", "settings"])
    settings = Settings(**cli.settings_overrides(args))
    assert settings.topic_prefix == "flag."
    assert settings.log_level == "ERROR"


def test_invalid_setting_is_a_clean_error(run_cli, capsys):
    """An invalid value for a setting exits 2 with a message instead of a traceback."""
    assert cli.main(["--log-level", "LOUD", "settings"]) == 2
    assert "invalid setting" in capsys.readouterr().err


def test_display_value_forms():
    """None, booleans and secrets have fixed printable forms."""
    from pydantic import SecretStr

    assert display_value(None) == "(unset)"
    assert display_value(True) == "true"
    assert display_value(SecretStr("x")) == "********"


def test_help_imports_no_command_module():
    """`drive-alerts --help` lists every registered command without importing any command module."""
    probe = ("import sys, contextlib, io\n"
             "from entrypoints import cli\n"
             "out = io.StringIO()\n"
             "with contextlib.redirect_stdout(out):\n"
             "    try: cli.main(['--help'])\n"
             "    except SystemExit: pass\n"
             "print(out.getvalue())\n"
             "print('LOADED', sorted(m for m in sys.modules if m.startswith('entrypoints.commands.')"
             " or m in ('kafka', 'faust', 'sqlalchemy', 'aiohttp')))\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    for command in cli.COMMANDS:
        assert command.name in out
    assert "LOADED []" in out


def test_command_help_loads_only_that_command():
    """Building the parser for one command imports that command's module and no other."""
    probe = ("import sys\nfrom entrypoints import cli\ncli.build_parser(['settings'])\n"
             "print(sorted(m for m in sys.modules if m.startswith('entrypoints.commands.')))\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['entrypoints.commands.settings']"


def test_option_value_equal_to_a_command_name_is_not_the_command():
    """A global option's value that spells a command name does not select that command."""
    assert cli._chosen_command(["--topic-prefix", "topics", "settings"]).name == "settings"
