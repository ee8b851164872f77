"""Checks before a command runs: one clear line per problem (naming its DRIVE_* setting) instead of a traceback later.

Local problems are found before any network is touched (a bad agencies file is not hidden behind an unreachable
broker); in production (runtime.settings.Settings.is_production) development secrets, the development agencies
and the sample feed mappings are refused.
"""
from __future__ import annotations

import argparse
import errno
import hashlib
import logging
import os
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from connectors.http import agencies as agencies_module
from connectors.http.agencies import DEV_AGENCIES_RESOURCE, Agency, load_agencies
from connectors.mappings.config import MappingConfigError, default_mappings_dir, load_mappings
from runtime.embedded_broker import HOST as BROKER_HOST
from runtime.safety import (
    Refusal,
    env_name,
    secret_refusals,
    unknown_variables,
    weak_shared_secrets,
    web_production_refusals,
    web_sign_in_refusals,
)
from runtime.settings import Settings

AGENCIES, MAPPINGS = "agencies", "mappings"
# What each process-starting command reads; production refuses development secrets for every one of them.
SERVICES: dict[str, frozenset[str]] = {
    "intake": frozenset({AGENCIES}), "filedrop": frozenset({MAPPINGS}), "sqlpoll": frozenset({MAPPINGS}),
    "worker": frozenset(), "dispatcher": frozenset(), "chronology-feed": frozenset(), "webhooks": frozenset(),
    "web": frozenset(),
    "dead-letters": frozenset({MAPPINGS}), "up": frozenset({AGENCIES, MAPPINGS}),
}
# No production checks: read-only tools, those that always run on their own embedded broker (demo, bench), and
# replay, which runs a scenario on topics of its own prefix and reads no agencies or mappings.
TOOLS = frozenset({"settings", "broker", "topics", "db", "audit", "chronology", "bench", "deploy", "demo", "replay",
                   "openapi"})
NO_DATA_FOLDER = frozenset({"settings", "deploy", "openapi"})
ALWAYS_DATA_FOLDER = frozenset({"up", "demo", "broker", "worker", "replay", "bench"})
# (host setting, port setting) each service listens on; `up` checks every component's itself, under its lock.
LISTENS: dict[str, tuple[tuple[str, str], ...]] = {
    "intake": (("intake_host", "intake_port"),), "webhooks": (("webhooks_host", "webhooks_port"),),
    "worker": (("metrics_host", "worker_metrics_port"),), "dispatcher": (("metrics_host", "dispatcher_metrics_port"),),
    "chronology-feed": (("metrics_host", "chronology_metrics_port"),),
    "filedrop": (("metrics_host", "filedrop_metrics_port"),), "sqlpoll": (("metrics_host", "sqlpoll_metrics_port"),),
    "web": (("web_host", "web_port"),),
}
IN_PRODUCTION = "refusing to start in production"
USES_KAFKA = frozenset({*SERVICES} - {"dead-letters", "web"}) | {"topics", "replay"}  # the web app: the ledger only
WITH_WEB = frozenset({"web", "up"})
KAFKA_PROBE_S = 10.0  # how long the brokers may take to accept a connection before the process gives up


@dataclass
class Verdict:
    """What the checks found: lines that stop the command, and warnings it runs with."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unreachable: str | None = None  # a service it needs does not answer (checked last, only when all else is fine)


def check(command: str, args: argparse.Namespace, settings: Settings, environ: Mapping[str, str]) -> Verdict:
    """Every check that applies to `command`, local ones first."""
    verdict = Verdict()
    if command == "dead-letters" and getattr(args, "dead_letters_action", None) != "replay":
        command = "dead-letters-read"  # list and show read the database only: a tool
    needs = SERVICES.get(command, frozenset())
    if _uses_data_folder(command, settings):
        verdict.errors += [r.line() for r in data_folder_refusals(settings)]
    referenced: list[str] = []
    if AGENCIES in needs:
        refusals, names = agencies_refusals(settings)
        verdict.errors += [r.line() for r in refusals]
        referenced += names
    if MAPPINGS in needs:
        refusals, names = mappings_refusals(settings)
        verdict.errors += [r.line() for r in refusals]
        referenced += names
    if not getattr(args, "once", False):
        verdict.errors += [r.line() for r in port_refusals(settings, _listens(command, settings))]
    if command in WITH_WEB:
        verdict.errors += [r.line() for r in web_sign_in_refusals(settings)]
    if command in SERVICES and settings.is_production:
        verdict.errors += [f"{IN_PRODUCTION}: {r.line()}" for r in production_refusals(settings, needs)]
        if command in WITH_WEB:
            verdict.errors += [f"{IN_PRODUCTION}: {r.line()}" for r in web_production_refusals(settings)]
    if not verdict.errors and command in USES_KAFKA and settings.kafka_bootstrap:
        verdict.unreachable = unreachable_kafka(settings)
    elif command in SERVICES and settings.production is False and not settings.uses_embedded_broker:
        verdict.warnings.append("DRIVE_PRODUCTION=false: production safety checks are off against this Kafka cluster")
    verdict.warnings += unknown_variables(environ, referenced)
    return verdict


def _uses_data_folder(command: str, settings: Settings) -> bool:
    if command in NO_DATA_FOLDER:
        return False
    return command in ALWAYS_DATA_FOLDER or settings.uses_embedded_broker or settings.database_url is None


def _listens(command: str, settings: Settings) -> list[tuple[str, str]]:
    pairs = list(LISTENS.get(command, ()))
    if settings.uses_embedded_broker and settings.embedded_broker_port and (pairs or command == "broker"):
        pairs.append(("", "embedded_broker_port"))
    return pairs


def data_folder_refusals(settings: Settings) -> list[Refusal]:
    """The data folder exists as a writable folder, or could be made (nothing is created here)."""
    folder = Path(settings.data_dir).absolute()
    where = f"{env_name('data_dir')} ({folder})"
    action = "choose a writable folder with DRIVE_DATA_DIR or --data-dir"
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not existing.is_dir():
        return [Refusal(where, f"cannot be created: {existing} is not a folder", action)]
    if not os.access(existing, os.W_OK | os.X_OK):
        verb = "is not writable" if existing == folder else f"cannot be created: {existing} is not writable"
        return [Refusal(where, verb, action)]
    return []


def agencies_refusals(settings: Settings) -> tuple[list[Refusal], list[str]]:
    """The agencies file is readable and valid; returns the refusals and the HMAC secret variables it names."""
    if settings.agencies_file is None:
        return [], []
    path = Path(settings.agencies_file)
    where = f"{env_name('agencies_file')} ({path})"
    try:
        agencies = _quietly_load(path.read_text("utf-8"))
    except OSError as exc:
        return [Refusal(where, f"cannot be read ({exc.strerror or type(exc).__name__})",
                        "mount or create the agencies file, or fix the path")], []
    except (ValueError, KeyError, TypeError, AttributeError, yaml.YAMLError) as exc:
        return [Refusal(where, f"is not a valid agencies file ({_reason(exc)})",
                        "fix it (deploy/agencies.example.yaml shows the format)")], []
    return [], [secret.secret_env for agency in agencies for secret in agency.hmac_secrets]


def _quietly_load(text: str) -> list[Agency]:
    """The agencies of a file, without the loader's per-secret log lines (the intake logs those when it starts)."""
    logger = logging.getLogger(agencies_module.__name__)
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        return load_agencies(text, env={})
    finally:
        logger.setLevel(level)


def mappings_refusals(settings: Settings) -> tuple[list[Refusal], list[str]]:
    """The feed mappings folder exists and every mapping in it is valid; returns refusals and url_env variables."""
    if settings.feed_mappings_dir is None:
        return [], []
    folder = Path(settings.feed_mappings_dir)
    where = f"{env_name('feed_mappings_dir')} ({folder})"
    if not folder.is_dir():
        return [Refusal(where, "is not a folder", "mount the folder of your feed mappings, or fix the path")], []
    try:
        mappings = load_mappings(folder)
    except MappingConfigError as exc:
        return [Refusal(where, f"holds an invalid mapping ({exc})", "fix that mapping file")], []
    return [], [m.sql.url_env for m in mappings if m.sql is not None and m.sql.url_env]


def _reason(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def port_refusals(settings: Settings, listens: Iterable[tuple[str, str]]) -> list[Refusal]:
    """Each (host setting, port setting) can be listened on now; the same port named twice is refused too."""
    refusals: list[Refusal] = []
    seen: dict[tuple[str, int], str] = {}
    for host_field, port_field in listens:
        host = getattr(settings, host_field) if host_field else BROKER_HOST
        port = int(getattr(settings, port_field))
        name = env_name(port_field)
        if not port:
            continue
        if (host, port) in seen:
            refusals.append(Refusal(name, f"names port {port}, as {seen[host, port]} does",
                                    "give each its own port (or 0 to turn a metrics server off)"))
            continue
        seen[host, port] = name
        problem = _bind_problem(host, port)
        if problem == errno.EADDRINUSE:
            refusals.append(Refusal(name, f"names port {port} on {host}, which another process is using",
                                    f"stop that process, or set {name} to a free port"
                                    + (" (0 turns this server off)" if "metrics" in port_field else "")))
        elif problem is not None:
            where = env_name(host_field) if host_field else name
            refusals.append(Refusal(where, f"cannot listen on {host}:{port} ({os.strerror(problem)})",
                                    "use an address of this machine, e.g. 127.0.0.1 or 0.0.0.0"))
    return refusals


def _bind_problem(host: str, port: int) -> int | None:
    """The errno binding host:port fails with now (as servers bind: SO_REUSEADDR), or None."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return errno.EADDRNOTAVAIL
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return exc.errno or errno.EADDRINUSE
    return None


def production_refusals(settings: Settings, needs: frozenset[str]) -> list[Refusal]:
    """Development secrets and placeholders always; the development agencies and sample mappings where read."""
    refusals = secret_refusals(settings)
    if AGENCIES in needs:
        refusals += agencies_in_production(settings)
    if MAPPINGS in needs:
        refusals += sample_mappings(settings)
    return refusals


def agencies_in_production(settings: Settings) -> list[Refusal]:
    """The built-in development agencies, their file, any of their published API keys, or a weak HMAC secret."""
    name = env_name("agencies_file")
    dev = resources.files("connectors.http") / DEV_AGENCIES_RESOURCE
    if settings.agencies_file is None:
        return [Refusal(name, "is unset, so the intake would accept the development agencies and their published keys",
                        "set it to your agencies file (deploy/agencies.example.yaml shows the format)")]
    path = Path(settings.agencies_file)
    if path.resolve() == Path(str(dev)).resolve():
        return [Refusal(name, "names the development agencies file", "set it to your own agencies file")]
    try:
        agencies = _quietly_load(path.read_text("utf-8"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, yaml.YAMLError):
        return []  # already refused as unreadable or invalid
    published = {key.sha256 for agency in _quietly_load(dev.read_text("utf-8")) for key in agency.api_keys}
    return [Refusal(f"{name} ({path})", f"gives agency {agency.id} a development API key (key id {key.key_id})",
                    "issue the agency a new key and put its sha256 in the file")
            for agency in agencies for key in agency.api_keys if key.sha256 in published] + weak_shared_secrets(
        (secret.secret_env, f"agency {agency.id}, key {secret.key_id}") for agency in agencies
        for secret in agency.hmac_secrets)


def sample_mappings(settings: Settings) -> list[Refusal]:
    """The shipped sample mappings: as the default, named directly, or copied file by file."""
    name = env_name("feed_mappings_dir")
    samples = default_mappings_dir()
    if settings.feed_mappings_dir is None:
        return [Refusal(name, "is unset, so the file drop and SQL polling would run the shipped sample mappings",
                        "set it to the folder of your agencies' feed mappings")]
    folder = Path(settings.feed_mappings_dir)
    if folder.resolve() == samples.resolve():
        return [Refusal(name, "names the shipped sample mappings", "set it to the folder of your own feed mappings")]
    sample_digests = {_digest(p): p.name for p in samples.glob("*.y*ml")}
    return [Refusal(f"{name} ({folder})", f"holds {p.name}, a copy of the shipped sample {sample_digests[_digest(p)]}",
                    "write that agency's own mapping") for p in sorted(folder.glob("*.y*ml"))
            if _digest(p) in sample_digests]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def unreachable_kafka(settings: Settings, within_s: float = KAFKA_PROBE_S) -> str | None:
    """None once any bootstrap server accepts a TCP connection; else the line saying so (the client libraries would
    log a connection error every few milliseconds for half a minute before saying the same)."""
    servers = [part.strip() for part in str(settings.kafka_bootstrap).split(",") if part.strip()]
    deadline = time.monotonic() + within_s
    while True:
        for server in servers:
            host, _, port = server.rpartition(":")
            try:
                with socket.create_connection((host.strip("[]"), int(port)), timeout=2):
                    return None
            except (OSError, ValueError):
                continue
        if time.monotonic() >= deadline:
            return (f"cannot reach Kafka at {settings.kafka_bootstrap} (DRIVE_KAFKA_BOOTSTRAP): check the address and "
                    "the network, and that DRIVE_KAFKA_SECURITY_PROTOCOL matches the listener")
        time.sleep(0.5)
