"""Layers through the ECR API: availability checks, the three-step upload (Initiate, UploadPart,
Complete) onto registry storage's upload sessions, and download URLs.

Upload IDs are shown as ECR shows them (a UUID with hyphens: the model's UploadId pattern), over
registry storage's own (32 hex digits). Every part but the last must be at least 5 MiB, as on
ECR (CompleteLayerUpload answers LayerPartTooSmallException).

GetDownloadUrlForLayer answers, like ECR's presigned S3 URLs, a URL that needs no credentials: a
path on our server signed with the emulator's key and valid for an hour (see control.py).
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

from emulator.ecr import images, names
from emulator.ecr.errors import (
    EmptyUploadException,
    InvalidLayerException,
    InvalidLayerPartException,
    InvalidParameterException,
    LayerAlreadyExistsException,
    LayerPartTooSmallException,
    LayersNotFoundException,
    LimitExceededException,
    UploadNotFoundException,
)
from emulator.ecr.model import Repository
from emulator.registry import errors as registry_errors

# A layer that no manifest names yet (uploaded, not yet pushed in an image): Docker's layer type.
DEFAULT_LAYER_MEDIA_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"
PART_SIZE = 10 * 1024 * 1024  # what ECR advises
MAX_TRACKED = 1000  # uploads whose part sizes are remembered (_note_part)
MIN_PART_SIZE = 5 * 1024 * 1024  # LayerPartTooSmallException: "at least 5 MiB", but the last
URL_LIFETIME = 3600


@dataclass(frozen=True)
class Layer:
    digest: str
    size: int
    media_type: str


@dataclass(frozen=True)
class LayerFailure:
    digest: str
    code: str
    reason: str


def check_availability(store, repository: Repository,
                       digests: list[str]) -> tuple[list[Layer], list[LayerFailure]]:
    """BatchCheckLayerAvailability: (layers, failures)."""
    storage, ref = images.storage(store), images.repo_ref(store, repository.name)
    layers, failures = [], []
    media_types = None  # as the repository's manifests name its blobs, when a layer is there
    for digest in digests:
        if not names.valid_digest(digest):
            failures.append(LayerFailure(digest, "InvalidLayerDigest", "Invalid layer digest"))
        elif storage.blob_exists(ref, digest):
            size = storage.stat_blob(ref, digest).size
            if media_types is None:
                media_types = storage.blob_media_types(ref)
            layers.append(Layer(digest, size, media_types.get(digest, DEFAULT_LAYER_MEDIA_TYPE)))
        else:
            failures.append(LayerFailure(digest, "MissingLayerDigest", "Could not find layer"))
    return layers, failures


def initiate(store, repository: Repository) -> str:
    try:
        upload_id = images.storage(store).start_upload(
            images.repo_ref(store, repository.name)).upload_id
        return str(uuid.UUID(hex=upload_id))
    except registry_errors.StorageFull as error:  # unmodelled here, but 4xx and the nearest
        raise LimitExceededException(error.message) from None


def upload_part(store, repository: Repository, upload_id: str, first: int, last: int,
                blob: bytes) -> int:
    """UploadLayerPart of bytes `first` to `last`; the last byte received."""
    if last - first + 1 != len(blob):
        raise InvalidLayerPartException(
            f"The part spans bytes {first} to {last}, but {len(blob)} bytes were sent.",
            **_part_members(store, repository, upload_id, first - 1))
    ref = images.repo_ref(store, repository.name)
    try:
        status = images.storage(store).append_upload(
            ref, _stored(upload_id), [blob], start=first, length=len(blob)
        )
    except registry_errors.UploadUnknown:
        store.upload_parts.pop(upload_id, None)
        raise _upload_not_found(store, repository, upload_id) from None
    except registry_errors.StorageFull as error:
        raise LimitExceededException(error.message) from None
    except registry_errors.UploadOutOfOrder as error:
        raise InvalidLayerPartException(
            f"The part starts at byte {first}, but the upload has {error.size} bytes; the next "
            f"part must start at byte {error.size}.",
            **_part_members(store, repository, upload_id, error.size - 1)) from None
    _note_part(store, upload_id, len(blob))
    return status.size - 1


def _note_part(store, upload_id: str, size: int) -> None:
    """Remember of an upload what CompleteLayerUpload asks (was a part before the last under
    5 MiB?) in two values, for the MAX_TRACKED newest uploads: one abandoned keeps nothing
    growing."""
    earlier = store.upload_parts.pop(upload_id, None)  # put back as the newest
    small = earlier is not None and (earlier[0] or earlier[1] < MIN_PART_SIZE)
    store.upload_parts[upload_id] = [small, size]
    while len(store.upload_parts) > MAX_TRACKED:
        store.upload_parts.pop(next(iter(store.upload_parts)))


def complete(store, repository: Repository, upload_id: str, digests: list[str]) -> str:
    """CompleteLayerUpload; the layer's digest."""
    storage, ref = images.storage(store), images.repo_ref(store, repository.name)
    if len(digests) != 1 or not names.valid_digest(digests[0]):
        raise InvalidParameterException("layerDigests must hold the one digest of the layer.")
    digest = digests[0]
    stored = _stored(upload_id)
    try:
        status = storage.upload_status(ref, stored)
    except registry_errors.UploadUnknown:
        store.upload_parts.pop(upload_id, None)
        raise _upload_not_found(store, repository, upload_id) from None
    except registry_errors.StorageFull as error:  # dropped for a full disk: say so
        store.upload_parts.pop(upload_id, None)
        raise UploadNotFoundException(error.message) from None
    if status.size == 0:
        raise EmptyUploadException(f"The upload {upload_id} contains no layer parts.")
    parts = store.upload_parts.pop(upload_id, None)
    if parts is not None and parts[0]:
        storage.cancel_upload(ref, stored)  # a failed completion ends the upload, as others do
        raise LayerPartTooSmallException("Layer parts must be at least 5 MiB in size.")
    if storage.blob_exists(ref, digest):
        storage.cancel_upload(ref, stored)
        raise LayerAlreadyExistsException(
            f"The layer '{digest}' already exists in the repository with name "
            f"'{repository.name}' in registry with id '{store.account}'"
        )
    try:
        return storage.finish_upload(ref, stored, digest).digest
    except registry_errors.DigestMismatch as error:
        raise InvalidLayerException(error.message) from None
    except registry_errors.StorageFull as error:  # the upload is dropped: say why
        raise UploadNotFoundException(error.message) from None


def download_url(store, repository: Repository, digest: str, base_url: str) -> str:
    """GetDownloadUrlForLayer: a signed URL of our server that serves the blob."""
    if not names.valid_digest(digest) or not images.storage(store).blob_exists(
        images.repo_ref(store, repository.name), digest
    ):
        raise LayersNotFoundException(
            f"The layer with digest '{digest}' does not exist in the repository with name "
            f"'{repository.name}' in the registry with id '{store.account}'"
        )
    expires = int(time.time()) + URL_LIFETIME
    query = {"account": store.account, "region": store.region, "repository": repository.name,
             "digest": digest, "expires": expires}
    query["signature"] = sign(store.state.signing_key, query)
    return f"{base_url}/_emulator/ecr/layers?{urlencode(query)}"


def sign(key: bytes, query: dict) -> str:
    message = "\n".join(str(query[k]) for k in ("account", "region", "repository", "digest",
                                                 "expires"))
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def url_is_valid(key: bytes, query: dict) -> bool:
    try:
        expected = sign(key, query)
        expires = int(query["expires"])
    except (KeyError, ValueError):
        return False
    return hmac.compare_digest(expected, str(query.get("signature", ""))) and expires > time.time()



def _stored(upload_id: str) -> str:
    """Registry storage's ID of an upload ECR's API names (one that is no UUID is unknown)."""
    try:
        return uuid.UUID(upload_id).hex
    except ValueError:
        return upload_id


def _upload_not_found(store, repository: Repository, upload_id: str) -> UploadNotFoundException:
    return UploadNotFoundException(
        f"Upload with id '{upload_id}' is not found in the repository with name "
        f"'{repository.name}' in registry with id '{store.account}'"
    )


def _part_members(store, repository: Repository, upload_id: str, last_valid: int) -> dict:
    """InvalidLayerPartException's modelled members; the last byte the upload holds (-1: none)."""
    return {"registryId": store.account, "repositoryName": repository.name,
            "uploadId": upload_id, "lastValidByteReceived": last_valid}
