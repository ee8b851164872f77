"""Child processes of the chaos run: `drive-alerts worker` / `dispatcher`, SIGKILL-able, always cleaned up."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from runtime.embedded_broker import BrokerError, find_tansu_binary

CLI = str(Path(sys.executable).with_name("drive-alerts"))


@dataclass
class Child:
    """One `drive-alerts <command>` subprocess with its log file (JSON lines, stdout and stderr)."""

    name: str
    command: str
    env: dict[str, str]
    log_dir: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"{self.name}.{self.starts}.log"

    def start(self) -> None:
        """Start (again) in its own session, so cleanup reaches any grandchild too."""
        self.starts += 1
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen([CLI, *self.command.split()], env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def wait_logged(self, marker: str, timeout_s: float) -> bool:
        """True once the current run's log holds `marker`; False on timeout or if the process died."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.log_path.exists() and marker in self.log_path.read_text(errors="replace"):
                return True
            if self.proc is None or self.proc.poll() is not None:
                return False
            time.sleep(0.2)
        return False

    def sigkill(self) -> None:
        """SIGKILL the process group: no shutdown, no commit, no goodbye to the group."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self, grace_s: float = 15.0) -> None:
        """SIGTERM, then SIGKILL after grace_s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            self.sigkill()

    def logs(self) -> str:
        """Everything every run of this child wrote."""
        return "".join((self.log_dir / f"{self.name}.{n}.log").read_text(errors="replace")
                       for n in range(1, self.starts + 1))


@dataclass
class Children:
    """Every child started, stopped in reverse order (workers before the dispatcher, all before the broker)."""

    items: list[Child] = field(default_factory=list)

    def add(self, child: Child) -> Child:
        self.items.append(child)
        return child

    def stop_all(self) -> None:
        for child in reversed(self.items):
            child.stop()


def needs_tansu() -> None:
    """Skip the calling test when no Tansu binary is there: a chaos run needs a real broker."""
    try:
        find_tansu_binary()
    except BrokerError as exc:
        pytest.skip(f"Kafka broker (Tansu) unavailable: {exc}")
