"""Check a launch request (ecs/launch_request.py) as ECS checks it, and build its Task records.

The checks here are about the launch (launch type, network configuration, platform, overrides);
the definition itself was checked when it was registered. The task door (ecs/task_door.py) is
the only caller of build_tasks: it places and admits what is built here.
"""

from __future__ import annotations

import uuid

from emulator.ecs import arns, capacity_providers, launch_overrides, task_definitions
from emulator.ecs.errors import (
    ClientException,
    InvalidParameterException,
    PlatformUnknownException,
)
from emulator.ecs.launch_request import LaunchRequest, Origin
from emulator.ecs.model import Cluster, TaskDefinition
from emulator.ecs.store import EcsStore
from emulator.ecs.tags import validate_tags
from emulator.ecs.task_definition_sizes import parse_cpu, parse_memory
from emulator.ecs.task_model import Task, TaskContainer

FARGATE_PLATFORM_VERSIONS = {"LATEST": "1.4.0", "1.4.0": "1.4.0", "1.3.0": "1.3.0"}
MAX_TASKS_PER_CALL = 10
MAX_SUBNETS = 16  # AwsVpcConfiguration's documented limit


# What ECS answers a launch (RunTask, StartTask, CreateService, UpdateService, CreateTaskSet)
# that names no task definition it knows; DescribeTaskDefinition says "Unable to describe task
# definition." instead (GitHub: Cloud-CV/EvalAI#2419, remind101/empire#353 quote AWS's answer).
LAUNCH_NOT_FOUND = "TaskDefinition not found."
# What ECS answers a launch of a deregistered (INACTIVE) revision, without a full stop: RunTask
# and StartTask as InvalidParameterException (GitHub: DefangLabs/defang#775 quotes RunTask's),
# CreateService, UpdateService and CreateTaskSet as ClientException (the AWS CLI's
# "(ClientException) when calling the UpdateService operation: TaskDefinition is inactive").
INACTIVE = "TaskDefinition is inactive"


def resolve_task_definition(store: EcsStore, ref: str, *, for_service: bool = False) -> TaskDefinition:
    """The definition a launch names; one being deleted cannot run. A daemon's scheduler (and
    only it) launches daemon task definitions."""
    parsed = arns.parse(ref)
    if for_service and parsed is not None and parsed.resource_type == "daemon-task-definition":
        from emulator.ecs import daemon_task_definitions

        definition = daemon_task_definitions.resolve(store, ref)
        if definition is None:
            raise ClientException(daemon_task_definitions.NOT_FOUND)
        return definition
    definition = task_definitions.resolve(store, ref)
    if definition is None:
        raise ClientException(LAUNCH_NOT_FOUND)
    if definition.status == "DELETE_IN_PROGRESS":
        raise ClientException(task_definitions.NOT_FOUND)
    return definition


def build_tasks(store: EcsStore, request: LaunchRequest, cluster: Cluster) -> list[Task]:
    """The tasks of one launch. A service may still scale an INACTIVE revision, as on ECS."""
    for_service = request.origin.by_scheduler
    definition = resolve_task_definition(store, request.task_definition, for_service=for_service)
    if definition.status != "ACTIVE" and not for_service:
        raise InvalidParameterException(INACTIVE)
    if not for_service and not 1 <= request.count <= MAX_TASKS_PER_CALL:
        raise InvalidParameterException("Count must be between 1 and 10.")
    launch_type, strategy = _launch_type(store, request, cluster)
    check_compatibility(definition, launch_type)
    network_mode = definition.spec.get("networkMode", "bridge")
    network_configuration = check_network_configuration(request.network_configuration, network_mode)
    platform_version = _platform_version(request, launch_type)
    overrides = request.overrides
    launch_overrides.check(definition, overrides, launch_type)
    if not for_service:  # a scheduler's launch brings the service's stored tags, not new ones
        validate_tags(list(request.tags))
        if request.propagate_tags == "SERVICE" and request.origin is Origin.RUN_TASK:
            # RunTask's model: "An error will be received if you specify the SERVICE option
            # when running a task." (StartTask's says no such thing.)
            raise InvalidParameterException(
                "The SERVICE option of propagateTags is only valid for a service's tasks.")
    tasks, counts = [], dict(request.provider_counts)
    for _ in range(request.count):
        provider = capacity_providers.next_provider(strategy, counts) if strategy else None
        counts[provider] = counts.get(provider, 0) + 1
        tasks.append(_task(store, request, cluster, definition, launch_type, provider,
                           network_mode, network_configuration, platform_version, overrides))
    return tasks


def _task(store, request: LaunchRequest, cluster, definition, launch_type, provider, network_mode,
          network_configuration, platform_version, overrides) -> Task:
    task_id = uuid.uuid4().hex
    arn = arns.task(store, cluster.name, task_id)
    container_overrides = {o["name"]: o for o in overrides.get("containerOverrides", [])}
    containers = [
        TaskContainer(
            name=c["name"],
            arn=arns.build(store, "container", f"{cluster.name}/{task_id}/{uuid.uuid4()}"),
            definition=_with_override(c, container_overrides.get(c["name"])),
        )
        for c in definition.spec["containerDefinitions"]
    ]
    return Task(
        arn=arn,
        id=task_id,
        cluster_name=cluster.name,
        cluster_arn=cluster.arn,
        definition=definition,
        launch_type=launch_type,
        capacity_provider=provider,
        containers=containers,
        overrides=overrides,
        cpu=_size(overrides.get("cpu"), parse_cpu) or definition.spec.get("cpu"),
        memory=_size(overrides.get("memory"), parse_memory) or definition.spec.get("memory"),
        network_mode=network_mode,
        network_configuration=network_configuration,
        platform_version=platform_version,
        platform_family="Linux" if launch_type == "FARGATE" else None,
        group=request.group or f"family:{definition.family}",
        started_by=request.started_by,
        tags=_tags(request, definition, cluster.name),
        enable_execute_command=request.enable_execute_command,
        availability_zone=f"{store.region}a",
        ephemeral_storage=(overrides.get("ephemeralStorage")
                           or definition.spec.get("ephemeralStorage")
                           or ({"sizeInGiB": 20} if launch_type == "FARGATE" else None)),
        attachments=[_precreated_eni(network_configuration)] if network_mode == "awsvpc" else [],
    )


def _precreated_eni(network_configuration: dict) -> dict:
    """An awsvpc task's ENI as RunTask shows it, before it is made (the runner fills it in):
    AWS's PRECREATED attachment, which names only its subnet."""
    subnets = network_configuration["awsvpcConfiguration"]["subnets"]
    return {"id": str(uuid.uuid4()), "type": "ElasticNetworkInterface", "status": "PRECREATED",
            "details": [{"name": "subnetId", "value": subnets[0]}]}


def _launch_type(store: EcsStore, request: LaunchRequest, cluster: Cluster) -> tuple[str, list[dict]]:
    """A launch's launch type, and the capacity provider strategy its tasks are spread by."""
    launch_type, strategy = launch_choice(store, cluster, request.launch_type,
                                          request.capacity_provider_strategy)
    return launch_type_of(store, launch_type, strategy), strategy


def launch_choice(store: EcsStore, cluster: Cluster, launch_type: str | None,
                  strategy) -> tuple[str | None, list[dict]]:
    """A service's or task set's (launch type, capacity provider strategy): the request's, else
    the cluster's default strategy, else the EC2 launch type."""
    if launch_type and strategy:
        raise InvalidParameterException(
            "Specifying both a launch type and capacity provider strategy is not supported.")
    if strategy:
        check_strategy(store, cluster, strategy)
        return None, list(strategy)
    if not launch_type and cluster.default_strategy:
        return None, list(cluster.default_strategy)
    return launch_type or "EC2", []


def check_strategy(store: EcsStore, cluster: Cluster, strategy: list[dict]) -> None:
    """A strategy a request names: valid, and of providers the cluster has (a cluster's
    default strategy is of its providers already)."""
    capacity_providers.validate_strategy(
        strategy, allowed=capacity_providers.associated(store, cluster))


def launch_type_of(store: EcsStore, launch_type: str | None, strategy: list[dict]) -> str:
    """The launch type a launch's tasks get: the one named, else the strategy's (FARGATE for
    Fargate's providers, EC2 for Auto Scaling groups'), else EC2. Checks the strategy."""
    if launch_type or not strategy:
        return launch_type or "EC2"
    capacity_providers.validate_strategy(strategy)
    providers = [capacity_providers.get(store, item["capacityProvider"]) for item in strategy]
    for item, provider in zip(strategy, providers):
        if provider is None:
            raise InvalidParameterException(
                f"The capacity provider {item['capacityProvider']} does not exist.")
    return "FARGATE" if providers[0].built_in else "EC2"


def platform_version_for(requested: str | None, launch_type: str) -> str | None:
    """A launch's platform version: only Fargate has one; an unknown one is refused."""
    if launch_type != "FARGATE":
        if requested:
            raise InvalidParameterException(
                "The platform version must be null when specifying an EC2 launch type.")
        return None
    if (requested or "LATEST") not in FARGATE_PLATFORM_VERSIONS:
        raise PlatformUnknownException(f"The specified platform version {requested} does not exist.")
    return requested or "LATEST"


def check_compatibility(definition: TaskDefinition, launch_type: str) -> None:
    if launch_type == "FARGATE" and "FARGATE" not in definition.compatibilities:
        raise InvalidParameterException(
            "Task definition does not support launch_type FARGATE."
        )
    if launch_type == "EXTERNAL" and definition.spec.get("networkMode") == "awsvpc":
        raise InvalidParameterException(
            "Tasks with the EXTERNAL launch type cannot use the awsvpc network mode."
        )


def check_network_configuration(config: dict | None, network_mode: str) -> dict | None:
    if network_mode == "awsvpc":
        vpc = (config or {}).get("awsvpcConfiguration")
        if not vpc:
            raise InvalidParameterException(
                "Network Configuration must be provided when networkMode 'awsvpc' is specified."
            )
        if not vpc.get("subnets"):
            raise InvalidParameterException("subnets can not be empty.")
        if len(vpc.get("securityGroups", [])) > 5:
            raise InvalidParameterException("At most 5 security groups are allowed.")
        if len(vpc["subnets"]) > MAX_SUBNETS:
            raise InvalidParameterException(f"At most {MAX_SUBNETS} subnets are allowed.")
        return config
    if config:
        raise InvalidParameterException(
            "Network Configuration is not valid for the given networkMode of this task definition."
        )
    return None


def with_network_defaults(config: dict | None) -> dict | None:
    """A service's network configuration as ECS keeps it: assignPublicIp DISABLED unless
    given."""
    vpc = (config or {}).get("awsvpcConfiguration")
    if vpc is None or "assignPublicIp" in vpc:
        return config
    return {**config, "awsvpcConfiguration": {**vpc, "assignPublicIp": "DISABLED"}}


def _platform_version(request: LaunchRequest, launch_type: str) -> str | None:
    """What a task shows: LATEST resolved to the version it stands for."""
    return resolved_platform_version(platform_version_for(request.platform_version, launch_type))


def resolved_platform_version(version: str | None) -> str | None:
    """LATEST as the version it stands for (what tasks and deployments show; a service keeps
    the version asked for)."""
    return FARGATE_PLATFORM_VERSIONS[version] if version else None


def _with_override(container: dict, override: dict | None) -> dict:
    if not override:
        return dict(container)
    merged = dict(container)
    for key in ("command", "cpu", "memory", "memoryReservation", "environmentFiles",
                "resourceRequirements"):
        if key in override:
            merged[key] = override[key]
    if "environment" in override:
        values = {e["name"]: e.get("value") for e in container.get("environment", [])}
        values.update({e["name"]: e.get("value") for e in override["environment"]})
        merged["environment"] = [{"name": k, "value": v} for k, v in values.items()]
    return merged


def _tags(request: LaunchRequest, definition: TaskDefinition, cluster_name: str) -> list[dict]:
    tags = list(request.tags)
    if request.propagate_tags == "TASK_DEFINITION":
        present = {t["key"] for t in tags}
        tags += [t for t in definition.tags if t["key"] not in present]
    if request.enable_ecs_managed_tags:
        # The developer guide's managed tags: every task is tagged with its cluster's name and
        # a service's task with the service's too (not the service itself).
        tags.append({"key": "aws:ecs:clusterName", "value": cluster_name})
        if request.service_name:
            tags.append({"key": "aws:ecs:serviceName", "value": request.service_name})
    return tags


def _size(value: str | None, parse) -> str | None:
    """An override's task cpu or memory in the units ECS stores ("1 vCPU" -> "1024"), as a task
    definition's are, so the runtime's limits and DescribeTasks read one form."""
    return str(parse(value)) if value else None
