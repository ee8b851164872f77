"""The embedded Tansu broker starts, answers the Kafka protocol, restarts empty and stops cleanly."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

from runtime.embedded_broker import BrokerError, EmbeddedBroker, answers_kafka, free_port
from tests.kafka_helpers import read_topic

pytestmark = pytest.mark.integration


def _create_topic(bootstrap: str, name: str, partitions: int = 1) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        admin.close()


def _topics(bootstrap: str) -> set[str]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


def test_broker_answers_kafka_and_stops(tmp_path):
    """A started broker answers on its loopback bootstrap, and after stop() nothing answers there."""
    broker = EmbeddedBroker(log_path=tmp_path / "tansu.log")
    with broker:
        assert broker.bootstrap == f"127.0.0.1:{broker.port}"
        assert broker.running
        assert answers_kafka(broker.bootstrap)
        pid = broker.pid
    assert not broker.running
    assert not answers_kafka(broker.bootstrap, timeout_s=0.5)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert "tansu" in (tmp_path / "tansu.log").read_text().lower()


def test_stop_is_idempotent():
    """Calling stop() twice, or before start(), does nothing harmful."""
    broker = EmbeddedBroker()
    broker.stop()
    broker.start()
    broker.stop()
    broker.stop()
    assert not broker.running


def test_fixed_port_is_used():
    """A broker asked for a given port listens on exactly that port."""
    port = free_port()
    with EmbeddedBroker(port=port) as broker:
        assert broker.bootstrap == f"127.0.0.1:{port}"
        assert answers_kafka(f"127.0.0.1:{port}")


def test_records_round_trip(own_broker):
    """Bytes produced to the broker are read back unchanged, with headers, by read_topic."""
    _create_topic(own_broker.bootstrap, "roundtrip")
    producer = KafkaProducer(bootstrap_servers=own_broker.bootstrap)
    for i in range(3):
        producer.send("roundtrip", key=b"k%d" % i, value=b"v%d" % i, headers=[("h", b"x%d" % i)])
    producer.flush()
    producer.close()
    records = read_topic(own_broker.bootstrap, "roundtrip", 3)
    assert records == [(b"k%d" % i, b"v%d" % i, [("h", b"x%d" % i)]) for i in range(3)]


def test_restart_keeps_port_and_comes_back_empty(own_broker):
    """restart() brings the broker back on the same port with none of the old topics."""
    _create_topic(own_broker.bootstrap, "before-restart")
    assert "before-restart" in _topics(own_broker.bootstrap)
    bootstrap = own_broker.bootstrap
    own_broker.restart()
    assert own_broker.bootstrap == bootstrap
    assert answers_kafka(bootstrap)
    assert "before-restart" not in _topics(bootstrap)


def test_broker_that_cannot_listen_reports_its_log(tmp_path):
    """A broker whose port is taken fails fast with a BrokerError quoting Tansu's own log."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        broker = EmbeddedBroker(port=squatter.getsockname()[1], log_path=tmp_path / "t.log", ready_timeout_s=20)
        with pytest.raises(BrokerError) as info:
            broker.start()
    assert "Address in use" in str(info.value)
    assert not broker.running


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is not a running broker.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return False


def test_no_orphan_broker_after_interpreter_exit():
    """A process that starts a broker and exits without stopping it leaves no broker running."""
    probe = ("from runtime.embedded_broker import EmbeddedBroker\n"
             "b = EmbeddedBroker().start()\nprint(b.pid, b.bootstrap, flush=True)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60).stdout
    pid, bootstrap = out.split()
    assert not _pid_alive(int(pid))
    assert not answers_kafka(bootstrap, timeout_s=0.5)


def test_cli_broker_runs_until_interrupted(tmp_path):
    """`drive-alerts broker --port P` prints its bootstrap, answers Kafka, and stops cleanly on Ctrl-C."""
    port = free_port()
    env = {**os.environ, "DRIVE_DATA_DIR": str(tmp_path), "DRIVE_LOG_FORMAT": "json"}
    process = subprocess.Popen([sys.executable, "-m", "entrypoints.cli", "broker", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        first_line = process.stdout.readline()
        assert first_line.strip() == f"embedded broker ready: bootstrap 127.0.0.1:{port}"
        assert answers_kafka(f"127.0.0.1:{port}")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert not answers_kafka(f"127.0.0.1:{port}", timeout_s=0.5)
    assert (tmp_path / "tansu.log").exists()


def test_no_orphan_broker_after_parent_is_killed():
    """A process SIGKILLed while its broker runs (no atexit) still leaves no broker behind."""
    probe = ("import time\nfrom runtime.embedded_broker import EmbeddedBroker\n"
             "b = EmbeddedBroker().start()\nprint(b.pid, b.bootstrap, flush=True)\ntime.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, "-c", probe], stdout=subprocess.PIPE, text=True)
    try:
        pid, bootstrap = parent.stdout.readline().split()
        assert _pid_alive(int(pid))
    finally:
        parent.kill()
        parent.wait()
    for _ in range(100):
        if not _pid_alive(int(pid)):
            break
        time.sleep(0.1)
    assert not _pid_alive(int(pid))
