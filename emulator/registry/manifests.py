"""Manifest formats: the four media types we store (Docker schema 2 and its manifest list, the OCI
image manifest and image index), parsing and checking a pushed manifest, and Accept negotiation.

Pure functions of bytes and headers: no storage, no HTTP.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from emulator.registry.errors import InvalidDigest, ManifestInvalid
from emulator.registry.names import check_digest

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
IMAGE_MANIFESTS = frozenset({DOCKER_MANIFEST, OCI_MANIFEST})
INDEXES = frozenset({DOCKER_MANIFEST_LIST, OCI_INDEX})
MEDIA_TYPES = IMAGE_MANIFESTS | INDEXES

# The spec asks registries to take manifests of at least 4 MiB; larger ones get 413.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class ParsedManifest:
    """What the registry needs to know about a manifest, besides its bytes."""

    media_type: str
    blobs: tuple[str, ...] = ()       # digests that must be blobs of the repository
    manifests: tuple[str, ...] = ()   # digests that must be manifests of the repository
    subject: str | None = None
    artifact_type: str | None = None  # as the referrers API shows it
    annotations: dict = field(default_factory=dict)
    config_media_type: str | None = None
    layers_size: int = 0              # sum of the layers' sizes (ECR's imageSizeInBytes)


def parse_manifest(body: bytes, content_type: str | None) -> ParsedManifest:
    document = _json_object(body)
    if document.get("schemaVersion") != 2:
        raise ManifestInvalid("only schemaVersion 2 manifests are supported")
    media_type = _media_type(document, bare_media_type(content_type))
    subject = document.get("subject")
    subject_digest = _descriptor(subject, "subject")[0] if subject is not None else None
    annotations = document.get("annotations") or {}
    if not isinstance(annotations, dict):
        raise ManifestInvalid("annotations must be an object")
    artifact_type = document.get("artifactType")
    if artifact_type is not None and not isinstance(artifact_type, str):
        raise ManifestInvalid("artifactType must be a string")
    if media_type in INDEXES:
        children = _descriptor_list(document, "manifests")
        return ParsedManifest(
            media_type=media_type, manifests=tuple(d for d, _, _ in children),
            subject=subject_digest, artifact_type=artifact_type or None, annotations=annotations,
        )
    config_digest, config_type, _ = _descriptor(document.get("config"), "config")
    layers = _descriptor_list(document, "layers")
    # Foreign layers (Windows base images) live at their `urls`, not in the registry.
    required = [digest for digest, _, raw in layers if not raw.get("urls")]
    return ParsedManifest(
        media_type=media_type, blobs=(config_digest, *required), subject=subject_digest,
        artifact_type=artifact_type or config_type, annotations=annotations,
        config_media_type=config_type, layers_size=sum(raw["size"] for _, _, raw in layers),
    )


def bare_media_type(content_type: str | None) -> str:
    """A Content-Type without parameters, as the spec says registries should read it."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def acceptable(media_type: str, accept: str | None) -> bool:
    """Whether a client's Accept header allows `media_type`. No Accept header allows anything,
    as older clients send none; a media range listed with q=0 is refused."""
    ranges = [part.strip() for part in (accept or "").split(",") if part.strip()]
    if not ranges:
        return True
    for media_range in ranges:
        kind, *params = [p.strip() for p in media_range.split(";")]
        if any(p.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000") for p in params):
            continue
        kind = kind.lower()
        if kind in ("*/*", media_type) or (kind.endswith("/*") and
                                           media_type.startswith(kind[:-1])):
            return True
    return False


def _json_object(body: bytes) -> dict:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ManifestInvalid(f"manifest is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ManifestInvalid("manifest must be a JSON object")
    return document


def _media_type(document: dict, content_type: str) -> str:
    declared = document.get("mediaType")
    if declared is not None and not isinstance(declared, str):
        raise ManifestInvalid("mediaType must be a string")
    if declared and content_type in MEDIA_TYPES and declared != content_type:
        raise ManifestInvalid(
            f"manifest mediaType {declared!r} does not match Content-Type {content_type!r}")
    media_type = declared or (content_type if content_type in MEDIA_TYPES else None)
    if media_type is None:
        # An OCI manifest may omit mediaType; its shape then tells which one it is.
        media_type = OCI_INDEX if "manifests" in document else OCI_MANIFEST
    if media_type not in MEDIA_TYPES:
        raise ManifestInvalid(f"unsupported manifest media type {media_type!r}")
    return media_type


def _descriptor_list(document: dict, key: str) -> list[tuple[str, str, dict]]:
    items = document.get(key)
    if items is None and key == "layers":
        items = []
    if not isinstance(items, list):
        raise ManifestInvalid(f"{key} must be a list of descriptors")
    return [_descriptor(item, f"{key}[{i}]") for i, item in enumerate(items)]


def _descriptor(raw, where: str) -> tuple[str, str, dict]:
    if not isinstance(raw, dict):
        raise ManifestInvalid(f"{where} must be a descriptor object")
    media_type, digest, size = raw.get("mediaType"), raw.get("digest"), raw.get("size")
    if not isinstance(media_type, str) or not media_type:
        raise ManifestInvalid(f"{where} has no mediaType")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ManifestInvalid(f"{where} has no valid size")
    try:
        check_digest(digest if isinstance(digest, str) else "")
    except InvalidDigest as exc:
        raise ManifestInvalid(f"{where}: {exc.message}") from None
    return digest, media_type, raw
