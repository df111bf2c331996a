"""The content-addressed half of registry storage: blobs and upload sessions, through a driver.

It knows digests and bytes, not repositories: storage.py decides which repository may see a blob,
and hands each upload an opaque `owner` string that later requests must repeat. Streams are
written chunk by chunk and hashed on the way, so memory stays flat however large a blob is; a
blob becomes visible only by an atomic move after its digest was verified (two writers of one
blob race harmlessly: both moves put identical bytes in place). A write that finds the storage
full (errors.StorageFull) leaves nothing behind: a monolithic push's temporary file goes, and an
upload session is dropped whole; later requests for that upload are told why (clients retry: an
AWS SDK retries LimitExceededException, docker retries most errors), not that it is unknown.
Layout: see layout.py.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Iterable
from typing import BinaryIO

from emulator.registry import layout, names
from emulator.registry.driver import (
    FileWriter, PathNotFound, StorageDriver, delete_if_present, exists,
)
from emulator.registry.errors import (
    DigestMismatch, SizeMismatch, StorageFull, UploadOutOfOrder, UploadUnknown,
)

_CHUNK = 1024 * 1024
# Upload sessions untouched this long are abandoned (a killed push never finishes or cancels
# its upload) and removed, as distribution purges old uploads; looked for at most this often.
UPLOAD_EXPIRY_S = 24 * 3600
PURGE_EVERY_S = 600
# How many uploads dropped for a full storage are remembered, to answer their retries.
DISCARDED_KEPT = 1000


class BlobStore:
    def __init__(self, driver: StorageDriver):
        self.driver = driver
        self._sessions = _Sessions()
        self._last_purge = time.monotonic()
        self._discarded: dict[str, StorageFull] = {}  # upload id -> why it was dropped
        self._discarded_lock = threading.Lock()

    def reset(self) -> None:
        for top in (layout.BLOBS, layout.UPLOADS, layout.TMP):
            delete_if_present(self.driver, top)
        self._sessions.clear()
        self._discarded.clear()

    def exists(self, digest: str) -> bool:
        return exists(self.driver, layout.blob(digest))

    def size(self, digest: str) -> int:
        """PathNotFound when the blob is not stored."""
        return self.driver.stat(layout.blob(digest)).size

    def open(self, digest: str) -> BinaryIO:
        """A stream of the blob's bytes (PathNotFound when it is not stored); the caller closes
        it. It keeps its bytes if the blob is deleted while it is read."""
        return self.driver.reader(layout.blob(digest))

    def read(self, digest: str) -> bytes:
        return self.driver.get_content(layout.blob(digest))

    def put(self, digest: str, stream: Iterable[bytes], length: int | None = None) -> int:
        """Store a whole stream if it hashes to `digest` (and is `length` bytes, when given)."""
        hasher = names.hasher_for(digest)
        temporary = layout.temporary(uuid.uuid4().hex)
        try:
            with self.driver.writer(temporary) as out:
                size = _copy(stream, out, hasher)
            _check_length(size, length)
            _check_digest(hasher, digest)
            self.driver.move(temporary, layout.blob(digest))
            return size
        finally:
            delete_if_present(self.driver, temporary)

    def put_bytes(self, digest: str, data: bytes) -> None:
        """Store bytes whose digest the caller computed (a manifest)."""
        if not self.exists(digest):
            self.write_atomically(layout.blob(digest), data)

    def write_atomically(self, path: str, data: bytes) -> None:
        """Replace the file at `path` so that readers see the old bytes or the new, never part."""
        temporary = layout.temporary(uuid.uuid4().hex)
        try:
            self.driver.put_content(temporary, data)
            self.driver.move(temporary, path)
        finally:
            delete_if_present(self.driver, temporary)

    # -- uploads --------------------------------------------------------------------------------

    def start_upload(self, owner: str) -> str:
        if time.monotonic() - self._last_purge >= PURGE_EVERY_S:
            self._last_purge = time.monotonic()
            self.purge_uploads(UPLOAD_EXPIRY_S)
        upload_id = uuid.uuid4().hex
        try:
            self.driver.put_content(f"{layout.upload(upload_id)}/data", b"")
            self.driver.put_content(f"{layout.upload(upload_id)}/owner", owner.encode())
        except StorageFull:
            self._drop(upload_id)
            raise
        return upload_id

    def upload_size(self, owner: str, upload_id: str) -> int:
        return self._stat(owner, upload_id).size

    def append_upload(self, owner: str, upload_id: str, stream: Iterable[bytes],
                      start: int | None = None, length: int | None = None) -> int:
        """Append a chunk; the upload's new size. `start`, when given, must equal the size so
        far (UploadOutOfOrder otherwise); a chunk shorter or longer than `length` is rolled back
        (SizeMismatch) and the upload stays where it was, ready to resume. A full storage ends
        the upload (StorageFull): its bytes are removed to give the room back."""
        data = self._data(owner, upload_id)
        with self._sessions.held(upload_id) as session:
            size = self.driver.stat(data).size
            if start is not None and start != size:
                raise UploadOutOfOrder(f"chunk starts at {start}, upload has {size} bytes", size)
            hasher = session.hasher_at(size)
            try:
                with self.driver.writer(data, append=True) as out:
                    written = _copy(stream, out, hasher)
                    _check_length(written, length)
            except StorageFull as full:
                self._discard(upload_id, full)
                raise
            except BaseException:
                session.forget()
                raise
            session.advance(hasher, size + written)
            return size + written

    def finish_upload(self, owner: str, upload_id: str, digest: str) -> int:
        """Commit the upload as `digest`; its size. The upload ends either way: on a digest
        mismatch nothing of it is stored."""
        data = self._data(owner, upload_id)
        with self._sessions.held(upload_id) as session:
            try:
                size = self.driver.stat(data).size
                _check_digest(session.hasher_for(digest, self.driver, data), digest)
                self.driver.move(data, layout.blob(digest))
                return size
            except StorageFull as full:
                self._discard(upload_id, full)
                raise
            finally:
                self._drop(upload_id)

    def cancel_upload(self, owner: str, upload_id: str) -> None:
        self._data(owner, upload_id)
        self._drop(upload_id)

    def purge_uploads(self, idle_s: float) -> int:
        """Remove upload sessions whose data has not changed for `idle_s`; how many went."""
        cutoff, removed = time.time() - idle_s, 0
        try:
            directories = self.driver.list(layout.UPLOADS)
        except PathNotFound:
            return 0
        for directory in directories:
            upload_id = directory.rpartition("/")[2]
            try:
                idle = self.driver.stat(f"{directory}/data").modified <= cutoff
            except PathNotFound:  # finished or cancelled meanwhile
                continue
            if idle and not self._sessions.busy(upload_id):
                self._drop(upload_id)
                removed += 1
        return removed

    def _data(self, owner: str, upload_id: str) -> str:
        """The upload's data path, once the upload is known to belong to `owner`."""
        if names.check_upload_id(upload_id):
            try:
                if self.driver.get_content(f"{layout.upload(upload_id)}/owner") == owner.encode():
                    return f"{layout.upload(upload_id)}/data"
            except PathNotFound:
                pass
        full = self._discarded.get(upload_id)
        if full is not None:
            raise StorageFull(full.where, full.reason)
        raise UploadUnknown(f"upload {upload_id} is not known", upload_id=upload_id)

    def _stat(self, owner: str, upload_id: str):
        try:
            return self.driver.stat(self._data(owner, upload_id))
        except PathNotFound:  # removed since its owner was read
            raise UploadUnknown(f"upload {upload_id} is not known", upload_id=upload_id) from None

    def _discard(self, upload_id: str, full: StorageFull) -> None:
        """Drop an upload that found the storage full, remembering why."""
        self._drop(upload_id)
        with self._discarded_lock:
            self._discarded[upload_id] = full
            while len(self._discarded) > DISCARDED_KEPT:
                self._discarded.pop(next(iter(self._discarded)))

    def _drop(self, upload_id: str) -> None:
        delete_if_present(self.driver, layout.upload(upload_id))
        self._sessions.drop(upload_id)


class _Session:
    """The running hash of one upload, so committing a large blob does not read it again."""

    def __init__(self):
        self.lock = threading.Lock()
        self._hasher = None
        self._offset = -1

    def hasher_at(self, size: int):
        """The running hash if it covers exactly `size` bytes, a new one for an empty upload,
        else None (the bytes are then hashed from storage at commit)."""
        if size == 0:
            return hashlib.sha256()
        return self._hasher if self._offset == size else None

    def advance(self, hasher, offset: int) -> None:
        self._hasher, self._offset = hasher, offset

    def forget(self) -> None:
        self._hasher, self._offset = None, -1

    def hasher_for(self, digest: str, driver: StorageDriver, data: str):
        algorithm = digest.partition(":")[0]
        size = driver.stat(data).size
        if self._hasher is not None and self._offset == size and self._hasher.name == algorithm:
            return self._hasher
        hasher = names.hasher_for(digest)
        with driver.reader(data) as source:
            for chunk in iter(lambda: source.read(_CHUNK), b""):
                hasher.update(chunk)
        return hasher


class _Sessions:
    def __init__(self):
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}

    def held(self, upload_id: str) -> "_Held":
        with self._lock:
            return _Held(self._sessions.setdefault(upload_id, _Session()))

    def drop(self, upload_id: str) -> None:
        with self._lock:
            self._sessions.pop(upload_id, None)

    def busy(self, upload_id: str) -> bool:
        """A request is writing to the upload right now."""
        with self._lock:
            session = self._sessions.get(upload_id)
        return session is not None and session.lock.locked()

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()


class _Held:
    """`with sessions.held(id) as session`: one request at a time per upload."""

    def __init__(self, session: _Session):
        self._session = session

    def __enter__(self) -> _Session:
        self._session.lock.acquire()
        return self._session

    def __exit__(self, *exc) -> None:
        self._session.lock.release()


def _copy(stream: Iterable[bytes], out: FileWriter, hasher) -> int:
    """Write a stream to `out`, feeding `hasher` when there is one."""
    written = 0
    for chunk in stream:
        if hasher is not None:
            hasher.update(chunk)
        out.write(chunk)
        written += len(chunk)
    return written


def _check_length(size: int, length: int | None) -> None:
    if length is not None and size != length:
        raise SizeMismatch(f"received {size} bytes, expected {length}", size=size, length=length)


def _check_digest(hasher, digest: str) -> None:
    actual = names.digest_text(hasher)
    if actual != digest:
        raise DigestMismatch(f"content digest is {actual}, not {digest}", digest=digest)
