"""The filesystem storage driver: driver paths are files under one root directory.

The layout on disk is the layer above's (emulator/registry/storage.py), one file per path, so a
data directory written before this driver existed reads as it did. Writes stream chunk by chunk
(memory stays flat however large a blob is); `move` is a rename, atomic on one file system; an
open reader keeps its bytes after the file is deleted or replaced (POSIX semantics), which is
what lets a pull stream a blob that a concurrent delete removes.

A full disk (ENOSPC) or an exhausted quota (EDQUOT) raises errors.StorageFull naming the root,
after the failed write was undone.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from emulator.registry.driver import FileInfo, PathNotFound, WriterContext, check_path
from emulator.registry.errors import StorageFull

_ATTEMPTS = 100  # each loss is to a prune that found the directory empty: others progress
_FULL = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "the disk quota is exceeded"}


class FilesystemDriver:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)  # images: their owner's only

    def __repr__(self) -> str:
        return f"FilesystemDriver({str(self.root)!r})"

    def get_content(self, path: str) -> bytes:
        with self._errors(path):
            return self._file(path).read_bytes()

    def put_content(self, path: str, data: bytes) -> None:
        with self.writer(path) as out:
            out.write(data)

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        with self._errors(path):
            stream = open(self._file(path), "rb")
        stream.seek(offset)
        return stream

    def writer(self, path: str, append: bool = False) -> "_Writer":
        target = self._file(path)
        with self._errors(path):
            return self._in_parent(target, lambda: _Writer(self, target, append))

    def stat(self, path: str) -> FileInfo:
        with self._errors(path):
            found = self._file(path).stat()
        is_dir = self._file(path).is_dir()
        return FileInfo(path, 0 if is_dir else found.st_size, found.st_mtime, is_dir)

    def list(self, path: str) -> list[str]:
        with self._errors(path):
            children = sorted(child.name for child in self._file(path).iterdir())
        return [f"{path}/{name}" for name in children]

    def move(self, source: str, dest: str) -> None:
        origin, target = self._file(source), self._file(dest)
        with self._errors(source):
            self._in_parent(target, lambda: os.replace(origin, target), origin)
        self._prune(origin.parent)

    def delete(self, path: str) -> None:
        target = self._file(path)
        with self._errors(path):
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink()
        self._prune(target.parent)

    def walk(self, path: str) -> Iterator[FileInfo]:
        for child in self.list(path):
            try:
                info = self.stat(child)
            except PathNotFound:  # removed while we walked
                continue
            if info.is_dir:
                yield from self.walk(child)
            else:
                yield info

    # -- internals ------------------------------------------------------------------------------

    def _file(self, path: str) -> Path:
        return self.root.joinpath(*check_path(path))

    def _in_parent(self, target: Path, action, source: Path | None = None):
        """`action()` once `target`'s directory exists. A concurrent delete may prune that
        directory (it looked empty) between the mkdir and the action: make it again."""
        for attempt in range(_ATTEMPTS):
            try:
                # exist_ok does not cover a directory pruned between mkdir's EEXIST and its
                # check: FileExistsError then, FileNotFoundError for a parent pruned meanwhile.
                target.parent.mkdir(parents=True, exist_ok=True)
                return action()
            except (FileNotFoundError, FileExistsError):
                if attempt == _ATTEMPTS - 1 or (source is not None and not source.exists()):
                    raise

    def _prune(self, directory: Path) -> None:
        """Remove directories left empty, up to the root (directories are implicit)."""
        while directory != self.root and self.root in directory.parents:
            try:
                directory.rmdir()
            except OSError:  # not empty (or already gone): stop
                return
            directory = directory.parent

    @contextlib.contextmanager
    def _errors(self, path: str):
        try:
            yield
        except (FileNotFoundError, NotADirectoryError):
            raise PathNotFound(path) from None
        except OSError as error:
            self._raise_if_full(error)
            raise

    def _raise_if_full(self, error: OSError) -> None:
        if error.errno in _FULL:
            raise StorageFull(str(self.root), _FULL[error.errno]) from error


class _Writer(WriterContext):
    def __init__(self, driver: FilesystemDriver, target: Path, append: bool):
        self._driver, self._target = driver, target
        self._created = not (append and target.exists())
        self._out = open(target, "ab" if append else "wb")
        self._start = self.size = self._out.tell()

    def write(self, data: bytes) -> int:
        try:
            self._out.write(data)
        except OSError as error:
            self.cancel()
            self._driver._raise_if_full(error)
            raise
        self.size += len(data)
        return len(data)

    def commit(self) -> None:
        try:
            self._out.close()  # flushes: a full disk may first show here
        except OSError as error:
            self.cancel()
            self._driver._raise_if_full(error)
            raise

    def cancel(self) -> None:
        with contextlib.suppress(OSError):
            self._out.close()
        if self._created:
            self._target.unlink(missing_ok=True)
            self._driver._prune(self._target.parent)
        else:
            os.truncate(self._target, self._start)
