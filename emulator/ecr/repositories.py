"""Repository operations: create, delete, and the settings a repository carries (tag mutability,
scan on push, encryption, permission policy)."""

from __future__ import annotations

import uuid

from emulator.aws.context import partition_of
from emulator.ecr import arns, images, names, policies, tags
from emulator.ecr.errors import (
    InvalidParameterException,
    RepositoryAlreadyExistsException,
    RepositoryNotEmptyException,
    RepositoryPolicyNotFoundException,
)
from emulator.ecr.model import Repository

_EXCLUSION_MODES = ("IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION")


def create(store, name: str, *, resource_tags: list[dict] | None = None,
           tag_mutability: str | None = None, exclusion_filters: list[dict] | None = None,
           scan_on_push: bool = False, encryption: dict | None = None) -> Repository:
    """A new repository; what is not given is ECR's default (MUTABLE, AES256 encryption)."""
    name = names.check_repository_name(name)
    if name in store.repositories:
        raise RepositoryAlreadyExistsException(
            f"The repository with name '{name}' already exists in the registry with id "
            f"'{store.account}'"
        )
    repo_tags = resource_tags or []
    tags.validate(repo_tags)
    mutability = "MUTABLE" if tag_mutability is None else tag_mutability
    repository = Repository(
        name=name,
        arn=arns.repository(store.account, store.region, name),
        registry_id=store.account,
        image_tag_mutability=mutability,
        mutability_exclusion_filters=check_mutability(mutability, exclusion_filters),
        scan_on_push=scan_on_push,
        encryption=encryption_for(store, encryption),
        tags=tags.merged([], repo_tags),
    )
    images.create_in_registry(store, repository)
    store.repositories[name] = repository
    return repository


def delete(store, name: str, force: bool) -> Repository:
    repository = store.repository(name)
    if repository.images and not force:
        raise RepositoryNotEmptyException(
            f"The repository with name '{name}' in registry with id '{store.account}' cannot be "
            "deleted because it still contains images"
        )
    images.forget_repository(store, repository)
    del store.repositories[name]
    return repository


def put_tag_mutability(store, name: str, mutability: str,
                       exclusion_filters: list[dict] | None) -> Repository:
    repository = store.repository(name)
    repository.mutability_exclusion_filters = check_mutability(mutability, exclusion_filters)
    repository.image_tag_mutability = mutability
    return repository


def put_scan_on_push(repository: Repository, scan_on_push: bool) -> Repository:
    repository.scan_on_push = scan_on_push
    return repository


def set_policy(store, name: str, text: str) -> Repository:
    repository = store.repository(name)
    repository.policy = policies.check_repository_policy(text)
    return repository


def policy_of(store, name: str) -> tuple[Repository, str]:
    repository = store.repository(name)
    if repository.policy is None:
        raise RepositoryPolicyNotFoundException(
            f"Repository policy does not exist for the repository with name '{name}' in the "
            f"registry with id '{store.account}'"
        )
    return repository, repository.policy


def delete_policy(store, name: str) -> tuple[Repository, str]:
    repository, text = policy_of(store, name)
    repository.policy = None
    return repository, text


def check_mutability(mutability: str, filters: list[dict] | None) -> list[dict] | None:
    if mutability in _EXCLUSION_MODES and not filters:
        raise InvalidParameterException(
            f"imageTagMutabilityExclusionFilters are required with {mutability}."
        )
    if mutability not in _EXCLUSION_MODES and filters:
        raise InvalidParameterException(
            f"imageTagMutabilityExclusionFilters are only allowed with {' or '.join(_EXCLUSION_MODES)}."
        )
    for item in filters or ():
        names.check_exclusion_filter(item.get("filter", ""))
    return filters or None


def tag_is_immutable(repository: Repository, tag: str) -> bool:
    """Whether a tag, once set, may not move to another image."""
    mode = repository.image_tag_mutability
    if mode == "MUTABLE":
        return False
    if mode == "IMMUTABLE":
        return True
    excluded = any(
        names.wildcard_match(tag, f["filter"]) for f in repository.mutability_exclusion_filters or ()
    )
    # IMMUTABLE_WITH_EXCLUSION: immutable unless excluded; MUTABLE_WITH_EXCLUSION: the reverse.
    return not excluded if mode == "IMMUTABLE_WITH_EXCLUSION" else excluded


def encryption_for(store, config: dict | None) -> dict:
    if not config:
        return {"encryptionType": "AES256"}
    kind = config["encryptionType"]
    if kind == "AES256":
        if config.get("kmsKey"):
            raise InvalidParameterException("A kmsKey can only be given with KMS encryption.")
        return {"encryptionType": "AES256"}
    # KMS or KMS_DSSE: without a key, ECR uses the account's AWS managed key for ECR.
    key = config.get("kmsKey") or _managed_key(store)
    return {"encryptionType": kind, "kmsKey": key}


def _managed_key(store) -> str:
    key_id = uuid.uuid5(uuid.NAMESPACE_URL, f"aws/ecr/{store.account}/{store.region}")
    return f"arn:{partition_of(store.region)}:kms:{store.region}:{store.account}:key/{key_id}"
