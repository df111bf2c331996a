"""The registry's error vocabulary.

Two halves that meet only in routes.py:
- domain errors: what storage and the hooks raise. They know nothing of HTTP or of the spec's codes.
- `STATUS`: the one table of the distribution spec's error codes -> HTTP status (plus TAG_INVALID,
  which ECR's registry answers for a push to an immutable tag, and PAGINATION_NUMBER_INVALID from
  CNCF distribution). routes.py maps each domain error to a code and looks its status up here.
"""

from __future__ import annotations

STATUS = {
    "BLOB_UNKNOWN": 404,
    "BLOB_UPLOAD_INVALID": 400,
    "BLOB_UPLOAD_UNKNOWN": 404,
    "DIGEST_INVALID": 400,
    "MANIFEST_BLOB_UNKNOWN": 400,
    "MANIFEST_INVALID": 400,
    "MANIFEST_UNKNOWN": 404,
    "NAME_INVALID": 400,
    "NAME_UNKNOWN": 404,
    "SIZE_INVALID": 400,
    "UNAUTHORIZED": 401,
    "DENIED": 403,
    "UNSUPPORTED": 405,
    "TOOMANYREQUESTS": 429,
    "TAG_INVALID": 400,
    "PAGINATION_NUMBER_INVALID": 400,
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
