"""One June per data dir: an advisory lock that the kernel releases if June dies.

``flock`` is tied to the open file, so a lock left by a crashed run is never
stale: the file may remain, but nobody holds it, and the next run takes it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from june.infra import InfraError


class DataDirLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "june.lock"
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise InfraError(
                f"June is already running from {self.path.parent} (pid {holder}); "
                "stop it first (Ctrl-C in its terminal, or `kill "
                f"{holder}`), or set JUNE_DATA_DIR to use another data dir"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> DataDirLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
