"""Registry storage: content-addressed blobs, upload sessions, manifests and tags, per repository.
No HTTP here: the routes and ECR's API both call this contract, and it raises the domain errors
of emulator/registry/errors.py. Bytes live behind a storage driver (emulator/registry/driver/):
nothing here, and nothing above, sees a filesystem path.

The contract, for callers (every `repo` is a names.RepoRef, checked when it was made):

    repositories  create_repository, repository_exists, delete_repository, list_repositories
    blobs         stat_blob -> BlobInfo | BlobUnknown, blob_exists, open_blob -> (BlobInfo,
                  stream), delete_blob, mount_blob, put_blob (one stream, verified against its
                  digest)
    uploads       start_upload -> UploadStatus, upload_status, append_upload(start=, length=),
                  finish_upload(digest) -> BlobInfo, cancel_upload
                  (ECR's InitiateLayerUpload / UploadLayerPart / CompleteLayerUpload map onto
                  these one to one; UploadOutOfOrder carries the size the upload really has)
    manifests     put_manifest (PutImage and the registry's PUT), get_manifest, stat_manifest,
                  delete_manifest -> Deletion, list_manifests -> [ManifestInfo], list_tags,
                  referrers, blob_media_types -> {digest: media type} (media_types.py)

Streams are iterables of bytes, written chunk by chunk (blobstore.py: content-addressed blobs
and upload sessions). Nothing is visible until it is verified: a blob is moved into place once
its digest matched, and a manifest is stored only after every blob and child manifest it names
has been found in the repository. A full storage raises StorageFull and leaves nothing partial.

The layout of driver paths is documented in layout.py, the one module that builds them.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import BinaryIO

from emulator.registry import layout, names
from emulator.registry.blobstore import BlobStore
from emulator.registry.driver import (
    PathNotFound, StorageDriver, children, delete_if_present, exists,
)
from emulator.registry.errors import (
    BlobUnknown, DigestMismatch, ManifestBlobUnknown, ManifestTooLarge, ManifestUnknown,
    RepositoryUnknown,
)
from emulator.registry.manifests import MAX_MANIFEST_BYTES, parse_manifest
from emulator.registry.media_types import media_types
from emulator.registry.names import RepoRef


@dataclass(frozen=True)
class BlobInfo:
    digest: str
    size: int


@dataclass(frozen=True)
class UploadStatus:
    upload_id: str
    size: int  # bytes received so far


@dataclass(frozen=True)
class ManifestInfo:
    digest: str
    media_type: str
    size: int
    pushed_at: float
    tags: tuple[str, ...] = ()
    subject: str | None = None
    artifact_type: str | None = None
    annotations: dict = field(default_factory=dict)
    config_media_type: str | None = None
    layers_size: int = 0


@dataclass(frozen=True)
class Deletion:
    digest: str
    tags: tuple[str, ...]      # tags that were removed
    manifest_removed: bool     # False when only a tag was removed


class RegistryStorage:
    def __init__(self, driver: StorageDriver):
        self.driver = driver
        self._lock = threading.RLock()  # guards tags, revisions, links and repository removal
        self._blobs = BlobStore(driver)
        # repository -> blob_media_types(); dropped when a manifest of it is put or deleted
        self._media_types: dict[RepoRef, dict[str, str]] = {}

    def reset(self) -> None:
        """Drop everything: every repository, blob and upload."""
        with self._lock:
            delete_if_present(self.driver, layout.REPOSITORIES)
            self._blobs.reset()
            self._media_types.clear()

    # -- repositories ---------------------------------------------------------------------------

    def create_repository(self, repo: RepoRef) -> None:
        """Make an empty repository (ECR's CreateRepository); pushes also make one as needed."""
        if not exists(self.driver, layout.created(repo)):
            self.driver.put_content(layout.created(repo), b"")

    def repository_exists(self, repo: RepoRef) -> bool:
        return exists(self.driver, layout.manifests(repo))

    def delete_repository(self, repo: RepoRef) -> None:
        """Forget a repository's manifests, tags and blob links (not repositories nested under
        its name). Blobs stay in the shared store."""
        with self._lock:
            if not self.repository_exists(repo):
                raise RepositoryUnknown(f"repository {repo.name} is not known", name=repo.name)
            delete_if_present(self.driver, layout.layers(repo))
            delete_if_present(self.driver, layout.manifests(repo))
            self._media_types.pop(repo, None)

    def list_repositories(self, account: str | None = None,
                          region: str | None = None) -> list[RepoRef]:
        """Every repository, or those of one account and region; sorted by (account, region,
        name)."""
        found = []
        for account_dir in children(self.driver, layout.REPOSITORIES):
            if account in (None, _last(account_dir)):
                for region_dir in children(self.driver, account_dir):
                    if region in (None, _last(region_dir)):
                        found += self._repositories_under(region_dir)
        return sorted(found, key=lambda r: (r.account, r.region, r.name))

    # -- blobs ----------------------------------------------------------------------------------

    def blob_exists(self, repo: RepoRef, digest: str) -> bool:
        return exists(self.driver, layout.link(repo, digest)) and self._blobs.exists(digest)

    def stat_blob(self, repo: RepoRef, digest: str) -> BlobInfo:
        """BlobUnknown if `repo` lacks the blob."""
        self._check_blob(repo, digest)
        try:
            return BlobInfo(digest, self._blobs.size(digest))
        except PathNotFound:
            raise _blob_unknown(repo, digest) from None

    def open_blob(self, repo: RepoRef, digest: str) -> tuple[BlobInfo, BinaryIO]:
        """The blob's size and a stream of its bytes, which the caller closes. BlobUnknown if
        `repo` lacks it. The stream keeps its bytes if the blob is deleted while it is read."""
        self._check_blob(repo, digest)
        try:
            stream = self._blobs.open(digest)
        except PathNotFound:
            raise _blob_unknown(repo, digest) from None
        stream.seek(0, 2)
        size = stream.tell()
        stream.seek(0)
        return BlobInfo(digest, size), stream

    def delete_blob(self, repo: RepoRef, digest: str) -> None:
        """Unlink the blob from `repo` (the shared bytes stay for other repositories)."""
        names.check_digest(digest)
        with self._lock:
            try:
                self.driver.delete(layout.link(repo, digest))
            except PathNotFound:
                raise _blob_unknown(repo, digest) from None

    def mount_blob(self, repo: RepoRef, source: RepoRef, digest: str) -> BlobInfo | None:
        """Link a blob of `source` into `repo`; None if `source` does not hold it."""
        names.check_digest(digest)
        with self._lock:
            if not self.blob_exists(source, digest):
                return None
            self._add_link(repo, digest)
        return self.stat_blob(repo, digest)

    def put_blob(self, repo: RepoRef, digest: str, stream: Iterable[bytes],
                 length: int | None = None) -> BlobInfo:
        """Store one whole stream as a blob of `repo`, if it hashes to `digest` (and is `length`
        bytes long, when given)."""
        names.check_digest(digest)
        size = self._blobs.put(digest, stream, length)
        self._add_link(repo, digest)
        return BlobInfo(digest, size)

    # -- uploads --------------------------------------------------------------------------------

    def start_upload(self, repo: RepoRef) -> UploadStatus:
        return UploadStatus(self._blobs.start_upload(str(repo)), 0)

    def upload_status(self, repo: RepoRef, upload_id: str) -> UploadStatus:
        return UploadStatus(upload_id, self._blobs.upload_size(str(repo), upload_id))

    def append_upload(self, repo: RepoRef, upload_id: str, stream: Iterable[bytes],
                      start: int | None = None, length: int | None = None) -> UploadStatus:
        """Append a chunk. `start`, when given, must equal the bytes received so far
        (UploadOutOfOrder otherwise); a chunk shorter or longer than `length` is rolled back
        (SizeMismatch) and the upload stays where it was, ready to resume."""
        size = self._blobs.append_upload(str(repo), upload_id, stream, start, length)
        return UploadStatus(upload_id, size)

    def finish_upload(self, repo: RepoRef, upload_id: str, digest: str,
                      stream: Iterable[bytes] = (), start: int | None = None,
                      length: int | None = None) -> BlobInfo:
        """Append a last chunk (optional) and commit the upload as `digest`. On a digest mismatch
        the upload is cancelled: nothing of it is stored."""
        names.check_digest(digest)
        self._blobs.append_upload(str(repo), upload_id, stream, start, length)
        size = self._blobs.finish_upload(str(repo), upload_id, digest)
        self._add_link(repo, digest)
        return BlobInfo(digest, size)

    def cancel_upload(self, repo: RepoRef, upload_id: str) -> None:
        self._blobs.cancel_upload(str(repo), upload_id)

    # -- manifests ------------------------------------------------------------------------------

    def put_manifest(self, repo: RepoRef, reference: str, body: bytes, content_type: str | None,
                     before_tag: Callable[[str, str], None] | None = None) -> ManifestInfo:
        """Store a manifest under a tag or its digest (PutImage and the registry's PUT).

        Checks, before anything is written: size, JSON and schema, the digest when `reference`
        is one, and that every blob and child manifest it names is in `repo` (the subject need
        not be). Then `before_tag(tag, digest)` is called when `reference` is a tag, without
        storage's lock held (hooks may take their own locks); it may raise to refuse the tag.
        """
        if len(body) > MAX_MANIFEST_BYTES:
            raise ManifestTooLarge(f"manifest is larger than {MAX_MANIFEST_BYTES} bytes")
        tag, digest = _split_reference(reference)
        parsed = parse_manifest(body, content_type)
        actual = names.digest_of(body, digest or "sha256:")
        if digest and actual != digest:
            raise DigestMismatch(f"manifest digest is {actual}, not {digest}", digest=digest)
        self._check_references(repo, parsed)
        if tag and before_tag is not None:
            before_tag(tag, actual)
        info = ManifestInfo(
            digest=actual, media_type=parsed.media_type, size=len(body), pushed_at=time.time(),
            subject=parsed.subject, artifact_type=parsed.artifact_type,
            annotations=parsed.annotations, config_media_type=parsed.config_media_type,
            layers_size=parsed.layers_size,
        )
        with self._lock:
            self.create_repository(repo)
            self._blobs.put_bytes(actual, body)
            revision = layout.revision(repo, actual)
            if exists(self.driver, revision):  # a re-push keeps the first push time, as ECR does
                info = replace(info, pushed_at=self._read_revision(revision).pushed_at)
            else:
                self._blobs.write_atomically(revision, json.dumps(asdict(info)).encode())
                self._media_types.pop(repo, None)
            if tag:
                self._blobs.write_atomically(layout.tag(repo, tag), actual.encode())
            return self._with_tags(repo, info)

    def get_manifest(self, repo: RepoRef, reference: str) -> tuple[ManifestInfo, bytes]:
        info = self.stat_manifest(repo, reference)
        try:
            return info, self._blobs.read(info.digest)
        except PathNotFound:  # deleted since it was found
            raise ManifestUnknown(f"manifest {reference} is not in repository {repo.name}",
                                  reference=reference) from None

    def stat_manifest(self, repo: RepoRef, reference: str) -> ManifestInfo:
        digest = self._resolve(repo, reference)
        try:
            info = self._read_revision(layout.revision(repo, digest))
        except PathNotFound:
            raise ManifestUnknown(f"manifest {reference} is not in repository {repo.name}",
                                  reference=reference) from None
        return self._with_tags(repo, info)

    def delete_manifest(self, repo: RepoRef, reference: str) -> Deletion:
        """Delete a tag (the manifest stays), or a manifest by digest with every tag on it."""
        tag, digest = _split_reference(reference)
        with self._lock:
            # The marker keeps the repository when its last manifest goes (one an earlier
            # version made has none yet).
            if self.repository_exists(repo):
                self.create_repository(repo)
            if tag:
                digest = self._resolve(repo, tag)
                delete_if_present(self.driver, layout.tag(repo, tag))
                return Deletion(digest, (tag,), manifest_removed=False)
            info = self.stat_manifest(repo, digest)
            for name in info.tags:
                delete_if_present(self.driver, layout.tag(repo, name))
            delete_if_present(self.driver, layout.revision(repo, digest))
            self._media_types.pop(repo, None)
            return Deletion(digest, info.tags, manifest_removed=True)

    def list_manifests(self, repo: RepoRef) -> list[ManifestInfo]:
        """Every manifest of `repo` with its tags, oldest push first."""
        tags = self._tags_by_digest(repo)
        infos = []
        for algorithm in children(self.driver, layout.revisions(repo)):
            for revision in children(self.driver, algorithm):
                try:
                    infos.append(self._read_revision(revision))
                except PathNotFound:  # deleted meanwhile
                    continue
        infos = [replace(info, tags=tags.get(info.digest, ())) for info in infos]
        return sorted(infos, key=lambda info: (info.pushed_at, info.digest))

    def blob_media_types(self, repo: RepoRef) -> dict[str, str]:
        """{blob digest: media type} as `repo`'s manifests name its blobs (read once, then kept
        until a manifest of `repo` is put or deleted)."""
        with self._lock:  # a put or delete meanwhile would leave a stale answer kept
            known = self._media_types.get(repo)
            if known is None:
                digests = [info.digest for info in self.list_manifests(repo)]
                known = self._media_types[repo] = media_types(digests, self._blobs.read)
            return known

    def list_tags(self, repo: RepoRef) -> list[str]:
        """Tags in the spec's order (byte order, as Go's sort.Strings). RepositoryUnknown if
        `repo` was never created or pushed to."""
        if not self.repository_exists(repo):
            raise RepositoryUnknown(f"repository {repo.name} is not known", name=repo.name)
        return [_last(path) for path in children(self.driver, layout.tags(repo))]

    def referrers(self, repo: RepoRef, digest: str,
                  artifact_type: str | None = None) -> list[dict]:
        """Descriptors of the manifests of `repo` whose subject is `digest` (OCI 1.1)."""
        names.check_digest(digest)
        found = []
        for info in self.list_manifests(repo):
            if info.subject != digest or (artifact_type and info.artifact_type != artifact_type):
                continue
            descriptor = {"mediaType": info.media_type, "digest": info.digest, "size": info.size}
            if info.artifact_type:
                descriptor["artifactType"] = info.artifact_type
            if info.annotations:
                descriptor["annotations"] = info.annotations
            found.append(descriptor)
        return found

    # -- internals ------------------------------------------------------------------------------

    def _repositories_under(self, directory: str) -> list[RepoRef]:
        """The repositories below a region's directory (and at `directory`, below that)."""
        found = []
        for child in children(self.driver, directory):
            if child.endswith("/_manifests"):
                found.append(layout.repository_at(directory))
            elif not _last(child).startswith("_"):
                found += self._repositories_under(child)
        return found

    def _check_blob(self, repo: RepoRef, digest: str) -> None:
        names.check_digest(digest)
        if not exists(self.driver, layout.link(repo, digest)):
            raise _blob_unknown(repo, digest)

    def _add_link(self, repo: RepoRef, digest: str) -> None:
        with self._lock:
            self.create_repository(repo)
            self.driver.put_content(layout.link(repo, digest), b"")

    def _resolve(self, repo: RepoRef, reference: str) -> str:
        tag, digest = _split_reference(reference)
        if digest:
            return digest
        try:
            return self.driver.get_content(layout.tag(repo, tag)).decode()
        except PathNotFound:
            raise ManifestUnknown(f"tag {tag} is not in repository {repo.name}",
                                  tag=tag) from None

    def _check_references(self, repo: RepoRef, parsed) -> None:
        missing = [d for d in parsed.blobs if not self.blob_exists(repo, d)]
        missing += [d for d in parsed.manifests if not exists(self.driver, layout.revision(repo, d))]
        if missing:
            raise ManifestBlobUnknown(
                f"manifest references {len(missing)} blob(s) or manifest(s) not in repository "
                f"{repo.name}: {', '.join(missing)}", digests=missing)

    def _read_revision(self, path: str) -> ManifestInfo:
        raw = json.loads(self.driver.get_content(path))
        raw["tags"] = tuple(raw.get("tags") or ())
        return ManifestInfo(**raw)

    def _tags_by_digest(self, repo: RepoRef) -> dict[str, tuple[str, ...]]:
        tags: dict[str, list[str]] = {}
        for path in children(self.driver, layout.tags(repo)):
            try:
                tags.setdefault(self.driver.get_content(path).decode(), []).append(_last(path))
            except PathNotFound:  # deleted meanwhile
                continue
        return {digest: tuple(names_) for digest, names_ in tags.items()}

    def _with_tags(self, repo: RepoRef, info: ManifestInfo) -> ManifestInfo:
        return replace(info, tags=self._tags_by_digest(repo).get(info.digest, ()))


def _split_reference(reference: str) -> tuple[str | None, str | None]:
    """(tag, None) or (None, digest), each checked."""
    if names.is_digest_like(reference):
        return None, names.check_digest(reference)
    return names.check_tag(reference), None


def _last(path: str) -> str:
    return path.rpartition("/")[2]


def _blob_unknown(repo: RepoRef, digest: str) -> BlobUnknown:
    return BlobUnknown(f"blob {digest} is not in repository {repo.name}", digest=digest)
