"""Container HEALTHCHECK: healthy when any drive-alerts port on loopback answers /healthz with 200."""
from __future__ import annotations

import os
import sys
import urllib.request

# intake, webhooks, web app, worker, dispatcher, file drop, SQL polling, chronology feed (HEALTHCHECK_PORTS overrides)
DEFAULT_PORTS = "8081,8082,8083,9101,9102,9103,9104,9105"


def healthy(port: int) -> bool:
    """True when http://127.0.0.1:port/healthz answers 200."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as answer:
            return answer.status == 200
    except OSError:
        return False


if __name__ == "__main__":
    ports = os.environ.get("HEALTHCHECK_PORTS", DEFAULT_PORTS)
    sys.exit(0 if any(healthy(int(p)) for p in ports.split(",") if p.strip()) else 1)
