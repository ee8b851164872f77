"""The components `drive-alerts up` runs as child processes, their URLs and the environment each child gets."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from entrypoints.preflight import LISTENS
from runtime.settings import Settings


@dataclass(frozen=True)
class Component:
    """One `drive-alerts <command>` child: its name, where /readyz answers and where its /metrics is."""

    name: str
    base_url: str | None  # http://host:port serving /healthz, /readyz, /metrics; None when metrics are off
    host_setting: str  # the Settings fields it listens on
    port_setting: str

    @property
    def ready_url(self) -> str | None:
        return f"{self.base_url}/readyz" if self.base_url else None

    @property
    def metrics_url(self) -> str | None:
        return f"{self.base_url}/metrics" if self.base_url else None


# Start order; shutdown goes by STOP_ORDER: what takes input first, the broker (not a child) last.
START_ORDER = ("webhooks", "dispatcher", "chronology-feed", "worker", "intake", "filedrop", "web")
STOP_ORDER: tuple[tuple[str, ...], ...] = (
    ("intake", "filedrop", "web"), ("worker",), ("dispatcher", "chronology-feed"), ("webhooks",))




def _url(host: str, port: int) -> str | None:
    return f"http://{host}:{port}" if port else None


def components(settings: Settings) -> list[Component]:
    """The seven components with the URLs their settings give them, in start order."""
    found = []
    for name in START_ORDER:
        [(host, port)] = LISTENS[name]
        found.append(Component(name, _url(getattr(settings, host), getattr(settings, port)), host, port))
    return found


def child_env(settings: Settings, bootstrap: str) -> dict[str, str]:
    """The environment of every child: the parent's, plus the settings the supervisor decided (flags included)."""
    env = dict(os.environ)
    data_dir = Path(settings.data_dir).resolve()
    env.update({
        "DRIVE_KAFKA_BOOTSTRAP": bootstrap,
        "DRIVE_EMBEDDED_PROFILE": "true" if settings.embedded_workarounds else "false",
        "DRIVE_DATA_DIR": str(data_dir),
        "DRIVE_DATABASE_URL": settings.resolved_database_url,
        "DRIVE_TOPIC_PREFIX": settings.topic_prefix,
        "DRIVE_INTAKE_HOST": settings.intake_host, "DRIVE_INTAKE_PORT": str(settings.intake_port),
        "DRIVE_WEBHOOKS_HOST": settings.webhooks_host, "DRIVE_WEBHOOKS_PORT": str(settings.webhooks_port),
        "DRIVE_PUBLIC_BASE_URL": settings.public_base_url,
        "DRIVE_WEB_HOST": settings.web_host, "DRIVE_WEB_PORT": str(settings.web_port),
        "DRIVE_WEB_BASE_URL": settings.resolved_web_base_url, "DRIVE_WEB_PROGRAMME_LEADS": settings.web_programme_leads,
        "DRIVE_METRICS_HOST": settings.metrics_host,
        "DRIVE_WORKER_METRICS_PORT": str(settings.worker_metrics_port),
        "DRIVE_DISPATCHER_METRICS_PORT": str(settings.dispatcher_metrics_port),
        "DRIVE_CHRONOLOGY_METRICS_PORT": str(settings.chronology_metrics_port),
        "DRIVE_FILEDROP_METRICS_PORT": str(settings.filedrop_metrics_port),
        "DRIVE_FILEDROP_DIR": str((settings.filedrop_dir or data_dir / "filedrop").resolve()),
        "DRIVE_LOG_LEVEL": settings.log_level,
        "DRIVE_LOG_FORMAT": "json",  # logs go to files: one JSON object per line
        "PYTHONUNBUFFERED": "1",
    })
    return env


def for_up(settings: Settings) -> Settings:
    """Settings as `up` runs them: the public base URL follows a changed webhooks port when left at its default."""
    default_base = Settings.model_fields["public_base_url"].default
    if settings.public_base_url == default_base and settings.webhooks_port != 8082:
        return settings.model_copy(update={"public_base_url": f"http://127.0.0.1:{settings.webhooks_port}"})
    return settings
