"""Where registry storage keeps things: the one module that builds storage driver paths.

The layout, as driver paths (every component comes from a checked name, tag, digest or upload
id; see names.py). The filesystem driver keeps it as files under ECS_EMULATOR_DATA_DIR/registry,
as every earlier version did:

    blobs/<algorithm>/<first 2 hex>/<hex>          the content, shared by every repository
    uploads/<upload id>/data                       bytes received so far
    uploads/<upload id>/owner                      "<account>/<region>/<name>" that owns it
    tmp/<random>                                   streams on their way to blobs/
    repositories/<account>/<region>/<name...>/     one directory per name component; names
        _layers/<algorithm>/<hex>                  cannot start with "_", so these never clash
                                                   with a child repository. Empty file: the
                                                   repository may serve this blob
        _manifests/created                         empty: the repository exists (earlier
                                                   versions left an empty _manifests/ instead)
        _manifests/revisions/<algorithm>/<hex>     JSON: media type, size, subject, artifact
                                                   type, annotations, ... (bytes are in blobs/)
        _manifests/tags/<tag>                      the digest the tag points at

Repositories are found by walking repositories/ down to each "_manifests" directory.
"""

from __future__ import annotations

from emulator.registry.names import RepoRef

REPOSITORIES = "repositories"
BLOBS = "blobs"
UPLOADS = "uploads"
TMP = "tmp"


def blob(digest: str) -> str:
    algorithm, _, encoded = digest.partition(":")
    return f"{BLOBS}/{algorithm}/{encoded[:2]}/{encoded}"


def upload(upload_id: str) -> str:
    return f"{UPLOADS}/{upload_id}"


def temporary(name: str) -> str:
    return f"{TMP}/{name}"


def repository(repo: RepoRef) -> str:
    return f"{REPOSITORIES}/{repo.account}/{repo.region}/{repo.name}"


def manifests(repo: RepoRef) -> str:
    return f"{repository(repo)}/_manifests"


def created(repo: RepoRef) -> str:
    return f"{manifests(repo)}/created"


def layers(repo: RepoRef) -> str:
    return f"{repository(repo)}/_layers"


def link(repo: RepoRef, digest: str) -> str:
    return f"{layers(repo)}/{digest.replace(':', '/', 1)}"


def revisions(repo: RepoRef) -> str:
    return f"{manifests(repo)}/revisions"


def revision(repo: RepoRef, digest: str) -> str:
    return f"{revisions(repo)}/{digest.replace(':', '/', 1)}"


def tags(repo: RepoRef) -> str:
    return f"{manifests(repo)}/tags"


def tag(repo: RepoRef, name: str) -> str:
    return f"{tags(repo)}/{name}"


def repository_at(directory: str) -> RepoRef:
    """The repository whose directory is `directory` (repositories/<account>/<region>/<name>)."""
    _, account, region, name = directory.split("/", 3)
    return RepoRef(account, region, name)
