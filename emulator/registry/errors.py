"""The registry's error vocabulary: domain errors, and the one table that turns them into answers.

- Domain errors are what storage, the storage drivers and the hooks raise. They know nothing of
  HTTP or of the spec's codes.
- `ANSWERS` is the one table, read by routes.py only: domain error -> (the distribution spec's
  error code, HTTP status). `CODES` lists the spec's codes with the spec's own message for each
  (plus TAG_INVALID, which ECR's registry answers for a push to an immutable tag, and
  PAGINATION_NUMBER_INVALID from CNCF distribution). A test checks every domain error has a row.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    """How a registry error is answered: its code and HTTP status."""
    code: str
    status: int


# code -> the spec's message for it (a body's "message" says more, from the domain error).
CODES = {
    "BLOB_UNKNOWN": "blob unknown to registry",
    "BLOB_UPLOAD_INVALID": "blob upload invalid",
    "BLOB_UPLOAD_UNKNOWN": "blob upload unknown to registry",
    "DIGEST_INVALID": "provided digest did not match uploaded content",
    "MANIFEST_BLOB_UNKNOWN": "manifest references a manifest or blob unknown to registry",
    "MANIFEST_INVALID": "manifest invalid",
    "MANIFEST_UNKNOWN": "manifest unknown to registry",
    "NAME_INVALID": "invalid repository name",
    "NAME_UNKNOWN": "repository name not known to registry",
    "SIZE_INVALID": "provided length did not match content length",
    "UNAUTHORIZED": "authentication required",
    "DENIED": "requested access to the resource is denied",
    "UNSUPPORTED": "the operation is unsupported",
    "TOOMANYREQUESTS": "too many requests",
    "TAG_INVALID": "manifest tag did not match URI",
    "PAGINATION_NUMBER_INVALID": "invalid number of results requested",
}


class RegistryError(Exception):
    """Base of every domain error. `message` is what a client is shown."""

    def __init__(self, message: str, **detail):
        super().__init__(message)
        self.message = message
        self.detail = detail


class InvalidName(RegistryError):
    """A repository name, account or region that the spec (or our safety) does not allow."""


class InvalidReference(RegistryError):
    """A manifest reference that is neither a valid tag nor a valid digest."""


class InvalidPagination(RegistryError):
    """A page size (`n`) that is not a non-negative integer."""


class InvalidDigest(RegistryError):
    """A digest that is malformed or uses an algorithm we do not support."""


class DigestMismatch(RegistryError):
    """The content does not hash to the digest the client named."""


class SizeMismatch(RegistryError):
    """The body was shorter or longer than the client declared (truncated upload)."""


class RepositoryUnknown(RegistryError):
    pass


class BlobUnknown(RegistryError):
    pass


class UploadUnknown(RegistryError):
    pass


class UploadInvalid(RegistryError):
    """An upload request that cannot proceed (bad Content-Range, busy session, ...)."""


class UploadOutOfOrder(RegistryError):
    """A chunk that does not start where the upload ends. `size` is where it does end."""

    def __init__(self, message: str, size: int):
        super().__init__(message)
        self.size = size


class ManifestUnknown(RegistryError):
    pass


class ManifestInvalid(RegistryError):
    pass


class ManifestTooLarge(RegistryError):
    pass


class ManifestBlobUnknown(RegistryError):
    """A manifest names blobs (or child manifests) the repository does not hold."""


class TagImmutable(RegistryError):
    """Raised by a `before_tag` hook: the tag exists and may not move (ECR's IMMUTABLE)."""


class Denied(RegistryError):
    """Raised by a hook that refuses an otherwise valid request."""


class Unsupported(RegistryError):
    pass


class Unauthorized(RegistryError):
    """No credentials, or credentials the hooks do not accept (routes add the Basic challenge)."""


class UnknownRoute(Unsupported):
    """A /v2/ path that is no route of the registry API."""


class StorageFull(RegistryError):
    """A write found no room: the disk under the data directory is full, or its quota used up.
    Raised by the storage drivers after undoing the write; storage also drops the upload it was
    part of, so nothing partial stays behind."""

    def __init__(self, where: str, reason: str):
        self.where, self.reason = where, reason
        super().__init__(
            f"The registry's storage is full ({reason}): it keeps blobs in {where}. Free space "
            "there, or restart the emulator with ECS_EMULATOR_DATA_DIR set to a directory on a "
            "disk with room; then push again. The upload was discarded.", where=where)


# The one table: what each domain error answers. A subclass's row wins over its base's.
ANSWERS = {
    InvalidName: Answer("NAME_INVALID", 400),
    InvalidReference: Answer("TAG_INVALID", 400),
    InvalidDigest: Answer("DIGEST_INVALID", 400),
    DigestMismatch: Answer("DIGEST_INVALID", 400),
    SizeMismatch: Answer("SIZE_INVALID", 400),
    InvalidPagination: Answer("PAGINATION_NUMBER_INVALID", 400),
    RepositoryUnknown: Answer("NAME_UNKNOWN", 404),
    BlobUnknown: Answer("BLOB_UNKNOWN", 404),
    UploadUnknown: Answer("BLOB_UPLOAD_UNKNOWN", 404),
    UploadInvalid: Answer("BLOB_UPLOAD_INVALID", 400),
    # The spec: a chunk out of order is 416 Requested Range Not Satisfiable.
    UploadOutOfOrder: Answer("BLOB_UPLOAD_INVALID", 416),
    ManifestUnknown: Answer("MANIFEST_UNKNOWN", 404),
    ManifestInvalid: Answer("MANIFEST_INVALID", 400),
    ManifestTooLarge: Answer("MANIFEST_INVALID", 413),
    ManifestBlobUnknown: Answer("MANIFEST_BLOB_UNKNOWN", 400),
    TagImmutable: Answer("TAG_INVALID", 400),
    Unauthorized: Answer("UNAUTHORIZED", 401),
    Denied: Answer("DENIED", 403),
    Unsupported: Answer("UNSUPPORTED", 405),
    UnknownRoute: Answer("UNSUPPORTED", 404),
    # Distribution answers a full disk with 500 UNKNOWN, which docker shows as a bare "received
    # unexpected HTTP status: 500" after five retries: docker reads the error body of 4xx
    # answers only, and retries every code but UNAUTHORIZED, DENIED, UNSUPPORTED (and a few).
    # DENIED at 403 is the code docker neither retries nor hides: "denied: <our message>".
    StorageFull: Answer("DENIED", 403),
}


def answer_for(error: RegistryError) -> Answer:
    return next(ANSWERS[kind] for kind in type(error).__mro__ if kind in ANSWERS)
