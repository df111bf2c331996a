"""RegisterTaskDefinition's validation: the task definition document (the request's members but
tags, in wire form) is checked as ECS checks it and turned into the document ECS stores (defaults
filled, cpu and memory normalized).

Container rules live in task_definition_containers, ports and links in task_definition_ports,
launch type rules in task_definition_compat; this module holds the task-level rules and the
ones that tie containers together (names, resources, dependencies, volumes, proxy, FireLens).
"""

from __future__ import annotations

import copy
import re

from emulator.ecs import task_definition_containers as containers_rules
from emulator.ecs import task_definition_ports as ports
from emulator.ecs.errors import ClientException
from emulator.ecs.task_definition_compat import is_windows
from emulator.ecs.task_definition_containers import NAME
from emulator.ecs.task_definition_sizes import parse_cpu, parse_memory

MAX_CONTAINERS = 10
MAX_PLACEMENT_CONSTRAINTS = 10
EPHEMERAL_STORAGE_GIB = (21, 200)
# IAM's rules for a role's name and its ARN (with an optional path).
ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$", re.ASCII)
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/([\w+=,.@-]+/)*[\w+=,.@-]{1,64}$",
                      re.ASCII)
VOLUME_KINDS = ("host", "dockerVolumeConfiguration", "efsVolumeConfiguration",
                "fsxWindowsFileServerVolumeConfiguration", "s3filesVolumeConfiguration")


def normalize(document: dict) -> dict:
    """Check a task definition document (RegisterTaskDefinition's members but tags, in wire
    form) as ECS checks it; return it as ECS stores it (a copy: `document` is left as it is)."""
    spec = copy.deepcopy(document)
    check_family(spec.get("family", ""))
    containers = _checked_containers(spec)
    _normalize_sizes(spec)
    mode = spec.get("networkMode", "bridge")
    ports.normalize_port_mappings(containers, mode)
    ports.check_links(containers, mode)
    _check_resources(spec, containers)
    if not any(c["essential"] for c in containers):
        raise ClientException("Task definition doesn't have any essential container.")
    volume_names = _checked_volumes(spec)
    names = {c["name"] for c in containers}
    # A Windows container's paths are C:\...; one that names no operating system may be an
    # EC2 Windows one (its mount points only: Windows has no tmpfs nor devices).
    unnamed_system = "operatingSystemFamily" not in (spec.get("runtimePlatform") or {})
    for container in containers:
        containers_rules.check_settings(container, volume_names, names)
        if not is_windows(spec):
            containers_rules.check_container_paths(container, windows_paths=unnamed_system)
    _check_dependencies(containers)
    _check_secrets_need_role(spec, containers)
    _check_firelens(containers)
    _check_task_settings(spec, names)
    spec.setdefault("volumes", [])
    spec.setdefault("placementConstraints", [])
    return spec


def check_family(family: str) -> None:
    if not family:
        raise ClientException("Family can not be blank.")
    if not NAME.match(family):
        raise ClientException(
            "Family contains invalid characters. Up to 255 letters (uppercase and lowercase), "
            "numbers, hyphens, and underscores are allowed."
        )


def _checked_containers(spec: dict) -> list[dict]:
    containers = spec.get("containerDefinitions") or []
    if not containers:
        raise ClientException("Container list cannot be empty.")
    if len(containers) > MAX_CONTAINERS:
        raise ClientException(
            f"Too many containers. A task definition can have at most {MAX_CONTAINERS}."
        )
    seen = set()
    for container in containers:
        containers_rules.check_identity(container)
        if container["name"] in seen:
            raise ClientException("Container names must be unique within a Task Definition.")
        seen.add(container["name"])
        containers_rules.fill_defaults(container)
    return containers


def _normalize_sizes(spec: dict) -> None:
    if spec.get("cpu") is not None:
        spec["cpu"] = str(parse_cpu(spec["cpu"]))
    if spec.get("memory") is not None:
        spec["memory"] = str(parse_memory(spec["memory"]))


def _check_resources(spec: dict, containers: list[dict]) -> None:
    task_memory = int(spec["memory"]) if spec.get("memory") else None
    task_cpu = int(spec["cpu"]) if spec.get("cpu") else None
    reserved = sum(containers_rules.check_memory(c, task_memory) for c in containers)
    if task_memory is not None and reserved > task_memory:
        raise ClientException(
            "The sum of all container 'memoryReservation' values cannot be greater than the "
            "value of the task 'memory'."
        )
    cpu = sum(containers_rules.check_cpu(c) for c in containers)
    if task_cpu is not None and cpu > task_cpu:
        raise ClientException(
            "The sum of all container 'cpu' values cannot be greater than the value of the task "
            "'cpu'."
        )


def _checked_volumes(spec: dict) -> set[str]:
    names: set[str] = set()
    for volume in spec.get("volumes", []):
        name = volume.get("name")
        if not name:
            raise ClientException("Volume.name should not be null or empty.")
        if not NAME.match(name):
            raise ClientException(
                f"Volume.name '{name}' contains invalid characters. Up to 255 letters, numbers, "
                "hyphens, and underscores are allowed."
            )
        if name in names:
            raise ClientException(f"Volume names must be unique; '{name}' appears twice.")
        names.add(name)
        kinds = [kind for kind in VOLUME_KINDS if kind in volume]
        if len(kinds) > 1:
            raise ClientException(
                f"Volume '{name}' can have only one of {', '.join(VOLUME_KINDS)}; it has "
                f"{' and '.join(kinds)}."
            )
        _check_docker_volume(name, volume.get("dockerVolumeConfiguration"))
        _check_efs_volume(name, volume.get("efsVolumeConfiguration"))
    return names


def _check_docker_volume(name: str, docker: dict | None) -> None:
    if docker is not None and docker.get("autoprovision") and docker.get("scope") != "shared":
        raise ClientException(
            f"Volume '{name}': autoprovision can only be set when the scope is 'shared'."
        )


def _check_efs_volume(name: str, efs: dict | None) -> None:
    if efs is None:
        return
    auth = efs.get("authorizationConfig") or {}
    encrypted = efs.get("transitEncryption") == "ENABLED"
    if (auth.get("iam") == "ENABLED" or auth.get("accessPointId")) and not encrypted:
        raise ClientException(
            f"Volume '{name}': transitEncryption must be ENABLED when IAM authorization or an "
            "access point is used."
        )
    if auth.get("accessPointId") and efs.get("rootDirectory") not in (None, "/"):
        raise ClientException(
            f"Volume '{name}': with an access point, the rootDirectory must be omitted or '/'."
        )
    if efs.get("transitEncryptionPort") is not None and not encrypted:
        raise ClientException(
            f"Volume '{name}': transitEncryptionPort needs transitEncryption ENABLED."
        )
    efs.setdefault("rootDirectory", "/")


def _check_dependencies(containers: list[dict]) -> None:
    by_name = {c["name"]: c for c in containers}
    for container in containers:
        for dependency in container.get("dependsOn", []):
            target = by_name.get(dependency["containerName"])
            if target is container:
                raise ClientException(f"Container '{container['name']}' cannot depend on itself.")
            if target is None:
                raise ClientException(
                    f"Cannot depend on container '{dependency['containerName']}' because it "
                    "does not exist."
                )
            condition = dependency["condition"]
            if condition in ("SUCCESS", "COMPLETE") and target["essential"]:
                raise ClientException(
                    "A dependency container with SUCCESS or COMPLETE condition cannot be an "
                    "essential container"
                )
            if condition == "HEALTHY" and not target.get("healthCheck"):
                raise ClientException(
                    f"Container '{container['name']}' depends on container '{target['name']}' "
                    "with the HEALTHY condition, but that container has no healthCheck."
                )
    _check_no_cycle(containers)


def _start_order_edges(container: dict) -> list[str]:
    """The containers that must start before this one: dependsOn, links and volumesFrom."""
    edges = [d["containerName"] for d in container.get("dependsOn", [])]
    edges += [link.split(":", 1)[0] for link in container.get("links", [])]
    edges += [v["sourceContainer"] for v in container.get("volumesFrom", [])]
    return edges


def _check_no_cycle(containers: list[dict]) -> None:
    edges = {c["name"]: _start_order_edges(c) for c in containers}
    state: dict[str, str] = {}  # name -> "visiting" | "done"

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = path[path.index(name):] + [name]
            raise ClientException(
                "Container dependencies (dependsOn, links, volumesFrom) form a cycle: "
                + " -> ".join(cycle) + "."
            )
        state[name] = "visiting"
        for other in edges.get(name, []):
            visit(other, path + [name])
        state[name] = "done"

    for name in edges:
        visit(name, [])


def _check_secrets_need_role(spec: dict, containers: list[dict]) -> None:
    for container in containers:
        log = container.get("logConfiguration") or {}
        if (container.get("secrets") or log.get("secretOptions")) and not spec.get(
            "executionRoleArn"
        ):
            raise ClientException(
                "When you are specifying container secrets, you must also specify a value for "
                "'executionRoleArn'."
            )


def _check_firelens(containers: list[dict]) -> None:
    routers = [c["name"] for c in containers if c.get("firelensConfiguration")]
    if len(routers) > 1:
        raise ClientException(
            "Only one container of a task definition can have a firelensConfiguration; "
            f"found {', '.join(routers)}."
        )
    for container in containers:
        driver = (container.get("logConfiguration") or {}).get("logDriver")
        if driver == "awsfirelens" and not routers:
            raise ClientException(
                f"Container '{container['name']}' uses the awsfirelens log driver, but no "
                "container of the task definition has a firelensConfiguration."
            )


def check_role(role: str | None) -> None:
    """A role handed to ECS (a task definition's, RunTask's and StartTask's overrides): ECS
    takes a role's name (it makes the ARN in the caller's account) or its ARN."""
    if role is not None and not (ROLE_NAME.match(role) or ROLE_ARN.match(role)):
        raise ClientException("Role is not valid")


def _check_task_settings(spec: dict, names: set[str]) -> None:
    for key in ("taskRoleArn", "executionRoleArn"):
        check_role(spec.get(key))
    proxy = spec.get("proxyConfiguration")
    if proxy is not None:
        if proxy["containerName"] not in names:
            raise ClientException(
                f"The proxyConfiguration names container '{proxy['containerName']}', which is "
                "not a container of the task definition."
            )
        proxy.setdefault("type", "APPMESH")
    constraints = spec.get("placementConstraints", [])
    if len(constraints) > MAX_PLACEMENT_CONSTRAINTS:
        raise ClientException(
            f"A task definition can have at most {MAX_PLACEMENT_CONSTRAINTS} placement constraints."
        )
    for constraint in constraints:
        if constraint.get("type") != "memberOf" or not constraint.get("expression"):
            raise ClientException(
                "Task definition placement constraints must be of type memberOf and have an "
                "expression."
            )
    storage = spec.get("ephemeralStorage")
    low, high = EPHEMERAL_STORAGE_GIB
    if storage is not None and not low <= storage["sizeInGiB"] <= high:
        raise ClientException(
            f"Invalid 'ephemeralStorage' setting: sizeInGiB must be between {low} and {high}; "
            f"got {storage['sizeInGiB']}."
        )
    devices = [a["deviceName"] for a in spec.get("inferenceAccelerators", [])]
    if len(set(devices)) != len(devices):
        raise ClientException("Inference accelerator device names must be unique.")
