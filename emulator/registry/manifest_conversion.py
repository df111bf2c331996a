"""Converting an image manifest between Docker's image manifest V2 schema 2 and the OCI image
manifest, as ECR does when a client pulls by tag and does not accept the format stored
(https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-manifest-formats.html).

The two formats describe the same image with other names: the config's and each layer's media
type map one to one, the digests and sizes stay (the blobs are the same bytes), and the
converted manifest is new bytes with a digest of its own. What has no counterpart is not
converted (None): manifest lists and image indexes, an OCI artifact (a config that is no image
config, or an `artifactType` or `subject`: a signature or an SBOM, whose meaning Docker's
format cannot carry), a layer type only one format has (zstd), and Docker's schema 1 (which
ECR makes from schema 2 by signing a history of v1 images: not emulated).

Pure functions of bytes: no storage, no ECR.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from emulator.registry.manifests import DOCKER_MANIFEST, OCI_MANIFEST
from emulator.registry.names import digest_of

SCHEMA_1 = "application/vnd.docker.distribution.manifest.v1+json"  # what ECR converts to, we not
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
# Docker's layer media types and their OCI names. Foreign layers (Windows base images, at their
# `urls`) are OCI's non-distributable ones, which the OCI spec deprecates but still names.
_DOCKER_LAYERS = {
    "application/vnd.docker.image.rootfs.diff.tar.gzip":
        "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.docker.image.rootfs.diff.tar": "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip":
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar":
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
}
# wanted manifest type: (the type it is made from, config types from that one's to the wanted
# one's, layer types likewise)
_FORMATS = {
    OCI_MANIFEST: (DOCKER_MANIFEST, {DOCKER_CONFIG: OCI_CONFIG}, _DOCKER_LAYERS),
    DOCKER_MANIFEST: (OCI_MANIFEST, {OCI_CONFIG: DOCKER_CONFIG},
                      {oci: docker for docker, oci in _DOCKER_LAYERS.items()}),
}


@dataclass(frozen=True)
class Converted:
    """A manifest in another format: its bytes, their digest, and its media type."""

    body: bytes
    digest: str
    media_type: str


def convert(body: bytes, media_type: str, wanted: str, digest_like: str = "sha256:"
            ) -> Converted | None:
    """The image manifest `body` (of `media_type`) as a `wanted` one (DOCKER_MANIFEST or
    OCI_MANIFEST), its digest by `digest_like`'s algorithm; None where it cannot be (see the
    module's docstring)."""
    target = _FORMATS.get(wanted)
    if target is None or target[0] != media_type:
        return None
    _, configs, layers = target
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(document, dict) or document.get("schemaVersion") != 2:
        return None
    if "subject" in document or "artifactType" in document:
        return None
    config = _mapped(document.get("config"), configs)
    found = document.get("layers") or []
    converted_layers = [_mapped(layer, layers) for layer in found] if isinstance(found, list) \
        else [None]
    if config is None or None in converted_layers:
        return None
    # Docker's schema 2 has no manifest annotations: an OCI image's go (the descriptors keep
    # theirs, which both formats allow), as does any member neither format defines.
    out = {"schemaVersion": 2, "mediaType": wanted, "config": config, "layers": converted_layers}
    text = json.dumps(out, separators=(",", ":")).encode()
    return Converted(text, digest_of(text, digest_like), wanted)


def _mapped(descriptor, types: dict) -> dict | None:
    """`descriptor` with its media type the other format's, or None if it has none there."""
    if not isinstance(descriptor, dict) or descriptor.get("mediaType") not in types:
        return None
    return {**descriptor, "mediaType": types[descriptor["mediaType"]]}
