"""Components forked from one pre-loaded parent (a multiprocessing fork server): their imports are paid once.

A component started as its own interpreter imports faust, SQLAlchemy, aiohttp, Alembic and the rest before it does
anything: about 2.5 CPU-seconds each, five at once on a two-core machine, most of what `up` spent on a restart.
The fork server imports the command modules once, when `up` starts; each component is a fork of it that takes its
own environment, log file and session, then runs `drive-alerts <component>` as the command line would.
"""
from __future__ import annotations

import multiprocessing
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Protocol

__all__ = ["ComponentProcess", "Forked", "ForkServer"]

ORPHAN_GRACE_S = 30.0  # how long a component outliving its supervisor may take to stop before it is killed


class ComponentProcess(Protocol):
    """What the supervisor asks of a running component (subprocess.Popen has it too)."""

    @property
    def pid(self) -> int | None: ...
    @property
    def returncode(self) -> int | None: ...
    def poll(self) -> int | None: ...
    def send_signal(self, signum: int) -> None: ...
    def kill(self) -> None: ...
    def wait(self, timeout: float | None = None) -> int | None: ...


class Forked:
    """A component forked by the fork server, answering as a Popen would (exit code; -N when killed by signal N)."""

    def __init__(self, process: multiprocessing.process.BaseProcess) -> None:
        self._process = process

    @property
    def pid(self) -> int | None:
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def poll(self) -> int | None:
        return self._process.exitcode

    def send_signal(self, signum: int) -> None:
        if self._process.exitcode is None and self._process.pid is not None:
            try:
                os.kill(self._process.pid, signum)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int | None:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(f"drive-alerts component pid {self.pid}", timeout or 0.0)
        return self._process.exitcode


class ForkServer:
    """The pre-loaded parent of the components of one `up`.

    multiprocessing imports the parent's `__main__` in the fork server under another name: the program starting it
    must keep its start-up behind `if __name__ == "__main__"` (the `drive-alerts` script and `python -m` do).
    """

    def __init__(self, modules: list[str]) -> None:
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(modules)

    def warm(self) -> None:
        """Start the fork server (and its imports) now, in the background, while the caller starts the broker."""
        threading.Thread(target=self._warm, name="fork-server-warm", daemon=True).start()

    def _warm(self) -> None:
        process = self._context.Process(target=_nothing, name="drive-alerts fork-server-warm")
        process.start()
        process.join()

    def spawn(self, component: str, env: dict[str, str], log_path: Path) -> Forked:
        """`drive-alerts <component>` in a fork, with `env` as its whole environment and its output in `log_path`."""
        process = self._context.Process(target=_run, args=(component, env, str(log_path), os.getpid()),
                                        name=f"drive-alerts {component}", daemon=False)
        process.start()
        return Forked(process)


def _nothing() -> None:
    pass


def _run(component: str, env: dict[str, str], log_path: str, supervisor: int) -> None:
    # Own session: a Ctrl-C reaches only the supervisor, which then stops the components in order.
    os.setsid()
    _stop_when_gone(supervisor)
    sys.stdout.flush()
    sys.stderr.flush()
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.environ.clear()
    os.environ.update(env)
    sys.argv = ["drive-alerts", component]
    from entrypoints.cli import main  # here, not at the top: the CLI's `up` command imports this module

    sys.exit(main([component]))


def _stop_when_gone(supervisor: int) -> None:
    """SIGTERM this component when the supervisor exits, however it exits (SIGKILL included).

    The kernel's parent-death signal cannot do it: a component's parent is the fork server, which every component
    keeps alive (each holds the server's liveness pipe), so it would outlive a killed supervisor with its children.
    """
    try:
        watched = os.pidfd_open(supervisor)
    except (AttributeError, OSError):  # no pidfd (not Linux >= 5.3): ask the kernel about the pid once a second
        watched = None
    if watched is None and not _alive(supervisor):
        os.kill(os.getpid(), signal.SIGTERM)
        return
    threading.Thread(target=_watch, args=(supervisor, watched), name="supervisor-watch", daemon=True).start()


def _watch(supervisor: int, watched: int | None) -> None:
    if watched is not None:
        select.select([watched], [], [])
    else:
        while _alive(supervisor):
            time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(ORPHAN_GRACE_S)  # a stop that hangs (its broker went with the supervisor) must not leave an orphan
    os.kill(os.getpid(), signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
