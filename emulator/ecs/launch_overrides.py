"""The checks of a launch's overrides (RunTask's and StartTask's `overrides`), as ECS makes them.

The task definition was checked when it was registered; what overrides change is checked here
by the same rules: roles, container names, the task's size (a Fargate combination, and room for
the containers' own cpu and memory), ephemeral storage's range, and the documented total of
8192 characters.
"""

from __future__ import annotations

import json

from emulator.ecs.errors import InvalidParameterException
from emulator.ecs.model import TaskDefinition
from emulator.ecs.task_definition_compat import is_windows
from emulator.ecs.task_definition_rules import EPHEMERAL_STORAGE_GIB, check_role
from emulator.ecs.task_definition_sizes import is_fargate_size, parse_cpu, parse_memory

# RunTask's and StartTask's models: "A total of 8192 characters are allowed for overrides. This
# limit includes the JSON formatting characters of the override structure."
MAX_OVERRIDES_CHARACTERS = 8192
CONTAINER_SIZE_KEYS = ("cpu", "memory", "memoryReservation")


def check(definition: TaskDefinition, overrides: dict, launch_type: str) -> None:
    """Refuse overrides ECS refuses (InvalidParameterException, or ClientException for a role
    or an unreadable size, as a task definition's are refused)."""
    text = json.dumps(overrides, separators=(",", ":"), ensure_ascii=False)  # characters
    if overrides and len(text) > MAX_OVERRIDES_CHARACTERS:
        # AWS's own words (seen in users' reports of this refusal)
        raise InvalidParameterException(
            f"Container Overrides length must be at most {MAX_OVERRIDES_CHARACTERS}")
    for key in ("taskRoleArn", "executionRoleArn"):
        # as a task definition's roles are; an empty one means none (the definition's holds)
        check_role(overrides.get(key) or None)
    names = {c["name"] for c in definition.spec["containerDefinitions"]}
    for override in overrides.get("containerOverrides", []):
        if override.get("name") not in names:
            raise InvalidParameterException(
                f"Override for container named {override.get('name')} is not a container in the "
                "TaskDefinition."
            )
    storage = overrides.get("ephemeralStorage")
    low, high = EPHEMERAL_STORAGE_GIB
    if storage is not None and not low <= storage.get("sizeInGiB", 0) <= high:
        raise InvalidParameterException(
            f"Invalid 'ephemeralStorage' override: sizeInGiB must be between {low} and {high}; "
            f"got {storage.get('sizeInGiB')}.")
    _check_size(definition, overrides, launch_type)


def _check_size(definition: TaskDefinition, overrides: dict, launch_type: str) -> None:
    """The task's cpu and memory after overrides: a Fargate combination on Fargate, and not
    below what its containers (after their own overrides) ask, as registration requires."""
    sized = {key: overrides.get(key) for key in ("cpu", "memory")}
    container_sized = any(key in o for o in overrides.get("containerOverrides", [])
                          for key in CONTAINER_SIZE_KEYS)
    if not any(sized.values()) and not container_sized:
        return  # nothing changes the sizes the definition's registration checked
    # an unreadable size is refused as registration refuses it (ClientException)
    cpu = _parsed(sized["cpu"] or definition.spec.get("cpu"), parse_cpu)
    memory = _parsed(sized["memory"] or definition.spec.get("memory"), parse_memory)
    if launch_type == "FARGATE" and any(sized.values()) and (
            cpu is None or memory is None or not is_fargate_size(cpu, memory,
                                                                 is_windows(definition.spec))):
        raise InvalidParameterException(
            f"No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. "
            "See the Amazon ECS documentation for the valid values.")
    containers = _sized_containers(definition, overrides)
    if memory is not None:
        for container in containers:
            if (container.get("memory") or 0) > memory:
                raise InvalidParameterException(
                    f"The 'memory' setting for container '{container['name']}' is greater than "
                    "for the task.")
        reserved = sum(c.get("memoryReservation") or c.get("memory") or 0 for c in containers)
        if reserved > memory:
            raise InvalidParameterException(
                "The sum of all container 'memoryReservation' values cannot be greater than the "
                "value of the task 'memory'.")
    if cpu is not None and sum(c.get("cpu") or 0 for c in containers) > cpu:
        raise InvalidParameterException(
            "The sum of all container 'cpu' values cannot be greater than the value of the task "
            "'cpu'.")


def _parsed(value: str | None, parse) -> int | None:
    return parse(value) if value else None


def _sized_containers(definition: TaskDefinition, overrides: dict) -> list[dict]:
    """Each container's cpu and memory settings, its override's where it gives them."""
    by_name = {o.get("name"): o for o in overrides.get("containerOverrides", [])}
    result = []
    for container in definition.spec["containerDefinitions"]:
        override = by_name.get(container["name"], {})
        sizes = {key: override.get(key, container.get(key)) for key in CONTAINER_SIZE_KEYS}
        result.append({"name": container["name"], **sizes})
    return result
