"""A small Twilio-shaped SMS server on 127.0.0.1: answers the real SDK's Messages POST and notes when each came."""
from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "bench-auth-token"  # noqa: S105 - a local stand-in, never a real credential


class SmsSink:
    """Accepts every message (201, status queued); `received` maps message sid -> perf_counter() at arrival."""

    def __init__(self) -> None:
        self.received: dict[str, float] = {}
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                arrived = time.perf_counter()
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                sid = "SM" + uuid.uuid4().hex
                with sink.lock:
                    sink.received[sid] = arrived
                body = json.dumps({"sid": sid, "account_sid": ACCOUNT_SID, "status": "queued", "num_segments": "1",
                                   "direction": "outbound-api", "error_code": None, "error_message": None}).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """What the dispatcher's DRIVE_TWILIO_BASE_URL points at."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def count(self) -> int:
        """Messages received so far."""
        with self.lock:
            return len(self.received)

    def __enter__(self) -> SmsSink:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
