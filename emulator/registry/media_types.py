"""Each blob's media type in a repository, as the repository's manifests name it (a blob knows
none itself): what ECR's BatchCheckLayerAvailability answers for a layer.

Worked out from every manifest of the repository, oldest push first (the first manifest to name
a blob gives its type), and kept by registry storage until a manifest of that repository is put
or deleted: a check then costs a dictionary look-up, not a read of every manifest.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from emulator.registry.driver import PathNotFound


def media_types(manifests: list[str], read: Callable[[str], bytes]) -> dict[str, str]:
    """{blob digest: media type} over the manifests (digests, in push order) that `read` gives;
    one deleted meanwhile or unreadable is skipped."""
    found: dict[str, str | None] = {}
    for digest in manifests:
        try:
            manifest = json.loads(read(digest))
        except (ValueError, OSError, PathNotFound):
            continue
        if not isinstance(manifest, dict):
            continue
        for descriptor in [manifest.get("config") or {}, *(manifest.get("layers") or [])]:
            if isinstance(descriptor, dict) and descriptor.get("digest"):
                found.setdefault(descriptor["digest"], descriptor.get("mediaType"))
    return {digest: media for digest, media in found.items() if media}
