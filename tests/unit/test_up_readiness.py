"""`up` says "ready" for a component only when its own process is alive and its /readyz says so; otherwise why not."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from entrypoints.up.readiness import probe
from runtime.embedded_broker import free_port
from runtime.metrics_server import MetricsServer


def test_ready_only_when_the_process_lives_and_its_readyz_answers(tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    log.write_text("drive-alerts: DRIVE_X names port 1, which another process is using: stop it\n")
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    ready = {"value": False}
    server = MetricsServer("127.0.0.1", 0, lambda: ready["value"]).start()
    url = f"http://127.0.0.1:{server.port}/readyz"
    try:
        assert probe(url, alive, log, "DRIVE_WORKER_METRICS_PORT").label.startswith(f"NOT READY: {url} answers 503")
        ready["value"] = True
        assert probe(url, alive, log, "DRIVE_WORKER_METRICS_PORT").label == "ready"
        silent = f"http://127.0.0.1:{free_port()}/readyz"
        assert probe(silent, alive, log, "X").label.startswith(f"NOT READY: nothing answers at {silent}")
        assert probe(None, alive, log, "DRIVE_WORKER_METRICS_PORT").label == (
            "NOT READY: running, but DRIVE_WORKER_METRICS_PORT=0 turns its /readyz off, so readiness is unknown")
        alive.kill()
        alive.wait()
        # the port still answers (another process could hold it), but this component is gone
        assert probe(url, alive, log, "X").label == (f"NOT READY: exited with code {alive.returncode}: DRIVE_X names "
                                                     "port 1, which another process is using: stop it")
    finally:
        alive.kill()
        server.stop()
