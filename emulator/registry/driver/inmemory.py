"""The in-memory storage driver: the filesystem driver's behaviour without a disk, for tests.

Files are byte arrays in a dict keyed by driver path; directories are implied by the paths below
them. `capacity` (bytes, all files together) plays a full disk: a write past it raises
errors.StorageFull after undoing its part, as the filesystem driver does on ENOSPC, so the layers
above can be tested for a full disk without filling one. One lock makes each call atomic.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from typing import BinaryIO

from emulator.registry.driver import FileInfo, PathNotFound, WriterContext, check_path
from emulator.registry.errors import StorageFull


class _File:
    def __init__(self):
        self.data = bytearray()
        self.modified = time.time()


class InMemoryDriver:
    def __init__(self, capacity: int | None = None):
        self.capacity = capacity
        self._files: dict[str, _File] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"InMemoryDriver(capacity={self.capacity})"

    def used(self) -> int:
        with self._lock:
            return sum(len(f.data) for f in self._files.values())

    def get_content(self, path: str) -> bytes:
        with self._lock:
            return bytes(self._get(path).data)

    def put_content(self, path: str, data: bytes) -> None:
        with self.writer(path) as out:
            out.write(data)

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        with self._lock:
            # A copy, so a reader keeps its bytes whatever happens to the file (as on POSIX).
            stream = io.BytesIO(bytes(self._get(path).data))
        stream.seek(offset)
        return stream

    def writer(self, path: str, append: bool = False) -> "_Writer":
        check_path(path)
        with self._lock:
            if self._is_dir(path):
                raise IsADirectoryError(path)
            existing = self._files.get(path) if append else None
            self._files[path] = existing or _File()
            return _Writer(self, path, len(self._files[path].data), existing is None)

    def stat(self, path: str) -> FileInfo:
        check_path(path)
        with self._lock:
            found = self._files.get(path)
            if found is not None:
                return FileInfo(path, len(found.data), found.modified)
            below = [f.modified for p, f in self._files.items() if p.startswith(path + "/")]
            if not below:
                raise PathNotFound(path)
            return FileInfo(path, 0, max(below), is_dir=True)

    def list(self, path: str) -> list[str]:
        check_path(path)
        with self._lock:
            prefix = path + "/"
            children = {prefix + p[len(prefix):].split("/", 1)[0]
                        for p in self._files if p.startswith(prefix)}
            if not children:
                raise PathNotFound(path)
            return sorted(children)

    def move(self, source: str, dest: str) -> None:
        check_path(dest)
        with self._lock:
            found = self._get(source)
            if self._is_dir(dest):
                raise IsADirectoryError(dest)
            del self._files[source]
            self._files[dest] = found

    def delete(self, path: str) -> None:
        check_path(path)
        with self._lock:
            doomed = [p for p in self._files if p == path or p.startswith(path + "/")]
            if not doomed:
                raise PathNotFound(path)
            for p in doomed:
                del self._files[p]

    def walk(self, path: str) -> Iterator[FileInfo]:
        check_path(path)
        with self._lock:
            found = [(p, len(f.data), f.modified) for p, f in self._files.items()
                     if p.startswith(path + "/")]
        if not found:  # no such directory (directories are never empty here)
            raise PathNotFound(path)
        # Sorting by path components gives the filesystem driver's depth-first order.
        return iter([FileInfo(p, size, modified) for p, size, modified
                     in sorted(found, key=lambda item: item[0].split("/"))])

    # -- internals (called with the lock held) --------------------------------------------------

    def _get(self, path: str) -> _File:
        check_path(path)
        found = self._files.get(path)
        if found is None:
            raise PathNotFound(path)
        return found

    def _is_dir(self, path: str) -> bool:
        return any(p.startswith(path + "/") for p in self._files)

    def _append(self, path: str, data: bytes) -> None:
        with self._lock:
            found = self._files.get(path)
            if found is None:
                raise PathNotFound(path)
            if self.capacity is not None:
                room = self.capacity - sum(len(f.data) for f in self._files.values())
                if len(data) > room:
                    found.data += data[:max(room, 0)]  # a disk fills up to its last byte
                    raise StorageFull("in-memory storage", f"it holds at most "
                                      f"{self.capacity} bytes")
            found.data += data
            found.modified = time.time()

    def _truncate(self, path: str, size: int, remove: bool) -> None:
        with self._lock:
            found = self._files.get(path)
            if found is None:
                return
            if remove:
                del self._files[path]
            else:
                del found.data[size:]


class _Writer(WriterContext):
    def __init__(self, driver: InMemoryDriver, path: str, size: int, created: bool):
        self._driver, self._path, self._created = driver, path, created
        self._start = self.size = size

    def write(self, data: bytes) -> int:
        try:
            self._driver._append(self._path, bytes(data))
        except StorageFull:
            self.cancel()
            raise
        self.size += len(data)
        return len(data)

    def commit(self) -> None:
        pass  # every write is in place already, as on a file system

    def cancel(self) -> None:
        self._driver._truncate(self._path, self._start, self._created)
