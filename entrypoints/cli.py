"""The one `drive-alerts` command line: a registry of subcommands whose modules are imported only when run."""
from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# A command module defines:
#     add_arguments(parser: argparse.ArgumentParser) -> None
#     run(args: argparse.Namespace, settings: runtime.settings.Settings) -> int
# An option whose dest is a Settings field name (e.g. --intake-port -> intake_port, default None)
# overrides that setting when given; otherwise the DRIVE_* environment variable applies.


@dataclass(frozen=True)
class Command:
    """One subcommand: its name, the module that implements it, and a one-line help."""

    name: str
    module: str
    help: str


# THE place to register a subcommand: add one line here.
COMMANDS: tuple[Command, ...] = (
    Command("settings", "entrypoints.commands.settings", "print every setting, its env var and current value (secrets masked)"),
    Command("broker", "entrypoints.commands.broker", "run the embedded Tansu broker in the foreground until Ctrl-C"),
    Command("topics", "entrypoints.commands.topics", "provision topics from the catalogue (topics apply [--dry-run])"),
    Command("filedrop", "entrypoints.commands.filedrop", "read agency CSV / JSON-lines extracts dropped in the file-drop folders"),
    Command("sqlpoll", "entrypoints.commands.sqlpoll", "poll agency SQL tables and views declared in the feed mappings"),
    Command("up", "entrypoints.commands.up", "run the whole pipeline on this machine (broker, intake, worker, dispatcher, chronology feed, webhooks, file drop, web app)"),
    Command("demo", "entrypoints.commands.demo", "run `up` with sample multi-agency data, print the alerts and messages delivered, exit"),
    Command("intake", "entrypoints.commands.intake", "run the HTTP intake (POST /v1/topics/{topic}/events)"),
    Command("replay", "entrypoints.commands.replay", "replay a scenario (JSON lines) through the pipeline on a simulated clock; print alerts"),
    Command("worker", "entrypoints.commands.worker", "run a streams worker: identity resolution, correlation rules, alerts"),
    Command("dispatcher", "entrypoints.commands.dispatcher", "deliver alerts: ledger, SMS (Twilio) and e-mail (SMTP) or the outbox, retries, failover"),
    Command("chronology-feed", "entrypoints.commands.chronology_feed", "feed the chronology from the streams' subject-events (its own process)"),
    Command("webhooks", "entrypoints.commands.webhooks", "serve Twilio status/inbound-SMS callbacks and e-mail ack links"),
    Command("web", "entrypoints.commands.web", "serve the staff web app: sign in, my alerts, acknowledge, chronologies, on call"),
    Command("audit", "entrypoints.commands.audit", "who was told what, when: --subject S | --alert A | --recipient R [--json]"),
    Command("chronology", "entrypoints.commands.chronology", "render one subject's multi-agency chronology (Markdown or HTML)"),
    Command("db", "entrypoints.commands.db", "run database migrations (db upgrade [--revision REV] | db current)"),
    Command("dead-letters", "entrypoints.commands.dead_letters", "list, show or replay dead letters (list | show ID | replay ID...|--all [--dry-run])"),
    Command("bench", "entrypoints.commands.bench", "capacity check: raw broker ceiling, pipeline throughput, latency, state, replay"),
    Command("deploy", "entrypoints.commands.deploy", "deployment helpers (deploy strimzi-topics | strimzi-users | acl-table)"),
    Command("openapi", "entrypoints.commands.openapi", "print the intake's OpenAPI 3.1 document (--problems: the problem types page)"),
)

# Global options: each dest is a Settings field.
_GLOBAL_OPTIONS: tuple[tuple[str, str, str], ...] = (
    ("--kafka-bootstrap", "kafka_bootstrap", "host:port of Kafka (env DRIVE_KAFKA_BOOTSTRAP); unset: embedded broker"),
    ("--topic-prefix", "topic_prefix", "prefix of every topic name (env DRIVE_TOPIC_PREFIX)"),
    ("--data-dir", "data_dir", "folder for local state (env DRIVE_DATA_DIR)"),
    ("--database-url", "database_url", "SQLAlchemy URL of the database (env DRIVE_DATABASE_URL)"),
    ("--log-level", "log_level", "DEBUG, INFO, WARNING or ERROR (env DRIVE_LOG_LEVEL)"),
    ("--log-format", "log_format", "auto, json or console (env DRIVE_LOG_FORMAT)"),
)


def _command_named(name: str | None) -> Command | None:
    return next((c for c in COMMANDS if c.name == name), None)


def _chosen_command(argv: Sequence[str]) -> Command | None:
    """The registered command named in argv, found without importing any command module."""
    value_flags = {flag for flag, _, _ in _GLOBAL_OPTIONS}
    tokens = iter(argv)
    for token in tokens:
        if token in value_flags:
            next(tokens, None)  # skip the option's value: it may spell a command name
        elif not token.startswith("-"):
            return _command_named(token)
    return None


def version() -> str:
    """The installed distribution's version."""
    try:
        return importlib.metadata.version("drive-alerts")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _add_global_options(parser: argparse.ArgumentParser, default: Any) -> None:
    for flag, dest, help_text in _GLOBAL_OPTIONS:
        parser.add_argument(flag, dest=dest, default=default, help=help_text)


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The argument parser; only the chosen command's module is imported to add its options.

    Global options are accepted before and after the command (`drive-alerts up --data-dir X`); after it they win.
    """
    parser = argparse.ArgumentParser(prog="drive-alerts", description="Multi-agency alerting for the Drive model.")
    parser.add_argument("--version", action="version", version=f"drive-alerts {version()}")
    _add_global_options(parser, None)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = _chosen_command(argv)
    for command in COMMANDS:
        sub = subparsers.add_parser(command.name, help=command.help, description=command.help)
        if command is chosen:
            # SUPPRESS: an option not repeated after the command keeps the value given before it
            _add_global_options(sub, argparse.SUPPRESS)
            importlib.import_module(command.module).add_arguments(sub)
    return parser


def settings_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Options that were given and name a Settings field; they win over the environment."""
    from runtime.settings import Settings

    return {name: value for name, value in vars(args).items()
            if name in Settings.model_fields and value is not None}


def _flag_of(field: str) -> str | None:
    return next((flag for flag, dest, _ in _GLOBAL_OPTIONS if dest == field), None)


def _say(line: str) -> None:
    print(f"drive-alerts: {line}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, build Settings (flags over env), configure logging once, check, run the chosen command.

    Exit codes: 0 done, 2 refused (a setting, file, folder or port to fix; one line on stderr says which),
    69 a service it needs is unreachable, 130 interrupted; anything else is a crash with its traceback.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    from pydantic import ValidationError

    from entrypoints import failures, preflight
    from runtime.logging import configure_logging
    from runtime.settings import Settings

    try:
        settings = Settings(**settings_overrides(args))
    except ValidationError as exc:
        # Name the setting and the rule, never the value given (it may be a secret).
        for error in exc.errors(include_input=False):
            field = ".".join(str(part) for part in error["loc"])
            flag = _flag_of(field) if field in vars(args) and vars(args)[field] is not None else None
            rule = str(error["msg"]).removeprefix("Value error, ")
            _say(f"invalid setting DRIVE_{field.upper()}{f' ({flag})' if flag else ''}: {rule}")
        return failures.EXIT_REFUSED
    configure_logging(settings)
    command = _command_named(args.command)
    assert command is not None  # argparse only accepts registered names
    verdict = preflight.check(command.name, args, settings, os.environ)
    for line in verdict.errors:
        _say(line)
    for line in verdict.warnings:
        _say(f"warning: {line}")
    if verdict.errors:
        return failures.EXIT_REFUSED
    if verdict.unreachable:
        _say(verdict.unreachable)
        return failures.EXIT_UNAVAILABLE
    try:
        return int(importlib.import_module(command.module).run(args, settings) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter's final flush quiet
        return 0
    except Exception as exc:  # noqa: BLE001 - a known failure is one line; any other keeps its traceback
        known = failures.explain(exc, settings)
        if known is None:
            raise
        code, line = known
        _say(line)
        return code


if __name__ == "__main__":
    sys.exit(main())
