"""The demo as a newcomer meets the web app: `drive-alerts demo --stay`, then in a phone-sized Chromium sign in with
the code the outbox shows, see the demo's alerts, acknowledge one, and open a subject's review chronology."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.web_harness import outbox_code

pytestmark = pytest.mark.integration
DRIVE = [sys.executable, "-c", "from entrypoints.cli import main; raise SystemExit(main())"]
READY = re.compile(r"== the staff web app: (http://\S+?)/ ==")


def _start_demo(data_dir: Path) -> tuple[subprocess.Popen[str], str, list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIVE_")}
    env["DRIVE_DATA_DIR"] = str(data_dir)
    demo = subprocess.Popen([*DRIVE, "demo", "--stay"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    lines: list[str] = []
    found: list[str] = []

    def read() -> None:
        for line in demo.stdout:  # type: ignore[union-attr]
            lines.append(line)
            if not found and (match := READY.search(line)):
                found.append(match.group(1))

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 300
    while not found and demo.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    if not found:
        demo.kill()
        raise AssertionError("the demo never offered the web app:\n" + "".join(lines[-60:]))
    return demo, found[0], lines


def test_a_newcomer_signs_in_to_the_demo_acknowledges_and_opens_a_chronology(phone: Any, tmp_path: Path) -> None:
    """staff-cm-01 signs in with the outbox's code, sees the demo's open alerts, acknowledges the first with one
    button, and opens DRV-0101's chronology, grouped by alert; the demo then stops cleanly."""
    demo, base, lines = _start_demo(tmp_path)
    try:
        assert "every expected alert was delivered" in "".join(lines)
        phone.goto(base + "/")
        phone.fill("#who", "staff-cm-01")
        phone.click("#send")
        phone.wait_for_url("**/sign-in/code")
        phone.fill("#code", outbox_code(tmp_path / "demo" / "outbox.jsonl", "staff-cm-01"))
        phone.click("#verify")
        phone.wait_for_url(base + "/")
        cards = phone.locator("article.card")
        assert cards.count() >= 3, phone.text_content("main")
        first = cards.first.get_attribute("data-code")
        cards.first.locator("button.ack").click()
        phone.wait_for_url(f"**/alerts/{first}?done=ACKNOWLEDGED")
        assert "Acknowledged. Thank you." in phone.text_content("#message")
        phone.goto(f"{base}/subjects/DRV-0101/chronology")
        assert phone.locator("article.alert-group").count() >= 2
        assert "GMT" in phone.locator("tr.step td.when").first.text_content()
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            code = demo.wait(120)
        except subprocess.TimeoutExpired:
            demo.kill()
            raise
    assert code in (0, 130), "".join(lines[-40:])
