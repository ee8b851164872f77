"""The supervisor of `drive-alerts up`: broker, topics, its durable copy restored, child components, restarts, stop."""
from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from entrypoints.bootstrap import provision
from entrypoints.preflight import port_refusals
from entrypoints.up.components import STOP_ORDER, Component, child_env, components, for_up
from entrypoints.up.durability import Durability
from entrypoints.up.readiness import REFUSED_EXIT, Readiness, last_word, probe
from entrypoints.up.spawn import ComponentProcess, ForkServer
from migrations import upgrade
from runtime.embedded_broker import EmbeddedBroker
from runtime.folders import FolderInUse, FolderLock, hold_lock
from runtime.logging import get_logger
from runtime.settings import Settings

log = get_logger(__name__)
STOP_TIMEOUT_S = 30.0
MAX_BACKOFF_S = 30.0
LOCK_FILE = "up.lock"


class PipelineError(RuntimeError):
    """The pipeline could not start, or its broker went away."""

    exit_code = 1


class Refused(PipelineError):
    """`up` will not start (or a component will not): a setting, port or second instance to deal with first."""

    exit_code = REFUSED_EXIT


@dataclass
class Child:
    """One running component process and its restart bookkeeping."""

    component: Component
    log_path: Path
    process: ComponentProcess | None = None
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = field(default_factory=time.monotonic)


class Supervisor:
    """Runs the whole pipeline on one machine; use as a context manager (start on enter, ordered stop on exit)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = for_up(settings.model_copy(update={"data_dir": Path(settings.data_dir).resolve()}))
        self.logs_dir = self.settings.data_dir / "logs"
        self.children: dict[str, Child] = {}
        self.broker: object | None = None
        self.bootstrap = ""
        self.durability: Durability | None = None
        self.restored = (0, 0)  # (records from the broker copy, journal rows re-seeded)
        self._env: dict[str, str] = {}
        self._stopping = threading.Event()
        self.lock: FolderLock | None = None
        self.forks = ForkServer([f"entrypoints.commands.{c.name.replace('-', '_')}" for c in components(self.settings)])

    # ------------------------------------------------------------------ start

    def claim(self) -> "Supervisor":
        """Hold the data folder for this instance's life, then check every port it will serve is free."""
        if self.lock is not None:
            return self
        folder = self.settings.data_dir
        try:
            self.lock = hold_lock(folder / LOCK_FILE, "drive-alerts up")
        except FolderInUse as busy:
            raise Refused(f"another `drive-alerts up` ({busy.holder or 'pid unknown'}) is running on the data folder "
                          f"{folder} (DRIVE_DATA_DIR): stop it first, or give this one its own folder with "
                          "DRIVE_DATA_DIR or --data-dir") from None
        listens = [(c.host_setting, c.port_setting) for c in components(self.settings)]
        if not self.settings.kafka_bootstrap:
            listens.append(("", "embedded_broker_port"))
        refusals = port_refusals(self.settings, listens)
        if refusals:
            self.release()
            raise Refused(refusals[0].line())
        return self

    def release(self) -> None:
        """Let go of the data folder (also done by the kernel on any exit)."""
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def start(self) -> "Supervisor":
        """Claim, broker, database, topics, re-seed, then every component (each restarted if it crashes)."""
        self.claim()
        self.forks.warm()
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self.bootstrap = self._start_broker()
        bound = self.settings.model_copy(update={"kafka_bootstrap": self.bootstrap,
                                                 "embedded_profile": self.settings.embedded_workarounds})
        self.settings = bound
        upgrade(bound.resolved_database_url)
        provision(bound)
        if self.broker is not None:  # the fresh embedded broker gets back what the last run left
            self.durability = Durability(bound)
            self.restored = self.durability.restore()
            self.durability.start()
        self._env = child_env(bound, self.bootstrap)
        for component in components(bound):
            child = Child(component, self.logs_dir / f"{component.name}.log")
            self.children[component.name] = child
            self._spawn(child, self._env)
        return self

    def _start_broker(self) -> str:
        if self.settings.kafka_bootstrap:  # a real cluster: nothing to start, nothing to re-seed
            return self.settings.kafka_bootstrap

        broker = EmbeddedBroker(port=self.settings.embedded_broker_port, log_path=self.logs_dir / "broker.log")
        self.broker = broker.start()
        return broker.bootstrap

    def _spawn(self, child: Child, env: dict[str, str]) -> None:
        child.process = self.forks.spawn(child.component.name, env, child.log_path)
        child.started_at = time.monotonic()
        log.info("up.component_started", component=child.component.name, pid=child.process.pid)

    # ------------------------------------------------------------------ run

    def readiness(self) -> dict[str, Readiness]:
        """Each component's state now: ready only when its own process is alive and its /readyz says so."""
        return {name: probe(c.component.ready_url, c.process, c.log_path, f"DRIVE_{c.component.port_setting.upper()}")
                for name, c in self.children.items()}

    def wait_ready(self, timeout_s: float = 180.0) -> dict[str, Readiness]:
        """Wait until every component is ready (or the time is up); each component's state at the end."""
        deadline = time.monotonic() + timeout_s
        states = self.readiness()
        while time.monotonic() < deadline and not self._stopping.is_set():
            self.check()
            states = self.readiness()
            if all(state.ready or not state.knowable for state in states.values()):
                break
            time.sleep(0.5)
        return states

    def check(self) -> list[str]:
        """Restart crashed components (with backoff); raise PipelineError when the broker is gone, Refused when a
        component refused its settings (restarting cannot help). Names restarted."""
        if self.broker is not None and not self.broker.running:  # type: ignore[attr-defined]
            raise PipelineError("the embedded broker exited (see logs/broker.log); run `drive-alerts up` again:"
                                " the journal and the ledger keep everything")
        restarted = []
        now = time.monotonic()
        for child in self.children.values():
            process = child.process
            if process is None or process.poll() is None or self._stopping.is_set():
                continue
            if process.returncode == REFUSED_EXIT:
                raise Refused(f"{child.component.name} refused to start: {last_word(child.log_path)}")
            if child.next_start == 0.0:
                delay = min(MAX_BACKOFF_S, 2.0 ** min(child.restarts, 5))
                child.next_start = now + delay
                print(f"drive-alerts up: {child.component.name} exited with code {process.returncode}; restarting"
                      f" in {delay:.0f}s (see {child.log_path})", file=sys.stderr, flush=True)
            elif now >= child.next_start:
                child.restarts += 1
                child.next_start = 0.0
                self._spawn(child, self._env)
                restarted.append(child.component.name)
        return restarted

    def run_until_stopped(self, on_tick: Callable[[], None] | None = None, every_s: float = 1.0) -> None:
        """Supervise until SIGINT/SIGTERM (or stop()); on_tick runs every `every_s` (the status line)."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: self._stopping.set())
        while not self._stopping.wait(every_s):
            self.check()
            if on_tick is not None:
                on_tick()

    # ------------------------------------------------------------------ stop

    def stop(self, out: IO[str] | None = None) -> None:
        """Stop the components in order (input first), then the broker; each gets STOP_TIMEOUT_S, then SIGKILL."""
        self._stopping.set()
        for group in STOP_ORDER:
            running = [self.children[n] for n in group if n in self.children and self.children[n].process]
            for child in running:
                if child.process.poll() is None:  # type: ignore[union-attr]
                    child.process.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
            for child in running:
                _wait_or_kill(child.process)  # type: ignore[arg-type]
                if out is not None:
                    print(f"  stopped {child.component.name}", file=out, flush=True)
        if self.durability is not None:
            self.durability.close(final_checkpoint=self.broker is not None and self.broker.running)
            self.durability = None
        if self.broker is not None:
            self.broker.stop()  # type: ignore[attr-defined]
            if out is not None:
                print("  stopped broker", file=out, flush=True)
        self.release()

    def __enter__(self) -> "Supervisor":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *_exc: object) -> None:
        self.stop()




def _wait_or_kill(process: ComponentProcess) -> None:
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_S)
