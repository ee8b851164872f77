"""`drive-alerts settings`: every setting, its environment variable and value, secrets masked."""
from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from runtime.settings import Settings

MASK = "********"
_URL_PASSWORD = re.compile(r"(://[^/:@\s]*:)([^@/\s]+)@")


@dataclass(frozen=True)
class SettingRow:
    """One setting as shown to a person."""

    name: str
    env_var: str
    value: str
    description: str


def env_var(name: str) -> str:
    """The environment variable that sets field `name`."""
    return f"{Settings.model_config.get('env_prefix', '')}{name}".upper()


def display_value(value: Any) -> str:
    """A value fit to print: secrets masked, passwords inside URLs masked, None as (unset)."""
    if value is None:
        return "(unset)"
    if isinstance(value, SecretStr):
        return MASK if value.get_secret_value() else "(empty)"
    if isinstance(value, bool):
        return str(value).lower()
    return _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + "@", str(value))


def setting_rows(settings: Settings | None = None) -> list[SettingRow]:
    """Rows for every field: current values of `settings`, or the defaults when settings is None."""
    rows = []
    for name, field in Settings.model_fields.items():
        value = field.default if settings is None else getattr(settings, name)
        rows.append(SettingRow(name, env_var(name), display_value(value), field.description or ""))
    return rows


def markdown_table(rows: list[SettingRow]) -> str:
    """The README's settings table."""
    lines = ["| environment variable | default | meaning |", "| --- | --- | --- |"]
    for row in rows:
        description = row.description.replace("|", "\\|")
        lines.append(f"| `{row.env_var}` | `{row.value}` | {description} |")
    return "\n".join(lines)


def plain_listing(rows: list[SettingRow]) -> str:
    """One line per setting: ENV_VAR = value  (description)."""
    width = max(len(r.env_var) for r in rows)
    return "\n".join(f"{r.env_var:<{width}} = {r.value}    # {r.description}" for r in rows)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `settings`."""
    parser.add_argument("--markdown", action="store_true",
                        help="print the defaults as the README's Markdown table instead of current values")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Print the settings listing or the Markdown table."""
    if args.markdown:
        print(markdown_table(setting_rows(None)))
    else:
        print(plain_listing(setting_rows(settings)))
    return 0
