"""What happens when an image arrives, by `docker push` (the registry's hooks) or by PutImage:
the tag-immutability check before, and after: ECR's record, scan on push, replication, and the
lifecycle policy."""

from __future__ import annotations

from emulator.ecr import archive, images, lifecycle, replication, repositories, scanning
from emulator.ecr.errors import (
    ImageAlreadyExistsException,
    ImageDigestDoesNotMatchException,
    ImageTagAlreadyExistsException,
    InvalidParameterException,
    LayersNotFoundException,
    LimitExceededException,
    ReferencedImagesNotFoundException,
)
from emulator.ecr.model import Repository
from emulator.registry import errors as registry_errors
from emulator.registry import manifests as formats
from emulator.registry import names as registry_names


def check_tag_may_point_at(store, repository: Repository, tag: str, digest: str, *,
                           same_image_too: bool = False) -> None:
    """ImageTagAlreadyExistsException if `tag` is immutable and already names another image
    (with `same_image_too`, any image: a registry push of an immutable tag that exists fails
    even with the same digest, on ECR: aws/containers-roadmap#2179)."""
    if not repositories.tag_is_immutable(repository, tag):
        return
    current = images.find(store, repository, tag)
    if current is not None and (same_image_too or current.digest != digest):
        raise ImageTagAlreadyExistsException(
            f"The image tag '{tag}' already exists in the '{repository.name}' repository and "
            "cannot be overwritten because the repository is immutable."
        )


def after_push(store, repository: Repository, digest: str, tag: str | None) -> images.Image | None:
    """Everything ECR does once a manifest is stored. None if the lifecycle policy expired it.

    The lifecycle policy runs only after a push by tag: a multi-platform push sends its images
    by digest before the tagged index that lists them, and ECR, which applies policies hours
    later, would never expire those children in between.
    """
    image = images.find(store, repository, digest)
    if image is None:  # deleted again before we got here
        return None
    archive.restore_on_push(image.record)
    scanning.scan_on_push(store, image)
    replication.replicate(store, image)
    if tag is None:
        return image
    expired = lifecycle.apply(store, repository)
    return None if any(e.digest == digest for e in expired) else image


def put_image(store, repository_name: str, text: str, *, media_type: str | None = None,
              declared_digest: str | None = None,
              tag: str | None = None) -> tuple[images.Image | None, str, str, str]:
    """PutImage of manifest `text`: (the image or None if expired at once, its digest, manifest
    text, media type)."""
    repository = store.repository(repository_name)
    # A lone surrogate (JSON's "\ud800") has no UTF-8 form: it is stored as "?", as Java's
    # String.getBytes(UTF_8) stores it, rather than failing the push (a 500). A pair of them
    # (a body's raw CESU-8 bytes) is one character, as Java reads it: joined first.
    body = (text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
            .encode("utf-8", "replace"))
    text = body.decode()
    parsed = _parse(body, media_type)
    digest = _digest_of(body, declared_digest)
    _check_references(store, repository, parsed)
    existing = images.find(store, repository, digest)
    if existing is not None and not archive.pullable(existing.record):
        # Pushing an archived image again restores it (ECR user guide, "Archiving an image").
        archive.restore_on_push(existing.record)
    elif existing is not None and (tag is None or tag in existing.tags):
        raise ImageAlreadyExistsException(
            f"Image with digest '{digest}'" + (f" and tag '{tag}'" if tag else "") +
            f" already exists in the repository with name '{repository.name}' in registry with "
            f"id '{store.account}'"
        )
    if tag is not None:
        _check_tag(tag)
        check_tag_may_point_at(store, repository, tag, digest)
    try:
        images.storage(store).put_manifest(
            images.repo_ref(store, repository.name), tag or digest, body, parsed.media_type
        )
    except registry_errors.ManifestBlobUnknown as error:
        raise LayersNotFoundException(error.message) from None
    except (registry_errors.ManifestInvalid, registry_errors.ManifestTooLarge) as error:
        raise _invalid_manifest(error.message) from None
    except registry_errors.StorageFull as error:
        raise LimitExceededException(error.message) from None
    return after_push(store, repository, digest, tag), digest, text, parsed.media_type


def _parse(body: bytes, media_type: str | None):
    try:
        return formats.parse_manifest(body, media_type)
    except registry_errors.ManifestInvalid as error:
        raise _invalid_manifest(error.message) from None


def _digest_of(body: bytes, declared: str | None) -> str:
    algorithm = (declared or "").partition(":")[0]
    digest = registry_names.digest_of(
        body, f"{algorithm}:" if algorithm in registry_names.ALGORITHMS else "sha256:")
    if declared is not None and declared != digest:
        raise ImageDigestDoesNotMatchException(
            f"Provided image digest '{declared}' does not match the calculated digest '{digest}'"
        )
    return digest


def _check_references(store, repository: Repository, parsed) -> None:
    storage = images.storage(store)
    ref = images.repo_ref(store, repository.name)
    missing = [d for d in parsed.blobs if not storage.blob_exists(ref, d)]
    if missing:
        raise LayersNotFoundException(
            f"Layers with digests {missing} required for pushing image into repository with "
            f"name '{repository.name}' in registry with id '{store.account}' do not exist"
        )
    absent = [d for d in parsed.manifests if images.find(store, repository, d) is None]
    if absent:
        raise ReferencedImagesNotFoundException(
            f"The manifest list references images that are not in the repository: {absent}"
        )


def _check_tag(tag: str) -> None:
    try:
        registry_names.check_tag(tag)
    except registry_errors.InvalidReference:
        raise InvalidParameterException(
            f"Invalid parameter at 'imageTag' failed to satisfy constraint: '{tag}' is not a "
            "tag Docker clients accept (letters, digits, '_', '.', '-'; at most 128)"
        ) from None


def _invalid_manifest(problem: str) -> InvalidParameterException:
    return InvalidParameterException(
        f"Invalid parameter at 'ImageManifest' failed to satisfy constraint: '{problem}'"
    )
