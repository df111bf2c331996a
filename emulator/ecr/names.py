"""The rules ECR applies to names it is given: repository names, registry ids, image tags, tag
filters with wildcards. Each check raises the error ECR answers for it."""

from __future__ import annotations

import functools
import re

from emulator.ecr.errors import InvalidParameterException
from emulator.registry import errors as registry_errors
from emulator.registry import names as registry_names

_REPOSITORY_NAME = re.compile(
    r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*"
)
_REGISTRY_ID = re.compile(r"[0-9]{12}")
# botocore's ImageTagMutabilityExclusionFilterValue and CredentialArn patterns
_EXCLUSION_FILTER = re.compile(r"[0-9a-zA-Z._*-]{1,128}")
_CREDENTIAL_ARN = re.compile(
    r"arn:aws(-\w+)*:secretsmanager:[a-zA-Z0-9-:]+:secret:ecr\-pullthroughcache/[a-zA-Z0-9/_+=.@-]+")


def check_repository_name(name: str, field: str = "repositoryName") -> str:
    if not 2 <= len(name) <= 256 or not _REPOSITORY_NAME.fullmatch(name):
        raise InvalidParameterException(
            f"Invalid parameter at '{field}' failed to satisfy constraint: 'must satisfy regular "
            f"expression '{_REPOSITORY_NAME.pattern}'' and be 2 to 256 characters long"
        )
    return name


def check_prefix(prefix: str, field: str) -> str:
    """A namespace prefix of templates and pull through cache rules: ROOT, or a repository name
    with an optional trailing slash."""
    if prefix != "ROOT" and not _REPOSITORY_NAME.fullmatch(prefix.removesuffix("/")):
        raise InvalidParameterException(
            f"Invalid parameter at '{field}' failed to satisfy constraint: 'must be ROOT or a "
            "repository namespace (lowercase letters, digits, separators)'"
        )
    return prefix


def check_exclusion_filter(value: str) -> str:
    if not _EXCLUSION_FILTER.fullmatch(value):
        raise InvalidParameterException(
            "Invalid parameter at 'imageTagMutabilityExclusionFilters.filter' failed to satisfy "
            f"constraint: 'must satisfy regular expression '{_EXCLUSION_FILTER.pattern}''"
        )
    return value


def check_credential_arn(arn: str) -> str:
    """A pull through cache rule's secret: ECR takes only secrets named ecr-pullthroughcache/..."""
    if not 50 <= len(arn) <= 612 or not _CREDENTIAL_ARN.fullmatch(arn):
        raise InvalidParameterException(
            "Invalid parameter at 'credentialArn' failed to satisfy constraint: 'must be the ARN "
            "of a Secrets Manager secret whose name begins with ecr-pullthroughcache/'"
        )
    return arn


def valid_repository_name(name: str) -> bool:
    return 2 <= len(name) <= 256 and _REPOSITORY_NAME.fullmatch(name) is not None


def check_registry_id(registry_id: str) -> str:
    if not _REGISTRY_ID.fullmatch(registry_id):
        raise InvalidParameterException(
            "Invalid parameter at 'registryId' failed to satisfy constraint: "
            "'must satisfy regular expression '[0-9]{12}''"
        )
    return registry_id


def valid_digest(digest: str) -> bool:
    """A digest the registry can verify (sha256 or sha512)."""
    try:
        registry_names.check_digest(digest)
    except registry_errors.InvalidDigest:
        return False
    return True


def valid_tag(tag: str) -> bool:
    """A tag the registry protocol (and so docker) accepts."""
    try:
        registry_names.check_tag(tag)
    except registry_errors.InvalidReference:
        return False
    return True


def wildcard_match(value: str, pattern: str) -> bool:
    """ECR's wildcard filters: `*` matches any run of characters, nothing else is special."""
    return _wildcard(pattern).fullmatch(value) is not None


@functools.lru_cache(maxsize=1024)
def _wildcard(pattern: str) -> re.Pattern:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)
