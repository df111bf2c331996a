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


def statuses(store, repository_name: str) -> list[dict]:
    """DescribeImageSigningStatus: one entry per signing profile whose rule selects the repository."""
    rules = (store.signing_configuration or {}).get("rules", [])
    profiles = []
    for rule in rules:
        filters = rule.get("repositoryFilters")
        if filters and not any(names.wildcard_match(repository_name, f["filter"]) for f in filters):
            continue
        if rule["signingProfileArn"] not in profiles:
            profiles.append(rule["signingProfileArn"])
    return [{"signingProfileArn": arn, "status": "FAILED", "failureCode": "SigningNotSupported",
             "failureReason": NOT_SIGNED} for arn in profiles]
