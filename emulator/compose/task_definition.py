"""A compose project and its ecs-params -> the RegisterTaskDefinition request the ECS CLI sends.

The family is the project name. Container fields from ecs-params win over the compose file's
(the ECS CLI logs "Using ecs-params value as override"). A container with no memory limit and no
reservation, in a task with no task-level memory, gets 512 MiB. FARGATE requires awsvpc.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from emulator.compose import ecs_params as params_of
from emulator.compose.containers import DEFAULT_MEMORY_MIB, container_definition
from emulator.compose.files import ComposeError, ComposeProject
from emulator.compose.volumes import VolumeNames


@dataclass
class _Context:
    directory: Path
    environ: dict
    volumes: VolumeNames


@dataclass
class Conversion:
    request: dict  # RegisterTaskDefinition's parameters
    warnings: list[str] = field(default_factory=list)


def task_definition(project: ComposeProject, ecs_params: dict, family: str, *,
                    launch_type: str | None = None, task_role_arn: str | None = None,
                    environ: dict | None = None) -> Conversion:
    if not project.services:
        raise ComposeError("cannot create a task definition with no containers; invalid "
                           "service config")
    context = _Context(project.directory, dict(os.environ if environ is None else environ),
                       VolumeNames(project.volumes, project.directory))
    task = params_of.task_fields(ecs_params)
    essentials = params_of.essential_names(ecs_params)
    if essentials and sum(1 for n in project.services if essentials.get(n, True)) == 0:
        raise ComposeError("Task definition does not have any essential containers")
    containers, warnings = [], []
    for name, service in project.services.items():
        container, skipped = container_definition(name, service, context)
        warnings += skipped
        warnings += _apply_overrides(container, params_of.container_overrides(ecs_params, name))
        _check_memory(container, task.get("memory"))
        containers.append(container)
    request = {"family": family, "containerDefinitions": containers, **task}
    volumes = context.volumes.task_volumes(params_of.docker_volumes(ecs_params),
                                           params_of.efs_volumes(ecs_params))
    if volumes:
        request["volumes"] = volumes
    if task_role_arn:  # the --task-role-arn flag wins over ecs-params
        request["taskRoleArn"] = task_role_arn
    if launch_type:
        _check_launch_type(launch_type, request)
        request["requiresCompatibilities"] = [launch_type]
    return Conversion(request=request, warnings=warnings)


def _apply_overrides(container: dict, overrides: dict) -> list[str]:
    notes = []
    for key, value in overrides.items():
        old = container.get(key)
        if key in ("cpu", "memory", "memoryReservation") and old not in (None, value):
            notes.append(f"Using ecs-params value as override (was {old} but is now {value}) "
                         f"option name={key} service name={container['name']}")
        if key == "linuxParameters":
            value = {**container.get("linuxParameters", {}), **value}
        container[key] = value
    return notes


def _check_memory(container: dict, task_memory) -> None:
    memory, reservation = container.get("memory"), container.get("memoryReservation")
    if not memory and not reservation and not task_memory:
        container["memory"] = DEFAULT_MEMORY_MIB
    if memory and reservation and memory < reservation:
        raise ComposeError("mem_limit must be greater than mem_reservation")


def _check_launch_type(launch_type: str, request: dict) -> None:
    if launch_type not in ("EC2", "FARGATE", "EXTERNAL"):
        raise ComposeError(f"Supported launch types are EC2, FARGATE; got {launch_type}")
    if launch_type == "FARGATE" and request.get("networkMode") != "awsvpc":
        raise ComposeError("Launch Type FARGATE requires network mode to be 'awsvpc'. Set "
                           "network mode using ECS Params.")
