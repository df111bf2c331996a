"""Pull through cache rules: stored and described as ECR does.

The emulator does not fetch from upstream registries (it is meant to run offline), so a pull of
`<prefix>/<image>` that is not in the registry fails as any unknown image does, and
ValidatePullThroughCacheRule answers isValid=false and says why.
"""

from __future__ import annotations

import re

from emulator.ecr import names
from emulator.ecr.errors import (
    InvalidParameterException,
    PullThroughCacheRuleAlreadyExistsException,
    PullThroughCacheRuleNotFoundException,
    UnsupportedUpstreamRegistryException,
)
from emulator.ecr.model import PullThroughCacheRule, utcnow
from emulator.registry.names import ECR_REGISTRY

NOT_FETCHED = (
    "This emulator does not contact upstream registries, so a pull through cache rule is stored "
    "but never fetches images; push the images you need to the emulator's registry instead."
)
# upstreamRegistry -> (how its URL looks, whether ECR requires a Secrets Manager credential)
_UPSTREAMS = {
    "ecr-public": (r"public\.ecr\.aws", False),
    "quay": (r"quay\.io", False),
    "k8s": (r"registry\.k8s\.io", False),
    "docker-hub": (r"registry-1\.docker\.io", True),
    "github-container-registry": (r"ghcr\.io", True),
    "azure-container-registry": (r"[a-z0-9-]+\.azurecr\.io", True),
    "gitlab-container-registry": (r"registry\.gitlab\.com", True),
    "chainguard": (r"cgr\.dev", False),
    "ecr": (ECR_REGISTRY, False),
}


def create(store, prefix: str, upstream_url: str, *, upstream_registry: str | None = None,
           credential_arn: str | None = None, custom_role_arn: str | None = None,
           upstream_prefix: str | None = None) -> PullThroughCacheRule:
    prefix = names.check_prefix(prefix, "ecrRepositoryPrefix")
    if prefix in store.pull_through_rules:
        raise PullThroughCacheRuleAlreadyExistsException(
            f"A pull through cache rule with the prefix '{prefix}' already exists in the registry "
            f"with id '{store.account}'."
        )
    upstream = _upstream_of(upstream_url, upstream_registry)
    if credential_arn is not None:
        names.check_credential_arn(credential_arn)
    if _UPSTREAMS[upstream][1] and not credential_arn:
        raise InvalidParameterException(
            f"A pull through cache rule for {upstream} needs a credentialArn."
        )
    if upstream == "ecr" and not custom_role_arn:
        raise InvalidParameterException(
            "A pull through cache rule for a private ECR upstream needs a customRoleArn."
        )
    rule = PullThroughCacheRule(
        prefix=prefix,
        upstream_url=upstream_url,
        upstream_registry=upstream,
        credential_arn=credential_arn,
        custom_role_arn=custom_role_arn,
        upstream_prefix=upstream_prefix,
    )
    store.pull_through_rules[prefix] = rule
    return rule


def get(store, prefix: str) -> PullThroughCacheRule:
    rule = store.pull_through_rules.get(prefix)
    if rule is None:
        raise PullThroughCacheRuleNotFoundException(
            f"The pull through cache rule with the prefix '{prefix}' does not exist in the "
            f"registry with id '{store.account}'."
        )
    return rule


def update(store, prefix: str, *, credential_arn: str | None = None,
           custom_role_arn: str | None = None) -> PullThroughCacheRule:
    """Set what is given (None leaves a setting as it is)."""
    rule = get(store, prefix)
    if credential_arn is not None:
        rule.credential_arn = names.check_credential_arn(credential_arn)
    if custom_role_arn is not None:
        rule.custom_role_arn = custom_role_arn
    rule.updated_at = utcnow()
    return rule


def delete(store, prefix: str) -> PullThroughCacheRule:
    rule = get(store, prefix)
    del store.pull_through_rules[prefix]
    return rule


def _upstream_of(url: str, declared: str | None) -> str:
    host = re.sub(r"^https?://", "", url).split("/", 1)[0].lower()
    for name, (pattern, _) in _UPSTREAMS.items():
        if re.fullmatch(pattern, host) and (declared is None or declared == name):
            return name
    raise UnsupportedUpstreamRegistryException(
        f"The upstream registry URL '{url}' is not supported"
        + (f" for the upstream registry {declared}." if declared else ".")
    )
