"""Attributes of container instances: the naming rules, ECS's limits, and Put/Delete/ListAttributes.

An instance's attributes live on the instance (ContainerInstance.attributes, a list of
{"name", "value"} in the order they were first set), so DescribeContainerInstances, placement and
ListAttributes all read the one copy. Attributes that the agent or ECS itself sets (names under
`ecs.` and `com.amazonaws.ecs.`) are built-in; the rest are custom, and ECS allows 10 of those
per resource.
"""

from __future__ import annotations

import re

from emulator.ecs import arns
from emulator.ecs.errors import (
    AttributeLimitExceededException,
    InvalidParameterException,
    TargetNotFoundException,
)
from emulator.ecs.model import Cluster, ContainerInstance
from emulator.ecs.store import EcsStore

TARGET_TYPE = "container-instance"
MAX_PER_CALL = 10
MAX_CUSTOM_PER_RESOURCE = 10
BUILT_IN_PREFIXES = ("ecs.", "com.amazonaws.ecs.")

_NAME = re.compile(r"^[A-Za-z0-9_\-/\\.]{1,128}$")
_VALUE = re.compile(r"^[A-Za-z0-9_\-.@/\\: ]{1,128}$")


def is_custom(name: str) -> bool:
    return not name.startswith(BUILT_IN_PREFIXES)


def validate(attribute: dict) -> None:
    """ECS's rules for an attribute's name and value (the value is optional)."""
    name = attribute.get("name", "")
    if not _NAME.match(name):
        raise InvalidParameterException(
            f"Invalid attribute name '{name}': a name has 1-128 letters, numbers, hyphens, "
            "underscores, forward slashes, back slashes or periods."
        )
    value = attribute.get("value")
    if value is None:
        return
    if not _VALUE.match(value) or value != value.strip(" "):
        raise InvalidParameterException(
            f"Invalid value '{value}' for attribute '{name}': a value has 1-128 letters, numbers, "
            "hyphens, underscores, periods, at signs, forward slashes, back slashes, colons or "
            "spaces, and does not start or end with a space."
        )


def merged(existing: list[dict], updates: list[dict]) -> list[dict]:
    """`existing` with each update set by name (a new value replaces the old one)."""
    values = {a["name"]: a.get("value") for a in existing}
    for attribute in updates:
        values[attribute["name"]] = attribute.get("value")
    return [_plain(name, value) for name, value in values.items()]


def _plain(name: str, value: str | None) -> dict:
    return {"name": name, "value": value} if value is not None else {"name": name}


# -- PutAttributes / DeleteAttributes -----------------------------------------------------------


def put(store: EcsStore, cluster: Cluster, attributes: list[dict]) -> list[dict]:
    """Set attributes on their targets, all or none; the request's attributes are answered."""
    targets = _resolve(store, cluster, attributes)
    updates: dict[str, list[dict]] = {}
    for attribute, instance in zip(attributes, targets):
        updates.setdefault(instance.arn, []).append(attribute)
    changes = []
    for arn, new in updates.items():
        instance = store.container_instances[arn]
        result = merged(instance.attributes, new)
        custom = [a for a in result if is_custom(a["name"])]
        if len(custom) > MAX_CUSTOM_PER_RESOURCE:
            raise AttributeLimitExceededException(
                f"You can apply up to {MAX_CUSTOM_PER_RESOURCE} custom attributes to a resource; "
                f"{instance.arn} would have {len(custom)}."
            )
        changes.append((instance, result))
    for instance, result in changes:
        if result != instance.attributes:
            instance.attributes = result
            instance.version += 1
    return attributes


def delete(store: EcsStore, cluster: Cluster, attributes: list[dict]) -> list[dict]:
    """Remove attributes by name from their targets (a value, if given, is not compared)."""
    targets = _resolve(store, cluster, attributes)
    for attribute, instance in zip(attributes, targets):
        remaining = [a for a in instance.attributes if a["name"] != attribute["name"]]
        if len(remaining) != len(instance.attributes):
            instance.attributes = remaining
            instance.version += 1
    return attributes


def _resolve(store: EcsStore, cluster: Cluster, attributes: list[dict]) -> list[ContainerInstance]:
    if not attributes:
        raise InvalidParameterException("attributes can not be empty.")
    if len(attributes) > MAX_PER_CALL:
        raise InvalidParameterException(
            f"You can specify up to {MAX_PER_CALL} attributes in a single call."
        )
    for attribute in attributes:
        validate(attribute)
    return [_target(store, cluster, attribute) for attribute in attributes]


def _target(store: EcsStore, cluster: Cluster, attribute: dict) -> ContainerInstance:
    target_id = attribute.get("targetId")
    if not target_id:
        raise InvalidParameterException(
            f"Attribute '{attribute['name']}' needs a targetId: a container instance ID or ARN."
        )
    parsed = arns.parse(target_id)
    if parsed is None and attribute.get("targetType") is None:
        raise InvalidParameterException(
            f"targetType is required when targetId '{target_id}' is not a full ARN."
        )
    instance = None
    if parsed is None or parsed.resource_type == TARGET_TYPE:
        instance = store.find_container_instance(cluster.name, target_id)
    if instance is None or instance.status == "INACTIVE":
        raise TargetNotFoundException(
            f"Could not find {target_id} in cluster {cluster.name}."
        )
    return instance


# -- ListAttributes -----------------------------------------------------------------------------


def listed(store: EcsStore, cluster: Cluster, name: str | None, value: str | None) -> list[dict]:
    """Every attribute of the cluster's instances (one entry per instance and attribute), sorted
    by target and name, optionally only those of one name (and value)."""
    if value is not None and name is None:
        raise InvalidParameterException(
            "attributeValue can only be used together with attributeName."
        )
    found = []
    for instance in store.container_instances_of(cluster.name):
        if instance.status == "INACTIVE":
            continue
        for attribute in instance.attributes:
            if name is not None and attribute["name"] != name:
                continue
            if value is not None and attribute.get("value") != value:
                continue
            found.append({**attribute, "targetType": TARGET_TYPE, "targetId": instance.arn})
    found.sort(key=sort_key)
    return found


def sort_key(attribute: dict) -> list[str]:
    return [attribute["targetId"], attribute["name"]]
