"""Tags of every taggable ECS resource: validation, merge, and finding a resource by its ARN."""

from __future__ import annotations

import unicodedata
from typing import Callable

from emulator.ecs import arns
from emulator.ecs.errors import (
    ClusterNotFoundException,
    InvalidParameterException,
    ResourceNotFoundException,
)

MAX_TAGS = 50


def validate_tags(tags: list[dict]) -> None:
    """The tags a request brings. Tags already stored are never checked again: one saved
    before a check existed (an older snapshot) must not refuse every later call."""
    _check_count(tags)
    for tag in tags:
        if "key" not in tag:
            raise InvalidParameterException("A tag needs a key.")
        if tag["key"].lower().startswith("aws:"):
            raise InvalidParameterException(
                "Tag keys with the prefix 'aws:' are reserved for AWS use."
            )
        for part in ("key", "value"):
            if not all(_allowed(ch) for ch in tag.get(part, "")):
                raise InvalidParameterException(
                    f"The tag {part} '{tag[part]}' has characters a tag cannot have: letters, "
                    "numbers, spaces and + - = . _ : / @ are allowed.")


def _check_count(tags: list[dict]) -> None:
    # AWS's own tags (aws:ecs:clusterName, ...) do not count against the limit
    if len({tag.get("key", "") for tag in tags
            if not tag.get("key", "").lower().startswith("aws:")}) > MAX_TAGS:
        raise InvalidParameterException(f"A resource can have at most {MAX_TAGS} tags.")


def _allowed(ch: str) -> bool:
    """TagKey's and TagValue's pattern in the model: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]."""
    return (ch.isalpha() or ch.isnumeric() or ch in "_.:/=+-@"
            or unicodedata.category(ch).startswith("Z"))


def merged(existing: list[dict], new: list[dict]) -> list[dict]:
    validate_tags(new)
    values = {tag["key"]: tag.get("value", "") for tag in existing}
    values.update({tag["key"]: tag.get("value", "") for tag in new})
    result = [{"key": key, "value": value} for key, value in values.items()]
    _check_count(result)
    return result


def without(existing: list[dict], keys: list[str]) -> list[dict]:
    drop = set(keys)
    return [tag for tag in existing if tag["key"] not in drop]


def resource_for(store, arn: str):
    parsed = arns.parse(arn)
    if parsed is None:
        raise InvalidParameterException(f"The ARN {arn} is not a valid ECS resource ARN.")
    if not parsed.in_store(store):
        raise InvalidParameterException(
            f"The ARN {arn} does not belong to account {store.account} in {store.region}."
        )
    find = store.contributions.tag_finders.get(parsed.resource_type)
    if find is None:
        raise InvalidParameterException(
            f"Resources of type {parsed.resource_type} cannot be tagged."
        )
    resource = find(store, parsed)
    if resource is None:
        if parsed.resource_type == "cluster":
            raise ClusterNotFoundException("Cluster not found.")
        raise ResourceNotFoundException("The specified resource could not be found.")
    return resource


def _cluster(store, parsed):
    cluster = store.clusters.get(parsed.resource)
    if cluster is not None and cluster.status != "ACTIVE":
        # ECS's tagging calls' words for a deleted cluster it still describes (quoted in
        # gruntwork-io/cloud-nuke#145), not the "The referenced cluster was inactive." of
        # the calls that run things in it (EcsStore.cluster)
        raise InvalidParameterException(
            "The specified cluster is inactive. Specify an active cluster and try again.")
    return cluster


def _capacity_provider(store, parsed):
    return store.capacity_providers.get(parsed.resource)


def _task_definition(store, parsed):
    family, _, revision = parsed.resource.rpartition(":")
    if not revision.isdigit():
        return None
    return store.task_definition_revisions(family).get(int(revision))


def _container_instance(store, parsed):
    return store.container_instances.get(str(parsed))


def own_finders() -> dict[str, Callable]:
    """Finders of the resources this layer knows; tasks, services and task sets add theirs
    (contributions.py)."""
    return {"cluster": _cluster, "capacity-provider": _capacity_provider,
            "task-definition": _task_definition, "container-instance": _container_instance}
