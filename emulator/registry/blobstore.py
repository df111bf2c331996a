"""The content-addressed half of registry storage: blob files and upload sessions on disk.

It knows digests and bytes, not repositories: storage.py decides which repository may see a blob,
and hands each upload an opaque `owner` string that later requests must repeat. Streams are
written chunk by chunk and hashed on the way, so memory stays flat however large a blob is; a
blob becomes visible only by an atomic rename after its digest was verified (two writers of one
blob race harmlessly: both renames put identical bytes in place). Layout: see storage.py.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

from emulator.registry import names
from emulator.registry.errors import DigestMismatch, SizeMismatch, UploadOutOfOrder, UploadUnknown

_CHUNK = 1024 * 1024
# Upload sessions untouched this long are abandoned (a killed push never finishes or cancels
# its upload) and removed, as distribution purges old uploads; looked for at most this often.
UPLOAD_EXPIRY_S = 24 * 3600
PURGE_EVERY_S = 600


class BlobStore:
    def __init__(self, root: Path):
        self.root = root
        self._sessions = _Sessions()
        self._make_dirs()
        self._last_purge = time.monotonic()

    def _make_dirs(self) -> None:
        for sub in ("blobs", "uploads", "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    def reset(self) -> None:
        for sub in ("blobs", "uploads", "tmp"):
            shutil.rmtree(self.root / sub, ignore_errors=True)
        self._sessions.clear()
        self._make_dirs()

    def path(self, digest: str) -> Path:
        algorithm, _, encoded = digest.partition(":")
        return self.root / "blobs" / algorithm / encoded[:2] / encoded

    def exists(self, digest: str) -> bool:
        return self.path(digest).exists()

    def put(self, digest: str, stream: Iterable[bytes], length: int | None = None) -> int:
        """Store a whole stream if it hashes to `digest` (and is `length` bytes, when given)."""
        hasher = names.hasher_for(digest)
        temporary = self.root / "tmp" / uuid.uuid4().hex
        try:
            with open(temporary, "wb") as out:
                size = _copy(stream, out, hasher)
            _check_length(size, length)
            _check_digest(hasher, digest)
            self._commit(temporary, digest)
            return size
        finally:
            temporary.unlink(missing_ok=True)

    def put_bytes(self, digest: str, data: bytes) -> None:
        """Store bytes whose digest the caller computed (a manifest)."""
        if not self.exists(digest):
            self.write_atomically(self.path(digest), data)

    def write_atomically(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.root / "tmp" / uuid.uuid4().hex
        temporary.write_bytes(data)
        os.replace(temporary, path)

    # -- uploads --------------------------------------------------------------------------------

    def start_upload(self, owner: str) -> str:
        if time.monotonic() - self._last_purge >= PURGE_EVERY_S:
            self._last_purge = time.monotonic()
            self.purge_uploads(UPLOAD_EXPIRY_S)
        upload_id = uuid.uuid4().hex
        directory = self.root / "uploads" / upload_id
        directory.mkdir()
        (directory / "data").touch()
        (directory / "owner").write_text(owner)
        return upload_id

    def upload_size(self, owner: str, upload_id: str) -> int:
        return self._data(owner, upload_id).stat().st_size

    def append_upload(self, owner: str, upload_id: str, stream: Iterable[bytes],
                      start: int | None = None, length: int | None = None) -> int:
        """Append a chunk; the upload's new size. `start`, when given, must equal the size so
        far (UploadOutOfOrder otherwise); a chunk shorter or longer than `length` is rolled back
        (SizeMismatch) and the upload stays where it was, ready to resume."""
        data = self._data(owner, upload_id)
        with self._sessions.held(upload_id) as session:
            size = data.stat().st_size
            if start is not None and start != size:
                raise UploadOutOfOrder(f"chunk starts at {start}, upload has {size} bytes", size)
            hasher = session.hasher_at(size)
            try:
                with open(data, "ab") as out:
                    written = _copy(stream, out, hasher)
                _check_length(written, length)
            except BaseException:
                os.truncate(data, size)
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
                size = data.stat().st_size
                _check_digest(session.hasher_for(digest, data, size), digest)
                self._commit(data, digest)
                return size
            finally:
                self._drop(upload_id)

    def cancel_upload(self, owner: str, upload_id: str) -> None:
        self._data(owner, upload_id)
        self._drop(upload_id)

    def purge_uploads(self, idle_s: float) -> int:
        """Remove upload sessions whose data has not changed for `idle_s`; how many went."""
        cutoff, removed = time.time() - idle_s, 0
        for directory in list((self.root / "uploads").iterdir()):
            try:
                idle = (directory / "data").stat().st_mtime <= cutoff
            except FileNotFoundError:  # finished or cancelled meanwhile
                continue
            if idle and not self._sessions.busy(directory.name):
                self._drop(directory.name)
                removed += 1
        return removed

    def _data(self, owner: str, upload_id: str) -> Path:
        directory = self.root / "uploads" / upload_id
        owner_file = directory / "owner"
        if not names.check_upload_id(upload_id) or not owner_file.exists() \
                or owner_file.read_text() != owner:
            raise UploadUnknown(f"upload {upload_id} is not known", upload_id=upload_id)
        return directory / "data"

    def _drop(self, upload_id: str) -> None:
        shutil.rmtree(self.root / "uploads" / upload_id, ignore_errors=True)
        self._sessions.drop(upload_id)

    def _commit(self, source: Path, digest: str) -> None:
        target = self.path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)


class _Session:
    """The running hash of one upload, so committing a large blob does not read it again."""

    def __init__(self):
        self.lock = threading.Lock()
        self._hasher = None
        self._offset = -1

    def hasher_at(self, size: int):
        """The running hash if it covers exactly `size` bytes, a new one for an empty upload,
        else None (the bytes are then hashed from disk at commit)."""
        if size == 0:
            return hashlib.sha256()
        return self._hasher if self._offset == size else None

    def advance(self, hasher, offset: int) -> None:
        self._hasher, self._offset = hasher, offset

    def forget(self) -> None:
        self._hasher, self._offset = None, -1

    def hasher_for(self, digest: str, data: Path, size: int):
        algorithm = digest.partition(":")[0]
        if self._hasher is not None and self._offset == size and self._hasher.name == algorithm:
            return self._hasher
        hasher = names.hasher_for(digest)
        with open(data, "rb") as source:
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


def _copy(stream: Iterable[bytes], out, hasher) -> int:
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
    actual = f"{hasher.name}:{hasher.hexdigest()}"
    if actual != digest:
        raise DigestMismatch(f"content digest is {actual}, not {digest}", digest=digest)
