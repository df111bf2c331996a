"""One emulator per data directory: a lock on ECS_EMULATOR_DATA_DIR/.lock, held while it runs.

Two emulators on one data directory would each take the other's state for its own: a reset of
one empties the other's registry and, with ECS_EMULATOR_PERSIST, overwrites its saved state and
removes its tasks' containers (they carry the directory, not a pid). So the second refuses to
start, naming the directory and the holder's pid.

flock, not a pid file: the kernel lets go of the lock when the holder's last descriptor closes,
however it ends (SIGKILL included), so a dead emulator never blocks the next start and no pid
has to be judged alive. The file stays behind; it is the lock that says "in use", not the file.

The file is opened without following a symbolic link and must be a regular file of ours: we
write our pid into it, and a link planted there would have us overwrite whatever it points at.
A directory another user owns and others may write to is refused for the same reason (they
could plant one). Where the filesystem has no flock (NFS mounted `nolock`, some CIFS mounts) the
emulator starts without the lock and says so: refusing would make such a directory unusable.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import stat
from pathlib import Path

LOCK_FILE = ".lock"
_NO_FLOCK = (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP)
_OPEN_FLAGS = (os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY
               | os.O_NONBLOCK)  # (no wait on a FIFO planted there; a regular file ignores it)

log = logging.getLogger(__name__)


class DataDirectoryRefused(Exception):
    """The data directory cannot be this emulator's; the message is one line that says why."""


class DataDirectoryInUse(DataDirectoryRefused):
    """Another live emulator holds the data directory."""


class DataDirectoryLock:
    def __init__(self, fd: int | None):
        self._fd = fd

    def release(self) -> None:
        """Let the next emulator have the directory (closing the descriptor drops the flock)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def hold(data_dir: str) -> DataDirectoryLock:
    """The data directory's lock, taken (the directory is made 0700 when new, as the registry
    makes it); DataDirectoryInUse when a live emulator has it, DataDirectoryRefused when the
    directory or its lock file cannot be trusted or used."""
    directory = Path(data_dir)
    where = f"the data directory {directory.resolve()} (ECS_EMULATOR_DATA_DIR)"
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        _check_directory(directory, where)
        fd = os.open(directory / LOCK_FILE, _OPEN_FLAGS, 0o600)
    except DataDirectoryRefused:
        raise
    except OSError as error:
        raise DataDirectoryRefused(_cannot_open(where, error)) from None
    try:
        _check_lock_file(fd, where)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise DataDirectoryInUse(
            f"{where} is in use by another emulator (pid {holder}); stop that one first, or "
            "give this one a directory of its own") from None
    except OSError as error:
        os.close(fd)
        if error.errno not in _NO_FLOCK:
            raise DataDirectoryRefused(f"{where}: cannot lock its {LOCK_FILE}: "
                                       f"{error.strerror}") from None
        log.warning("%s is on a filesystem without flock (%s): started without its lock, so "
                    "nothing stops a second emulator from using it too", where, error.strerror)
        return DataDirectoryLock(None)
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    return DataDirectoryLock(fd)


def _check_directory(directory: Path, where: str) -> None:
    info = directory.stat()
    if info.st_uid != os.geteuid() and info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise DataDirectoryRefused(
            f"{where} belongs to uid {info.st_uid} and others may write to it (mode "
            f"{stat.S_IMODE(info.st_mode):04o}); give the emulator a directory of its own")


def _check_lock_file(fd: int, where: str) -> None:
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
        raise DataDirectoryRefused(
            f"{where}: its {LOCK_FILE} is not a regular file of uid {os.geteuid()}; remove it "
            "(it only holds the lock of a running emulator)")


def _cannot_open(where: str, error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return (f"{where}: its {LOCK_FILE} is a symbolic link; remove it (it only holds the "
                "lock of a running emulator)")
    if isinstance(error, PermissionError):
        return (f"{where}: cannot open its {LOCK_FILE} ({error.strerror}); if an emulator "
                "of another user made it (root's, in the container image), remove it (it only "
                "holds the lock of a running emulator) or run as that user")
    return f"{where}: {error.strerror or error}"


def _holder(fd: int) -> str:
    """The holder's pid as its file says, made safe to print on one line."""
    try:
        raw = os.pread(fd, 64, 0)
    except OSError:
        return "unknown"
    words = raw.decode("ascii", errors="replace").split()
    word = words[0] if words else ""
    return "".join(c if c.isascii() and c.isprintable() else "?" for c in word)[:32] or "unknown"
