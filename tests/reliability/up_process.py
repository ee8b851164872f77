"""The operator's side of the supervisor-kill chaos run: a `drive-alerts up` process, posting to its HTTP intake,
when messages reach the fake providers, and the dead letters it lists."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from entrypoints.up.components import components
from entrypoints.up.demo_data import DEV_KEYS
from runtime.settings import Settings
from tests.fakes.smtp_server import FakeSmtp
from tests.reliability.observe import ACK
from tests.reliability.scenario import Sent

DRIVE = [sys.executable, "-c", "from entrypoints.cli import main; raise SystemExit(main())"]
# Every component's own port, from the supervisor's list of components (a component added there is waited for here).
PORTS = tuple(f"DRIVE_{c.port_setting.upper()}" for c in components(Settings()))
AGENCY = {"court": "court.demo", "case": "drive.casemgmt"}
# The dead letter's first error path says which malformation it was (scenario.malformed).
KIND_BY_PATH = {"occurred_at": "bad_time", "details": "missing_details", "narrative": "unknown_field",
                "schema_version": "bad_type", "": "not_object", "event_type": "bad_enum"}


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)
    except OSError:
        return 0


@dataclass
class Up:
    """`drive-alerts up` on one data folder: started, SIGKILLed, started again; its output in work/up.N.out."""

    work: Path
    env: dict[str, str]
    ports: dict[str, int]
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        self.starts += 1
        with open(self.work / f"up.{self.starts}.out", "wb") as out:
            self.process = subprocess.Popen([*DRIVE, "up"], env=self.env, stdout=out, stderr=subprocess.STDOUT)

    def _answering(self) -> list[str]:
        return [name for name in PORTS if _get(f"http://127.0.0.1:{self.ports[name]}/readyz") != 0]

    def wait_ready(self, timeout_s: float = 180.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"drive-alerts up exited: {self.output()[-3000:]}")
            if all(_get(f"http://127.0.0.1:{self.ports[n]}/readyz") == 200 for n in PORTS):
                return
            time.sleep(0.5)
        raise RuntimeError(f"drive-alerts up never became ready: {self.output()[-3000:]}")

    def sigkill(self) -> None:
        """SIGKILL the supervisor alone: its components must notice and stop by themselves."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def wait_gone(self, timeout_s: float = 90.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self._answering():
            if time.monotonic() > deadline:
                raise RuntimeError(f"components outlived their killed supervisor: {self._answering()}")
            time.sleep(0.2)

    def stop(self) -> int | None:
        """SIGTERM (the clean stop); its exit code."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(30)

    def sigkill_component(self, name: str) -> int:
        """SIGKILL one component of the running `up` (its pid from this start's banner); the supervisor restarts it."""
        banner = (self.work / f"up.{self.starts}.out").read_text(errors="replace")
        pid = int(re.findall(rf"^  {name} +pid (\d+) ", banner, re.M)[-1])
        os.kill(pid, signal.SIGKILL)
        return pid

    def output(self) -> str:
        return "".join((self.work / f"up.{n}.out").read_text(errors="replace") for n in range(1, self.starts + 1))


@dataclass
class HttpSender:
    """Posts records one at a time to the intake, each until answered; remembers the order answered for the oracle."""

    port: int
    stop: threading.Event
    sent: list[Sent] = field(default_factory=list)
    answers: Counter[str] = field(default_factory=Counter)
    retries: Counter[str] = field(default_factory=Counter)
    refused_good: list[str] = field(default_factory=list)
    answered_at: dict[str, float] = field(default_factory=dict)  # event id -> when first answered

    def submit(self, record: Sent) -> None:
        body = json.dumps(record.value).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {DEV_KEYS[AGENCY[record.topic]]}"}
        url = f"http://127.0.0.1:{self.port}/v1/topics/{record.topic}/events"
        while not self.stop.is_set():
            status, wait = self._post(url, body, headers)
            if status in (200, 202) or 400 <= status < 500 and status != 429:
                self.sent.append(record)
                self.answers[str(status)] += 1
                if isinstance(record.value, dict):
                    self.answered_at.setdefault(record.value["event_id"], time.monotonic())
                if status >= 400 and record.kind != "malformed":
                    self.refused_good.append(f"{record.value['event_id']}: {status}")
                return
            self.retries["connection" if status == 0 else str(status)] += 1
            self.stop.wait(wait)

    @staticmethod
    def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, float]:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, body, headers, method="POST"), timeout=15) as a:
                return int(a.status), 0.0
        except urllib.error.HTTPError as refused:
            return int(refused.code), float(refused.headers.get("Retry-After") or 0.5)
        except OSError:
            return 0, 0.2


class Arrivals(threading.Thread):
    """When each message reached the fake servers (polled): [(monotonic time, ack code)] in arrival order."""

    def __init__(self, twilio: Any, smtp: FakeSmtp) -> None:
        super().__init__(name="arrivals", daemon=True)
        self.twilio, self.smtp = twilio, smtp
        self.seen: list[tuple[float, str]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        sms = mails = 0
        while not self.stopping.wait(0.1):
            now = time.monotonic()
            with self.twilio.lock:
                new_sms = self.twilio.messages[sms:]
            with self.smtp.lock:
                new_mails = self.smtp.received[mails:]
            sms, mails = sms + len(new_sms), mails + len(new_mails)
            texts = [m["body"] or "" for m in new_sms]
            texts += [m.message.get_body(("plain",)).get_content() for m in new_mails]
            self.seen.extend((now, match.group(1)) for text in texts if (match := ACK.search(text)))

    def first_new_after(self, before: float, after: float) -> float | None:
        """Arrival time of the first message after `after` whose code had not arrived by `before`."""
        old = {code for at, code in self.seen if at <= before}
        return self.first_after(after, lambda code: code not in old)

    def first_after(self, after: float, wanted: Callable[[str], bool]) -> float | None:
        """Arrival time of the first message after `after` whose ack code is `wanted`."""
        return next((at for at, code in self.seen if at > after and wanted(code)), None)


def up_env(work: Path, ports: dict[str, int], twilio: Any, smtp_port: int) -> dict[str, str]:
    """The operator's environment of `up`: data folder, ports, the fake providers, retries that outlast the outages."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIVE_")}
    env.update({name: str(port) for name, port in ports.items()})
    env.update({
        "DRIVE_DATA_DIR": str(work / "data"),
        "DRIVE_TWILIO_ACCOUNT_SID": twilio.account_sid, "DRIVE_TWILIO_AUTH_TOKEN": twilio.auth_token,
        "DRIVE_TWILIO_FROM_NUMBER": "+447700900999", "DRIVE_TWILIO_BASE_URL": twilio.base_url,
        "DRIVE_TWILIO_TIMEOUT_S": "1.0",
        "DRIVE_SMTP_HOST": "127.0.0.1", "DRIVE_SMTP_PORT": str(smtp_port), "DRIVE_SMTP_SECURITY": "none",
        "DRIVE_SMTP_TIMEOUT_S": "2.0",
        "DRIVE_DELIVERY_BACKOFF_BASE_S": "0.5", "DRIVE_DELIVERY_BACKOFF_CAP_S": "4.0",
        "DRIVE_DELIVERY_MAX_ATTEMPTS": "200", "DRIVE_SENDER_INTERVAL_S": "0.2",
    })
    return env


def dead_letter_kinds(env: dict[str, str]) -> Counter[str]:
    """Kind of malformation -> dead letters of it, from `drive-alerts dead-letters list` (the journal)."""
    listing = subprocess.run([*DRIVE, "dead-letters", "list"], env=env, capture_output=True, text=True, timeout=120,
                             check=True)
    kinds: Counter[str] = Counter()
    for line in listing.stdout.splitlines():
        letter = json.loads(line)
        first = letter["errors"][0] if letter["errors"] else {"path": "", "message": ""}
        path = first["path"].split(".")[0].split("[")[0]
        if first["message"] == "unknown field":  # its path is a fingerprint: a field name might be a name
            path = "narrative"
        kinds[KIND_BY_PATH.get(path, f"other:{letter['reason']}:{path}")] += 1
    return kinds
