"""Managed signing: the registry's signing configuration is stored, but the emulator has no AWS
Signer, so an image that a rule selects shows, per signing profile, a FAILED status that says so.
"""

from __future__ import annotations

from emulator.ecr import names
from emulator.ecr.errors import SigningConfigurationNotFoundException

NOT_SIGNED = "The emulator does not sign images: it has no AWS Signer."


def get(store) -> dict:
    if store.signing_configuration is None:
        raise SigningConfigurationNotFoundException(
            f"The registry with id '{store.account}' has no signing configuration."
        )
    return store.signing_configuration


def delete(store) -> dict:
    configuration = get(store)
    store.signing_configuration = None
    return configuration


def profiles_for(store, repository_name: str) -> list[str]:
    """The signing profiles whose rules select the repository (DescribeImageSigningStatus shows
    each one's signing FAILED: render.signing_status)."""
    rules = (store.signing_configuration or {}).get("rules", [])
    profiles = []
    for rule in rules:
        filters = rule.get("repositoryFilters")
        if filters and not any(names.wildcard_match(repository_name, f["filter"]) for f in filters):
            continue
        if rule["signingProfileArn"] not in profiles:
            profiles.append(rule["signingProfileArn"])
    return profiles
