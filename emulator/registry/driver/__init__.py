"""The registry's storage driver: the one seam between registry storage and where bytes live.

Like distribution's storagedriver, a driver is a small file system keyed by relative POSIX paths
("blobs/sha256/ab/ab12...", "repositories/<account>/<region>/<name>/_manifests/tags/latest");
what the paths mean is decided above it (emulator/registry/storage.py documents the layout), and
nothing above it sees a filesystem path. Two drivers pass one test suite
(tests/test_registry_driver.py): `filesystem` (the emulator's, under ECS_EMULATOR_DATA_DIR) and
`inmemory` (for tests, with an optional capacity to play a full disk).

The contract:

    get_content(path) -> bytes           a whole (small) file
    put_content(path, data)              create or replace a file (not atomic: use move for that)
    reader(path, offset=0) -> BinaryIO   a readable, seekable stream of a file, at `offset`;
                                         the caller closes it. An open reader keeps its bytes
                                         even if the file is deleted or replaced meanwhile
    writer(path, append=False)           a FileWriter: write chunks, then commit() to keep
        -> FileWriter                    them or cancel() to undo them (an appending writer
                                         truncates the file back to its old size, any other
                                         removes it); as a context manager it commits, or
                                         cancels on an exception
    stat(path) -> FileInfo               size, modified time, whether a directory
    list(path) -> [str]                  the direct children's paths, sorted
    move(source, dest)                   atomic rename; replaces `dest`
    delete(path)                         a file or a whole directory
    walk(path) -> Iterator[FileInfo]     every file below `path`, depth first, in path order

Directories are implicit: a write makes the parents it needs, and a directory left empty by a
delete or a move disappears (so "exists" means "holds something" in both drivers; the
filesystem driver also accepts empty directories an earlier version left). A missing path raises
PathNotFound; a write that finds no room raises errors.StorageFull, after undoing its part.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

# A path component: what the layout builds from checked names, tags, digests and upload ids.
# Never "", ".", ".." or anything with a separator, so no path climbs out of the driver's root.
_COMPONENT = re.compile(r"^(?!\.{1,2}$)[A-Za-z0-9._=+-]+$")


class PathNotFound(Exception):
    """No file or directory at `path`. Storage turns it into its domain errors (BlobUnknown,
    ...); it never reaches a client as such."""

    def __init__(self, path: str):
        super().__init__(f"path not found: {path}")
        self.path = path


@dataclass(frozen=True)
class FileInfo:
    """A stored file's path, size and modification time, as a driver lists it."""
    path: str
    size: int          # 0 for a directory
    modified: float    # seconds since the epoch
    is_dir: bool = False


class FileWriter(Protocol):
    size: int  # the file's size so far: what it held before (when appending) plus what was written

    def write(self, data: bytes) -> int: ...

    def commit(self) -> None: ...

    def cancel(self) -> None: ...

    def __enter__(self) -> "FileWriter": ...

    def __exit__(self, *exc) -> None: ...


class StorageDriver(Protocol):
    def get_content(self, path: str) -> bytes: ...

    def put_content(self, path: str, data: bytes) -> None: ...

    def reader(self, path: str, offset: int = 0) -> BinaryIO: ...

    def writer(self, path: str, append: bool = False) -> FileWriter: ...

    def stat(self, path: str) -> FileInfo: ...

    def list(self, path: str) -> list[str]: ...

    def move(self, source: str, dest: str) -> None: ...

    def delete(self, path: str) -> None: ...

    def walk(self, path: str) -> Iterator[FileInfo]: ...


def check_path(path: str) -> tuple[str, ...]:
    """The components of a driver path; ValueError for one that could leave the root (a bug in
    the layer above, never a client's doing: every component comes from a checked name)."""
    parts = tuple(path.split("/"))
    if not path or not all(_COMPONENT.match(part) for part in parts):
        raise ValueError(f"not a storage driver path: {path!r}")
    return parts


class WriterContext:
    """The context-manager half of a FileWriter: commit on success, cancel on an exception."""

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.commit()
        else:
            self.cancel()


# Helpers for callers, over any driver: the questions whose "no" is an answer, not an error.

def exists(driver: StorageDriver, path: str) -> bool:
    try:
        driver.stat(path)
    except PathNotFound:
        return False
    return True


def children(driver: StorageDriver, path: str) -> list[str]:
    """The paths directly under `path`; none when it does not exist."""
    try:
        return driver.list(path)
    except PathNotFound:
        return []


def delete_if_present(driver: StorageDriver, path: str) -> None:
    try:
        driver.delete(path)
    except PathNotFound:
        pass
