"""Data folders held by one process at a time: an exclusive lock file per folder, released when the process ends."""
from __future__ import annotations

import fcntl
from pathlib import Path
from typing import IO


def claim_numbered_folder(data_dir: Path, prefix: str) -> tuple[Path, IO[str]]:
    """data_dir/<prefix>-<n> for the lowest n no running process holds, and the open lock file that holds it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    n = 0
    while True:
        lock = open(data_dir / f"{prefix}-{n}.lock", "w")  # noqa: SIM115 - held for the process lifetime
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            n += 1
            continue
        folder = data_dir / f"{prefix}-{n}"
        folder.mkdir(exist_ok=True)
        return folder, lock
