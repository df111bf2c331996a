"""Registry storage: content-addressed blobs, upload sessions, manifests and tags, per repository.
No HTTP here: the routes and ECR's API both call this contract, and it raises the domain errors
of emulator/registry/errors.py.

The contract, for callers (every `repo` is a names.RepoRef, checked when it was made):

    repositories  create_repository, repository_exists, delete_repository, list_repositories
    blobs         stat_blob -> BlobInfo | BlobUnknown, blob_exists, blob_path, delete_blob,
                  mount_blob, put_blob (one stream, verified against its digest)
    uploads       start_upload -> UploadStatus, upload_status, append_upload(start=, length=),
                  finish_upload(digest) -> BlobInfo, cancel_upload
                  (ECR's InitiateLayerUpload / UploadLayerPart / CompleteLayerUpload map onto
                  these one to one; UploadOutOfOrder carries the size the upload really has)
    manifests     put_manifest (PutImage and the registry's PUT), get_manifest, stat_manifest,
                  delete_manifest -> Deletion, list_manifests -> [ManifestInfo], list_tags,
                  referrers

Streams are iterables of bytes, written to disk chunk by chunk (blobstore.py: content-addressed
files and upload sessions). Nothing is visible until it is verified: a blob is renamed into place
once its digest matched, and a manifest is stored only after every blob and child manifest it
names has been found in the repository.

On-disk layout under the root directory (every path component comes from a checked name, tag,
digest or upload id; see names.py):

    blobs/<algorithm>/<first 2 hex>/<hex>          the content, shared by every repository
    uploads/<upload id>/data                       bytes received so far
    uploads/<upload id>/owner                      "<account>/<region>/<name>" that owns it
    tmp/<random>                                   streams on their way to blobs/
    repositories/<account>/<region>/<name...>/     one directory per name component; names
        _layers/<algorithm>/<hex>                  cannot start with "_", so these never clash
                                                   with a child repository. Empty file: the
                                                   repository may serve this blob
        _manifests/revisions/<algorithm>/<hex>     JSON: media type, size, subject, artifact
                                                   type, annotations, ... (bytes are in blobs/)
        _manifests/tags/<tag>                      the digest the tag points at
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from emulator.registry import names
from emulator.registry.blobstore import BlobStore
from emulator.registry.errors import (
    BlobUnknown, DigestMismatch, ManifestBlobUnknown, ManifestTooLarge, ManifestUnknown,
    RepositoryUnknown,
)
from emulator.registry.manifests import MAX_MANIFEST_BYTES, parse_manifest
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
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self._lock = threading.RLock()  # guards tags, revisions, links and repository removal
        self._blobs = BlobStore(self.root)
        (self.root / "repositories").mkdir(parents=True, exist_ok=True)

    def reset(self) -> None:
        """Drop everything: every repository, blob and upload."""
        with self._lock:
            shutil.rmtree(self.root / "repositories", ignore_errors=True)
            self._blobs.reset()
            (self.root / "repositories").mkdir(parents=True, exist_ok=True)

    # -- repositories ---------------------------------------------------------------------------

    def create_repository(self, repo: RepoRef) -> None:
        """Make an empty repository (ECR's CreateRepository); pushes also make one as needed."""
        for sub in ("_layers", "_manifests/revisions", "_manifests/tags"):
            (self._repo_dir(repo) / sub).mkdir(parents=True, exist_ok=True)

    def repository_exists(self, repo: RepoRef) -> bool:
        return (self._repo_dir(repo) / "_manifests").is_dir()

    def delete_repository(self, repo: RepoRef) -> None:
        """Forget a repository's manifests, tags and blob links (not repositories nested under
        its name). Blobs stay in the shared store."""
        with self._lock:
            directory = self._repo_dir(repo)
            if not (directory / "_manifests").is_dir():
                raise RepositoryUnknown(f"repository {repo.name} is not known", name=repo.name)
            for sub in ("_layers", "_manifests"):
                shutil.rmtree(directory / sub, ignore_errors=True)
            _remove_empty_parents(directory, self.root / "repositories")

    def list_repositories(self, account: str | None = None,
                          region: str | None = None) -> list[RepoRef]:
        """Every repository, or those of one account and region; sorted by (account, region,
        name)."""
        base = self.root / "repositories"
        found = []
        for meta in base.glob("*/*/**/_manifests"):
            parts = meta.parent.relative_to(base).parts
            if len(parts) < 3 or parts[0] != (account or parts[0]) \
                    or parts[1] != (region or parts[1]):
                continue
            found.append(RepoRef(parts[0], parts[1], "/".join(parts[2:])))
        return sorted(found, key=lambda r: (r.account, r.region, r.name))

    # -- blobs ----------------------------------------------------------------------------------

    def blob_exists(self, repo: RepoRef, digest: str) -> bool:
        return self._link(repo, digest).exists() and self._blobs.exists(digest)

    def stat_blob(self, repo: RepoRef, digest: str) -> BlobInfo:
        return BlobInfo(digest, self.blob_path(repo, digest).stat().st_size)

    def blob_path(self, repo: RepoRef, digest: str) -> Path:
        """Where the blob's bytes are, for streaming them out. BlobUnknown if `repo` lacks it."""
        names.check_digest(digest)
        if not self.blob_exists(repo, digest):
            raise BlobUnknown(f"blob {digest} is not in repository {repo.name}", digest=digest)
        return self._blobs.path(digest)

    def delete_blob(self, repo: RepoRef, digest: str) -> None:
        """Unlink the blob from `repo` (the shared bytes stay for other repositories)."""
        names.check_digest(digest)
        with self._lock:
            link = self._link(repo, digest)
            if not link.exists():
                raise BlobUnknown(f"blob {digest} is not in repository {repo.name}", digest=digest)
            link.unlink()

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
        actual = _digest_of(body, digest or "sha256:")
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
            revision = self._revision(repo, actual)
            if revision.exists():  # a re-push keeps the first push time, as ECR does
                info = _replace_time(info, self._read_revision(revision).pushed_at)
            else:
                self._blobs.write_atomically(revision, json.dumps(asdict(info)).encode())
            if tag:
                self._blobs.write_atomically(self._tag(repo, tag), actual.encode())
            return self._with_tags(repo, info)

    def get_manifest(self, repo: RepoRef, reference: str) -> tuple[ManifestInfo, bytes]:
        info = self.stat_manifest(repo, reference)
        return info, self._blobs.path(info.digest).read_bytes()

    def stat_manifest(self, repo: RepoRef, reference: str) -> ManifestInfo:
        digest = self._resolve(repo, reference)
        revision = self._revision(repo, digest)
        if not revision.exists():
            raise ManifestUnknown(f"manifest {reference} is not in repository {repo.name}",
                                  reference=reference)
        return self._with_tags(repo, self._read_revision(revision))

    def delete_manifest(self, repo: RepoRef, reference: str) -> Deletion:
        """Delete a tag (the manifest stays), or a manifest by digest with every tag on it."""
        tag, digest = _split_reference(reference)
        with self._lock:
            if tag:
                path = self._tag(repo, tag)
                if not path.exists():
                    raise ManifestUnknown(f"tag {tag} is not in repository {repo.name}", tag=tag)
                digest = path.read_text()
                path.unlink()
                return Deletion(digest, (tag,), manifest_removed=False)
            info = self.stat_manifest(repo, digest)
            for name in info.tags:
                self._tag(repo, name).unlink(missing_ok=True)
            self._revision(repo, digest).unlink()
            return Deletion(digest, info.tags, manifest_removed=True)

    def list_manifests(self, repo: RepoRef) -> list[ManifestInfo]:
        """Every manifest of `repo` with its tags, oldest push first."""
        tags = self._tags_by_digest(repo)
        revisions = self._repo_dir(repo) / "_manifests" / "revisions"
        infos = [self._read_revision(path) for path in revisions.glob("*/*")]
        infos = [_replace_tags(info, tags.get(info.digest, ())) for info in infos]
        return sorted(infos, key=lambda info: (info.pushed_at, info.digest))

    def list_tags(self, repo: RepoRef) -> list[str]:
        """Tags in the spec's order (byte order, as Go's sort.Strings). RepositoryUnknown if
        `repo` was never created or pushed to."""
        if not self.repository_exists(repo):
            raise RepositoryUnknown(f"repository {repo.name} is not known", name=repo.name)
        return sorted(p.name for p in (self._repo_dir(repo) / "_manifests" / "tags").glob("*"))

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

    def _repo_dir(self, repo: RepoRef) -> Path:
        return self.root / "repositories" / repo.account / repo.region / repo.name

    def _link(self, repo: RepoRef, digest: str) -> Path:
        algorithm, _, encoded = digest.partition(":")
        return self._repo_dir(repo) / "_layers" / algorithm / encoded

    def _revision(self, repo: RepoRef, digest: str) -> Path:
        algorithm, _, encoded = digest.partition(":")
        return self._repo_dir(repo) / "_manifests" / "revisions" / algorithm / encoded

    def _tag(self, repo: RepoRef, tag: str) -> Path:
        return self._repo_dir(repo) / "_manifests" / "tags" / tag

    def _add_link(self, repo: RepoRef, digest: str) -> None:
        with self._lock:
            self.create_repository(repo)
            link = self._link(repo, digest)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.touch()

    def _resolve(self, repo: RepoRef, reference: str) -> str:
        tag, digest = _split_reference(reference)
        if digest:
            return digest
        path = self._tag(repo, tag)
        if not path.exists():
            raise ManifestUnknown(f"tag {tag} is not in repository {repo.name}", tag=tag)
        return path.read_text()

    def _check_references(self, repo: RepoRef, parsed) -> None:
        missing = [d for d in parsed.blobs if not self.blob_exists(repo, d)]
        missing += [d for d in parsed.manifests if not self._revision(repo, d).exists()]
        if missing:
            raise ManifestBlobUnknown(
                f"manifest references {len(missing)} blob(s) or manifest(s) not in repository "
                f"{repo.name}: {', '.join(missing)}", digests=missing)

    def _read_revision(self, path: Path) -> ManifestInfo:
        raw = json.loads(path.read_text())
        raw["tags"] = tuple(raw.get("tags") or ())
        return ManifestInfo(**raw)

    def _tags_by_digest(self, repo: RepoRef) -> dict[str, tuple[str, ...]]:
        tags: dict[str, list[str]] = {}
        for path in sorted((self._repo_dir(repo) / "_manifests" / "tags").glob("*")):
            tags.setdefault(path.read_text(), []).append(path.name)
        return {digest: tuple(names_) for digest, names_ in tags.items()}

    def _with_tags(self, repo: RepoRef, info: ManifestInfo) -> ManifestInfo:
        return _replace_tags(info, self._tags_by_digest(repo).get(info.digest, ()))


def _digest_of(body: bytes, like: str) -> str:
    hasher = names.hasher_for(like)
    hasher.update(body)
    return f"{hasher.name}:{hasher.hexdigest()}"


def _split_reference(reference: str) -> tuple[str | None, str | None]:
    """(tag, None) or (None, digest), each checked."""
    if names.is_digest_like(reference):
        return None, names.check_digest(reference)
    return names.check_tag(reference), None


def _remove_empty_parents(directory: Path, stop: Path) -> None:
    while directory != stop and directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()
        directory = directory.parent


def _replace_tags(info: ManifestInfo, tags: tuple[str, ...]) -> ManifestInfo:
    return ManifestInfo(**{**asdict(info), "tags": tuple(tags)})


def _replace_time(info: ManifestInfo, pushed_at: float) -> ManifestInfo:
    return ManifestInfo(**{**asdict(info), "pushed_at": pushed_at})
