"""`drive-alerts broker`: the embedded Tansu broker in the foreground until Ctrl-C or SIGTERM."""
from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

import structlog

from runtime.embedded_broker import EmbeddedBroker
from runtime.settings import Settings

log = structlog.get_logger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `broker`."""
    parser.add_argument("--port", dest="embedded_broker_port", type=int, default=None,
                        help="port to listen on (env DRIVE_EMBEDDED_BROKER_PORT; 0 picks a free one)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Start the broker, print its bootstrap, and wait for a signal or for the broker to die."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    broker = EmbeddedBroker(port=settings.embedded_broker_port,
                            log_path=(settings.data_dir / "tansu.log").resolve())
    try:
        broker.start()  # a broker that cannot start raises before anything is logged (entrypoints.failures)
    except BaseException:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        raise
    try:
        print(f"embedded broker ready: bootstrap {broker.bootstrap}", flush=True)
        print(f"export DRIVE_KAFKA_BOOTSTRAP={broker.bootstrap} DRIVE_EMBEDDED_PROFILE=true", flush=True)
        log.info("broker_started", bootstrap=broker.bootstrap, broker_log=str(broker.log_path))
        while not stop.wait(0.5):
            if not broker.running:
                log.error("broker_died", log_tail=broker.log_tail())
                return 1
        return 0
    finally:
        broker.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        log.info("broker_stopped", bootstrap=broker.bootstrap)
