"""A test skipped for a missing capability is named at the end of the run, in one process or under xdist."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SECTION = "MISSING TEST CAPABILITIES"
INNER_TESTS = '''
from tests.conftest import skip_loudly


def test_needs_a_widget():
    skip_loudly("Widget server", "widget binary not found")


def test_needs_nothing():
    pass
'''


def _run_inner_suite(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run pytest on a two-test project that loads this suite's conftest, in a fresh process."""
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.conftest"]\n')
    (tmp_path / "test_inner.py").write_text(INNER_TESTS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", *args],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("mode", [["-p", "no:xdist"], ["-n", "2", "--dist", "loadfile"]], ids=["serial", "xdist"])
def test_a_loud_skip_is_named_in_the_summary(tmp_path: Path, mode: list[str]) -> None:
    """The capability and its reason are printed in the terminal summary, also when a worker process skipped."""
    done = _run_inner_suite(tmp_path, *mode)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "1 passed, 1 skipped" in done.stdout
    assert SECTION in done.stdout
    assert "SKIPPED everything needing Widget server: widget binary not found" in done.stdout

