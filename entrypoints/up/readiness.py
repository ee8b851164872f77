"""Whether a component of `drive-alerts up` really is ready, and if not, why (its /readyz, its exit, its own last word)."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from entrypoints.up.spawn import ComponentProcess

READY = "ready"
REFUSED_EXIT = 2  # entrypoints.failures.EXIT_REFUSED: the child's settings are wrong; restarting cannot help


@dataclass(frozen=True)
class Readiness:
    """One component's state: ready or not, and the reason a person can act on."""

    ready: bool
    reason: str
    knowable: bool = True  # False when the component serves no /readyz: waiting longer cannot tell more

    @property
    def label(self) -> str:
        return READY if self.ready else f"NOT READY: {self.reason}"


def probe(url: str | None, process: ComponentProcess | None, log_path: Path, metrics_setting: str) -> Readiness:
    """Ready only when the child process is alive and its own /readyz answers 200."""
    if process is None:
        return Readiness(False, "not started")
    code = process.poll()
    if code is not None:
        return Readiness(False, f"exited with code {code}: {last_word(log_path)}")
    if url is None:
        return Readiness(False, f"running, but {metrics_setting}=0 turns its /readyz off, so readiness is unknown",
                         knowable=False)
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return Readiness(answer.status == 200, READY if answer.status == 200 else f"/readyz answers {answer.status}")
    except urllib.error.HTTPError as refused:
        return Readiness(False, f"{url} answers {refused.code} (still starting or a dependency is down; "
                                f"see {log_path})")
    except OSError:
        return Readiness(False, f"nothing answers at {url} yet (see {log_path})")


def last_word(log_path: Path, lines: int = 200) -> str:
    """The child's own explanation: its last `drive-alerts:` line, else its last error event, else where to look."""
    try:
        with open(log_path, encoding="utf-8", errors="replace") as log:
            tail = list(deque(log, maxlen=lines))
    except OSError:
        return f"no log at {log_path}"
    for line in reversed(tail):
        if line.startswith("drive-alerts: ") and "warning:" not in line:
            return line.removeprefix("drive-alerts: ").strip()
    for line in reversed(tail):
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("level") in ("error", "critical"):
            return f"{event.get('event')} (see {log_path})"
    return f"see {log_path}"
