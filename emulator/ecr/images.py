"""ECR's images as views of the registry's storage.

A manifest, its blobs, its tags and its push time live in registry storage (emulator/registry/
storage.py); ECR keeps beside them only what ECR alone knows (last pull, scan, replication), in
`Repository.images`, keyed by digest. `Image` joins the two. Every read and write of image data
goes through this module, so the mapping of an ECR repository to a registry repository, and of
storage's errors to ECR's, is in one place.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from emulator.ecr.errors import InvalidParameterException
from emulator.ecr.model import ImageRecord, Repository
from emulator.registry import errors as registry_errors
from emulator.registry import manifests as formats
from emulator.registry import names as registry_names
from emulator.registry.storage import ManifestInfo


@dataclass(frozen=True)
class Image:
    """One image of a repository: storage's manifest facts and ECR's record."""

    repository: Repository
    info: ManifestInfo
    record: ImageRecord
    size: int

    @property
    def digest(self) -> str:
        return self.info.digest

    @property
    def tags(self) -> tuple[str, ...]:
        return self.info.tags

    @property
    def pushed_at(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.info.pushed_at, tz=dt.timezone.utc)

    @property
    def media_type(self) -> str:
        return self.info.media_type

    @property
    def artifact_media_type(self) -> str | None:
        return self.info.config_media_type


def storage(store):
    registry = store.state.registry
    if registry is None:
        raise RuntimeError("ECR has no registry storage (create_app wires one)")
    return registry.storage


def repo_ref(store, name: str):
    """The registry repository that holds the images of ECR repository `name` of this store."""
    try:
        return registry_names.repo_ref(store.account, store.region, name)
    except registry_errors.InvalidName as error:
        raise InvalidParameterException(
            f"The registry cannot hold repository {name} of {store.account} in region "
            f"{store.region}: {error.message}"
        ) from None


def all_of(store, repository: Repository) -> list[Image]:
    """Every image of the repository, oldest push first."""
    ref = repo_ref(store, repository.name)
    if not storage(store).repository_exists(ref):
        return []
    infos = storage(store).list_manifests(ref)
    sizes = {info.digest: info.layers_size for info in infos}
    return [_image(store, repository, info, sizes) for info in infos]


def find(store, repository: Repository, reference: str) -> Image | None:
    """The image a tag or digest names, or None."""
    ref = repo_ref(store, repository.name)
    try:
        info = storage(store).stat_manifest(ref, reference)
    except (registry_errors.ManifestUnknown, registry_errors.InvalidReference,
            registry_errors.InvalidDigest):
        return None
    return _image(store, repository, info, None)


def manifest_bytes(store, repository: Repository, digest: str) -> bytes:
    return storage(store).get_manifest(repo_ref(store, repository.name), digest)[1]


def record_of(repository: Repository, digest: str) -> ImageRecord:
    record = repository.images.get(digest)
    if record is None:
        record = repository.images[digest] = ImageRecord(digest=digest)
    return record


def delete(store, repository: Repository, reference: str):
    """Remove a tag, or an image by digest with all its tags; storage's Deletion."""
    deletion = storage(store).delete_manifest(repo_ref(store, repository.name), reference)
    if deletion.manifest_removed:
        repository.images.pop(deletion.digest, None)
    return deletion


def forget_repository(store, repository: Repository) -> None:
    """Drop every image of a repository being deleted, in the registry too."""
    ref = repo_ref(store, repository.name)
    if storage(store).repository_exists(ref):
        storage(store).delete_repository(ref)
    repository.images.clear()


def create_in_registry(store, repository: Repository) -> None:
    storage(store).create_repository(repo_ref(store, repository.name))


def parent_indexes(images: list[Image], store, repository: Repository) -> dict[str, str]:
    """child manifest digest -> the digest of an index (manifest list) in the repository that
    references it; such children cannot be deleted on their own."""
    parents = {}
    for image in images:
        if image.media_type in formats.INDEXES:
            body = manifest_bytes(store, repository, image.digest)
            for child in formats.parse_manifest(body, image.media_type).manifests:
                parents[child] = image.digest
    return parents


def _image(store, repository: Repository, info: ManifestInfo, sizes: dict | None) -> Image:
    size = info.layers_size
    if info.media_type in formats.INDEXES:
        # ECR: the size of a manifest list is the largest size of the images it lists.
        if sizes is None:
            ref = repo_ref(store, repository.name)
            sizes = {i.digest: i.layers_size for i in storage(store).list_manifests(ref)}
        body = manifest_bytes(store, repository, info.digest)
        children = formats.parse_manifest(body, info.media_type).manifests
        size = max((sizes.get(child, 0) for child in children), default=0)
    return Image(repository, info, record_of(repository, info.digest), size)
