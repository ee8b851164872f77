"""Prometheus /metrics plus /healthz and /readyz for every process: a tiny threaded server, or routes on an aiohttp app."""
from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from runtime.logging import get_logger

ReadyCheck = Callable[[], bool]


def _always_ready() -> bool:
    return True


class MetricsServer:
    """Serves /metrics (Prometheus text), /healthz (the process answers) and /readyz (ready() is true) in a thread."""

    def __init__(self, host: str, port: int, ready: ReadyCheck = _always_ready) -> None:
        self.ready = ready
        handler = _handler_for(self)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics-server", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> "MetricsServer":
        """Start serving in a daemon thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()


def _handler_for(server: MetricsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._answer(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                self._json(200, {"status": "ok"})
            elif path == "/readyz":
                ok = _safe(server.ready)
                self._json(200 if ok else 503, {"status": "ok" if ok else "unavailable"})
            else:
                self._json(404, {"status": "error", "reason": "not found"})

        def _json(self, status: int, body: dict[str, Any]) -> None:
            self._answer(status, json.dumps(body).encode(), "application/json")

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:  # scrapes every few seconds must not flood the log
            return

    return Handler


def _safe(check: ReadyCheck) -> bool:
    try:
        return bool(check())
    except Exception:  # noqa: BLE001 - a failing check means not ready
        return False


def start_metrics_server(host: str, port: int, ready: ReadyCheck = _always_ready) -> MetricsServer | None:
    """Start a MetricsServer unless port is 0 (turned off); a port in use is logged, never fatal."""
    if not port:
        return None
    try:
        return MetricsServer(host, port, ready).start()
    except OSError as exc:

        get_logger(__name__).warning("metrics_server_unavailable", host=host, port=port, error=type(exc).__name__)
        return None


def add_metrics_route(app: Any) -> None:
    """Add GET /metrics to an aiohttp application (which already serves /healthz and /readyz)."""
    from aiohttp import web

    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/metrics", metrics)
