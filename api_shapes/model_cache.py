"""A compact copy of a botocore service model, kept beside the user's other caches.

Reading ECS's model means decompressing 160 KiB of gzip and parsing 860 KB of JSON, most of it
documentation: about 9 ms of CPU, a twentieth of the emulator's start-up, and ECR's adds 2.5 ms.
The same model without its documentation, in marshal's format, loads in about 1.5 ms for both.

The copy is made the first time a model is read and is used while it still describes the same
file: it records the model file's path, size and modification time and the interpreter's
version (marshal's format is the interpreter's), so a botocore upgraded, downgraded or
reinstalled, or a model added under ~/.aws/models, is read afresh and the copy written again.
A copy that cannot be read or written (no home directory, a read-only one, a torn file) is
passed over: the model is then read from botocore's file, as without a cache.

A copy is read, and written, only where no one else could have put it: the file and its directory
must belong to the user we run as and be writable by no group or other user. `sudo -E
ecs-emulator serve` keeps the user's HOME: the copies there are the user's, and root does not
take what they hold (dataclass_code.py's are compiled code, run at start-up) nor leave copies of
its own there. A directory of ours that a umask of 002 left group-writable is narrowed when a
copy is written into it.

Each model file has a copy of its own (its name carries a checksum of the file's path and the
interpreter's version): emulators of several virtualenvs on one machine (a project's, another
project's, tox's) would otherwise overwrite one shared copy in turn, and each start would parse
the JSON again.

Documentation is dropped whether the model comes from the copy or from the file, so both give
the same dict; nothing in the emulator reads it.
"""

from __future__ import annotations

import marshal
import os
import sys
import time
import zlib

# Bumped whenever what is stored changes shape.
_FORMAT = 1
CACHE_DIR = os.path.join(os.path.expanduser("~"), ".cache", "ecs-emulator", "api-shapes")
FORGET_AFTER_S = 30 * 86400  # a copy no start wrote for this long is removed (its venv is gone?)


def key_of(path: str) -> tuple:
    """What must match for a copy to stand for the model file at `path`."""
    stat = os.stat(path)
    return (_FORMAT, sys.version_info[:2], os.path.abspath(path), stat.st_size, stat.st_mtime_ns)


def read(service: str, key: tuple) -> dict | None:
    """The cached model of `service` if it was made from the file `key` describes; else None."""
    try:
        stored_key, model = marshal.loads(_read_own(os.path.basename(_path(service, key))))
    except (OSError, EOFError, ValueError, TypeError):  # absent, not ours, torn, another format
        return None
    return model if stored_key == key and isinstance(model, dict) else None


def write(service: str, key: tuple, model: dict) -> None:
    """Store `model` for `service`; atomically, as several emulators (or test workers) may
    start at once. Failing to is no error: the next start reads botocore's file again."""
    import tempfile  # (only here: a copy is written once per model file)

    try:
        _home_is_ours()
        os.makedirs(CACHE_DIR, mode=0o700, exist_ok=True)
        _own_directory()
        handle, temporary = tempfile.mkstemp(dir=CACHE_DIR, prefix=f".{service}.")
        try:
            with os.fdopen(handle, "wb") as file:
                marshal.dump((key, model), file)
            os.replace(temporary, _path(service, key))
        except BaseException:
            os.unlink(temporary)
            raise
        _forget_old(service, _path(service, key))
    except (OSError, ValueError):
        pass


def _read_own(name: str) -> bytes:
    """The content of the file `name` in CACHE_DIR if it and the directory are ours alone (module
    docstring); else OSError. Both are checked as opened, so nothing can be swapped in between."""
    directory = os.open(CACHE_DIR, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _check_own(os.fstat(directory))
        handle = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=directory)
    finally:
        os.close(directory)
    with open(handle, "rb") as file:
        _check_own(os.fstat(handle))
        return file.read()


def _home_is_ours() -> None:
    """Nothing is made under another user's home (root run with `sudo -E` keeps that user's
    HOME: its ~/.cache would become root's): OSError where the home is not this uid's."""
    home = os.path.expanduser("~")
    if os.stat(home).st_uid != os.geteuid():
        raise PermissionError(f"{home} is another user's home")


def _own_directory() -> None:
    """CACHE_DIR is ours alone (narrowed if it is ours but group- or world-writable); else
    OSError, and no copy is written there."""
    stat = os.stat(CACHE_DIR)
    if stat.st_uid == os.geteuid() and stat.st_mode & 0o022:
        os.chmod(CACHE_DIR, stat.st_mode & 0o7755)
        stat = os.stat(CACHE_DIR)
    _check_own(stat)


def _check_own(stat: os.stat_result) -> None:
    if stat.st_uid != os.geteuid() or stat.st_mode & 0o022:
        raise PermissionError(f"{CACHE_DIR}: not ours alone (uid {stat.st_uid}, "
                              f"mode {stat.st_mode & 0o7777:o})")


def _forget_old(service: str, kept: str) -> None:
    """Remove `service`'s copies no start has rewritten for FORGET_AFTER_S (a virtualenv gone:
    each has its own copy) and the one-per-service copy of earlier versions. Writes are rare
    (once per model file and interpreter), so one look at the directory then costs nothing."""
    old_before = time.time() - FORGET_AFTER_S
    with os.scandir(CACHE_DIR) as entries:
        for entry in entries:
            name = entry.name
            if entry.path == kept or not name.endswith(".marshal"):
                continue
            if name == f"{service}.marshal" or (
                    name.startswith(f"{service}-") and entry.stat().st_mtime < old_before):
                try:
                    os.unlink(entry.path)
                except OSError:
                    pass  # another start removed it first


def without_documentation(model: dict) -> dict:
    """`model` without the documentation of its operations, shapes and members (in place).

    Only those places: a shape's `members` is a dict of member names, where a member called
    "documentation" is a member like any other."""
    for operation in model.get("operations", {}).values():
        operation.pop("documentation", None)
        operation.pop("documentationUrl", None)
    for shape in model.get("shapes", {}).values():
        shape.pop("documentation", None)
        for member in shape.get("members", {}).values():
            member.pop("documentation", None)
        for part in ("member", "key", "value"):  # a list's item, a map's key and value
            if isinstance(shape.get(part), dict):
                shape[part].pop("documentation", None)
    model.pop("documentation", None)
    return model


def _path(service: str, key: tuple) -> str:
    """Where the copy of the model file `key` describes lives (one per file and interpreter).

    The key's second and third items name the copy (for a model: the interpreter's minor version
    and the model file's path; for dataclass_code's, the interpreter's full version and the
    emulator's path); the rest say whether it is current, and a copy no longer current is
    replaced in the same place."""
    _, interpreter, path = key[:3]
    checksum = zlib.crc32(f"{path}\0{interpreter}".encode())
    return os.path.join(CACHE_DIR, f"{service}-{checksum:08x}.marshal")
