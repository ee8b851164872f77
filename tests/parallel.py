"""How the suite is shared out under pytest-xdist (`dev.py test`): longest files first, the two CPU-heaviest together."""
from __future__ import annotations

from typing import Any

import pytest

# With --dist loadfile --no-loadscope-reorder a worker takes the next file in collection order when it runs
# short, and the longest file bounds the wall time: so the long files go first, longest first. Rough seconds
# of one file on a loaded 2-core machine, as a guide when adding to the list; files not named keep their order.
LONGEST_FILES_FIRST = (
    "tests/reliability/test_chaos_short.py",  # ~200 s
    "tests/integration/test_bench_smoke.py",  # ~150 s
    "tests/integration/test_replay.py",  # ~120 s
    "tests/integration/test_streams_pipeline.py",  # ~110 s
    "tests/integration/test_replay_delivery.py",  # ~75 s
    "tests/integration/test_http_intake.py",  # ~70 s
    "tests/integration/test_webhooks.py",  # ~60 s
    "tests/integration/test_replay_acks.py",  # ~60 s
    "tests/integration/test_up.py",  # ~55 s
    "tests/integration/test_dead_letters.py",  # ~40 s
    "tests/security/test_access_matrix.py",  # ~35 s
    "tests/reliability/test_backlog_at_assignment.py",  # ~35 s
    "tests/integration/test_demo.py",  # ~30 s
    "tests/integration/test_intake_command.py",  # ~25 s
    "tests/security/test_personal_data.py",  # ~25 s
    "tests/security/test_sql_parameters.py",  # ~20 s
)

# These two each keep both cores busy for minutes; run back to back on one worker they never starve each other
# (nor their neighbours twice over), and their sum still ends before the other workers run out of files.
CPU_HEAVY_FILES = frozenset({"tests/reliability/test_chaos_short.py", "tests/integration/test_bench_smoke.py"})
CPU_HEAVY_UNIT = "cpu-heavy: " + " + ".join(sorted(CPU_HEAVY_FILES))


def file_of(nodeid: str) -> str:
    """The test file part of a pytest node id."""
    return nodeid.split("::", 1)[0]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In an xdist worker, move the known-long files to the front, longest first (every worker sorts alike)."""
    if not hasattr(config, "workerinput"):
        return
    rank = {path: index for index, path in enumerate(LONGEST_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(file_of(item.nodeid), len(rank)))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """For --dist loadfile: one work unit per file, except that the CPU-heavy files form one unit."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class LoadFileKeepingHeavyTogether(LoadScopeScheduling):
        """xdist's loadfile scheduling with the CPU-heavy files in a single unit, so on a single worker."""

        def _split_scope(self, nodeid: str) -> str:
            path = file_of(nodeid)
            return CPU_HEAVY_UNIT if path in CPU_HEAVY_FILES else path

    return LoadFileKeepingHeavyTogether(config, log)
