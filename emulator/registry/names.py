"""What may be named, and where a name lives: repository names, tags, digests (checked, and
made of bytes), upload ids, and the one function that resolves a request to an (account,
region, repository).

Everything that ends up in a filesystem path is checked here against a strict pattern first, so
storage never joins a path from unchecked text.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

# ECR_REGISTRY: ECR's modules read it here too
from emulator.registry.ecr_hosts import ECR_HOST_START, ECR_REGISTRY  # noqa: F401
from emulator.registry.errors import InvalidDigest, InvalidName, InvalidReference

# The distribution spec's <name> grammar. Components cannot start with "_" or ".", so a name can
# never climb out of its directory, nor collide with storage's own "_layers"/"_manifests".
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_NAME = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$")
_DIGEST_GRAMMAR = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")
_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$")
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
# ECR's host names (ecr_hosts.py): for a request's Host, any domain and a port.
_ECR_HOST = re.compile(rf"^{ECR_HOST_START}[^:]+(?::\d+)?$")

MAX_NAME_LENGTH = 255
ALGORITHMS = {"sha256": 64, "sha512": 128}


@dataclass(frozen=True)
class RepoRef:
    """A repository in one account and region. Construct through `repo_ref` to get it checked."""

    account: str
    region: str
    name: str

    def __str__(self) -> str:
        return f"{self.account}/{self.region}/{self.name}"


def repo_ref(account: str, region: str, name: str) -> RepoRef:
    if not _ACCOUNT.match(account or ""):
        raise InvalidName(f"invalid account id {account!r}")
    if not _REGION.match(region or ""):
        raise InvalidName(f"invalid region {region!r}")
    check_name(name)
    return RepoRef(account, region, name)


def check_name(name: str) -> str:
    if not name or len(name) > MAX_NAME_LENGTH or not _NAME.match(name):
        raise InvalidName(f"invalid repository name {name!r}", name=name)
    return name


def check_tag(tag: str) -> str:
    if not _TAG.match(tag or ""):
        raise InvalidReference(f"invalid tag {tag!r}", tag=tag)
    return tag


def check_digest(digest: str) -> str:
    """A digest we can verify: sha256 or sha512 with lowercase hex of the right length."""
    if not _DIGEST_GRAMMAR.match(digest or ""):
        raise InvalidDigest(f"invalid digest {digest!r}", digest=digest)
    algorithm, _, encoded = digest.partition(":")
    length = ALGORITHMS.get(algorithm)
    if length is None:
        raise InvalidDigest(f"unsupported digest algorithm {algorithm!r}", digest=digest)
    if len(encoded) != length or not re.fullmatch(r"[0-9a-f]+", encoded):
        raise InvalidDigest(f"invalid {algorithm} digest {digest!r}", digest=digest)
    return digest


def is_digest_like(reference: str) -> bool:
    """A reference with a colon is meant as a digest (tags cannot hold one)."""
    return ":" in reference


def check_upload_id(upload_id: str) -> bool:
    return bool(_UPLOAD_ID.match(upload_id or ""))


def hasher_for(digest: str):
    return hashlib.new(digest.partition(":")[0])


def digest_text(hasher) -> str:
    """A finished hash as a digest, `algorithm:hex`."""
    return f"{hasher.name}:{hasher.hexdigest()}"


def digest_of(body: bytes, like: str = "sha256:") -> str:
    """The digest of `body` by the algorithm of `like` (a digest, or its `algorithm:` alone)."""
    hasher = hasher_for(like)
    hasher.update(body)
    return digest_text(hasher)


def resolve_repository(host: str, path_name: str, default_account: str,
                       default_region: str) -> RepoRef:
    """Where a request's repository lives, from the first rule that applies:

    1. a Host `<account>.dkr.ecr.<region>.<anything>` (how ECR clients address a registry);
    2. a path name whose first two segments are a 12-digit account and a region, as in
       /v2/111122223333/eu-west-1/app/manifests/x (the name is then what follows);
    3. the emulator's default account and region.

    `path_name` may be "" (for /v2/ and /v2/_catalog): the namespace alone is then resolved, and
    the returned RepoRef has an empty name.
    """
    account, region = namespace_of_host(host) or (default_account, default_region)
    parts = path_name.split("/", 2)
    if (namespace_of_host(host) is None and len(parts) == 3
            and _ACCOUNT.match(parts[0]) and _REGION.match(parts[1])):
        account, region, path_name = parts
    if not path_name:
        return RepoRef(account, region, "")
    return repo_ref(account, region, path_name)


def namespace_of_host(host: str) -> tuple[str, str] | None:
    match = _ECR_HOST.match((host or "").lower())
    if match is None or not _REGION.match(match.group(2)):
        return None
    return match.group(1), match.group(2)


def path_name(repo: RepoRef, default_account: str, default_region: str) -> str:
    """The name under which `repo` is reached on a plain host (the inverse of rule 2 above)."""
    if (repo.account, repo.region) == (default_account, default_region):
        return repo.name
    return str(repo)
