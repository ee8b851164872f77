"""Data folders held by one process at a time: an exclusive lock file per folder, released when the process ends."""
from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO


class FolderInUse(RuntimeError):
    """Another running process holds the lock; `holder` is what it wrote there (pid, start time, command)."""

    def __init__(self, lock_path: Path, holder: str) -> None:
        super().__init__(f"{lock_path} is held by {holder or 'another process'}")
        self.lock_path = lock_path
        self.holder = holder


@dataclass
class FolderLock:
    """An exclusive lock held for the life of this process; `stale` is what a holder that died without release left."""

    path: Path
    file: IO[str]
    stale: str | None

    def release(self) -> None:
        """Empty the lock file (an empty file is a clean release), then let go; safe to call twice."""
        if self.file.closed:
            return
        self.file.seek(0)
        self.file.truncate()
        self.file.flush()
        self.file.close()


def hold_lock(path: Path, owner: str) -> FolderLock:
    """Hold `path` exclusively until release() or process exit (the kernel drops a flock on any exit, SIGKILL too).

    The file is never deleted: unlinking a lock file lets a waiting opener and a new creator both "hold" it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the process lifetime; a+ keeps a holder's note
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.seek(0)
        holder = lock.read().strip()
        lock.close()
        raise FolderInUse(path, holder) from None
    lock.seek(0)
    left = lock.read().strip()
    lock.seek(0)
    lock.truncate()
    started = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    lock.write(f"pid {os.getpid()}, started {started}, by {owner}\n")
    lock.flush()
    return FolderLock(path, lock, left or None)


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
