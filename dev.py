#!/usr/bin/env python3
"""Set up a local virtual environment on first use, then run the demo or the test suite."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed"
EXTRAS = ("embedded", "test")  # the embedded broker (not in the production image) and the test tools
# pytest-xdist workers: the integration tests mostly wait on the broker, so more workers than the 2 cores pay
TEST_WORKERS = 3
# Whole files per worker (module fixtures run once), in tests/parallel.py's order: the longest files first
PARALLEL_ARGS = ["-n", str(TEST_WORKERS), "--dist", "loadfile", "--no-loadscope-reorder", "--durations=25"]
SERIAL_ONLY_ARGS = {"no:xdist", "-pno:xdist", "--pdb", "--trace"}  # xdist is off or refuses these
# The browser tests drive Debian's Chromium through Playwright (never `playwright install`: no browser downloads)
CHROMIUM = Path("/usr/bin/chromium")
BROWSER_PACKAGES = ("chromium", "chromium-driver")

USAGE = """usage: python3 dev.py demo [ARGS...]   set up, then run `drive-alerts demo` on the embedded default
       python3 dev.py test [PYTEST ARGS...]  set up, then run the whole test suite (in parallel; -n 0 for one process)
       python3 dev.py run COMMAND [ARGS...]  set up, then run `drive-alerts COMMAND`"""


def _fingerprint() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_environment() -> None:
    """Create .venv and install the project with its embedded-broker and test extras when pyproject.toml changed."""
    if not (BIN / "python").exists():
        print("dev.py: creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if STAMP.exists() and STAMP.read_text() == _fingerprint():
        return
    print("dev.py: installing drive-alerts, the embedded broker and the test dependencies into .venv", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "-e", f"{ROOT}[{','.join(EXTRAS)}]"], check=True)
    STAMP.write_text(_fingerprint())


def ensure_browser() -> None:
    """Install Debian's chromium and chromium-driver for the browser tests when missing (as root), else say how."""
    if CHROMIUM.exists() or shutil.which("chromium"):
        return
    command = " ".join(["apt-get install -y --no-install-recommends", *BROWSER_PACKAGES])
    if shutil.which("apt-get") is None:
        print("dev.py: no apt-get here, so the browser tests (tests/browser) will be SKIPPED: install Chromium and "
              "set DRIVE_TEST_CHROMIUM to its path", flush=True)
        return
    if os.geteuid() != 0:
        print(f"dev.py: the browser tests need Debian's Chromium; they will be SKIPPED until you run, as root: "
              f"apt-get update && {command}", flush=True)
        return
    print(f"dev.py: installing Chromium for the browser tests ({', '.join(BROWSER_PACKAGES)}; a few minutes)",
          flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *BROWSER_PACKAGES], check=True,
                       env=env, stdout=subprocess.DEVNULL)
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"dev.py: installing Chromium failed ({exc}); the browser tests will be SKIPPED", flush=True)


def pytest_defaults(rest: list[str]) -> list[str]:
    """The parallel options, placed before the caller's so a later -n/--dist wins; none where xdist cannot work."""
    if any(arg in SERIAL_ONLY_ARGS for arg in rest):
        return []
    return PARALLEL_ARGS


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "run"}:
        print(USAGE)
        return 2
    ensure_environment()
    command, rest = argv[0], argv[1:]
    if command == "test":
        ensure_browser()
        args = [str(BIN / "python"), "-m", "pytest", *pytest_defaults(rest), *rest]
    elif command == "demo":
        args = [str(BIN / "drive-alerts"), "demo", *rest]
    else:
        args = [str(BIN / "drive-alerts"), *rest]
    return subprocess.run(args, cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
