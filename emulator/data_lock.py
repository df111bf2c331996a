"""One emulator per data directory: a lock on ECS_EMULATOR_DATA_DIR/.lock, held while it runs.

Two emulators on one data directory would each take the other's state for its own: a reset of
one empties the other's registry and, with ECS_EMULATOR_PERSIST, overwrites its saved state and
removes its tasks' containers (they carry the directory, not a pid). So the second refuses to
start, naming the directory and the holder's pid.

flock, not a pid file: the kernel lets go of the lock when the holder's last descriptor closes,
however it ends (SIGKILL included), so a dead emulator never blocks the next start and no pid
has to be judged alive. The file stays behind; it is the lock that says "in use", not the file.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_FILE = ".lock"


class DataDirectoryInUse(Exception):
    """Another live emulator holds the data directory."""


class DataDirectoryLock:
    def __init__(self, file):
        self._file = file

    def release(self) -> None:
        """Let the next emulator have the directory (closing the descriptor drops the flock)."""
        if self._file is not None:
            self._file.close()
            self._file = None


def hold(data_dir: str) -> DataDirectoryLock:
    """The data directory's lock, taken (the directory is made 0700 when new, as the registry
    makes it); DataDirectoryInUse when a live emulator has it."""
    directory = Path(data_dir)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / LOCK_FILE
    # "a+": neither truncates a holder's pid before the lock is ours nor fails when the file is
    # new; Python's descriptors are close-on-exec, so no child process keeps the lock.
    file = open(path, "a+", encoding="ascii")
    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        file.seek(0)
        holder = file.read().strip() or "unknown"
        file.close()
        raise DataDirectoryInUse(
            f"the data directory {directory.resolve()} (ECS_EMULATOR_DATA_DIR) is in use by "
            f"another emulator (pid {holder}); stop that one first, or give this one a "
            "directory of its own") from None
    except BaseException:
        file.close()
        raise
    file.seek(0)
    file.truncate()
    file.write(f"{os.getpid()}\n")
    file.flush()
    return DataDirectoryLock(file)
