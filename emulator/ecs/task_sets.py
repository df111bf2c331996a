"""Task sets of services with the EXTERNAL deployment controller: the TaskSet record, and
CreateTaskSet, UpdateTaskSet, DeleteTaskSet, UpdateServicePrimaryTaskSet and the lookups.

A task set runs `computedDesiredCount` tasks: the service's desiredCount times its scale, rounded
up. These operations change desired state only; the scheduler's task-set part
(emulator/engine/task_set_scheduler.py) keeps each set's tasks at that count, writes its
stabilityStatus, and removes a DRAINING set once its tasks have stopped.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from emulator.ecs import arns
from emulator.ecs.errors import (
    ClientException,
    InvalidParameterException,
    TaskSetNotFoundException,
)
from emulator.ecs.model import TaskDefinition, utcnow
from emulator.ecs.service_load_balancers import check_load_balancers
from emulator.ecs.service_registries import check_registries
from emulator.ecs.service_model import Service, new_deployment_id
from emulator.ecs.services import find_active
from emulator.ecs.store import EcsStore
from emulator.ecs.tags import validate_tags
from emulator.ecs.task_launch import (
    INACTIVE,
    check_compatibility,
    check_network_configuration,
    launch_choice,
    launch_type_of,
    platform_version_for,
    resolve_task_definition,
    with_network_defaults,
)

# ECS refuses a sixth deployment (task set) on a service, with this message.
MAX_TASK_SETS = 5
NOT_EXTERNAL = ("Amazon ECS only supports task set management on services configured to use "
                "external deployment controllers.")


@dataclass
class TaskSet:
    """A task set of a service with an EXTERNAL deployment controller."""
    id: str  # "ecs-svc/<19 digits>", as deployment ids; also its tasks' startedBy
    arn: str
    service_arn: str
    cluster_arn: str
    task_definition: TaskDefinition
    launch_type: str | None
    capacity_provider_strategy: list[dict]
    platform_version: str | None
    network_configuration: dict | None
    scale: dict  # {"value": percent of the service's desiredCount, "unit": "PERCENT"}
    load_balancers: list[dict] = field(default_factory=list)
    service_registries: list[dict] = field(default_factory=list)
    external_id: str | None = None
    client_token: str | None = None
    status: str = "ACTIVE"  # PRIMARY, ACTIVE, DRAINING
    stability_status: str = "STABILIZING"  # the scheduler's to write
    stability_status_at: dt.datetime = field(default_factory=utcnow)
    tags: list[dict] = field(default_factory=list)
    created_at: dt.datetime = field(default_factory=utcnow)
    updated_at: dt.datetime = field(default_factory=utcnow)

    @property
    def platform_family(self) -> str | None:
        return "Linux" if self.platform_version else None


def computed_desired_count(service: Service, task_set: TaskSet) -> int:
    """desiredCount x scale, rounded up (1.2 tasks are 2); a DRAINING set keeps none."""
    if task_set.status == "DRAINING":
        return 0
    # Rounded first so that a product such as 2.0000000000000004 does not become 3.
    return math.ceil(round(service.desired_count * task_set.scale["value"] / 100, 9))


# -- operations ---------------------------------------------------------------------------------


def create(store: EcsStore, request) -> TaskSet:
    """CreateTaskSet, its request as named values (load balancers, registries and tags kept in
    wire form: DescribeTaskSets echoes them)."""
    service = external_service(store, request.cluster, request.service)
    token = request.client_token
    if token:
        earlier = next((s for s in service.task_sets if s.client_token == token), None)
        if earlier is not None:
            return earlier
    current = [s for s in service.task_sets if s.status != "DRAINING"]
    if len(current) >= MAX_TASK_SETS:
        raise InvalidParameterException(
            f"{len(current)} deployments exist on the service. Unable to create new TaskSet "
            "since this exceeds the maximum limit.")
    definition = resolve_task_definition(store, request.task_definition)
    if definition.status != "ACTIVE":
        raise ClientException(INACTIVE)
    cluster = store.cluster(request.cluster)
    launch_type, strategy = launch_choice(store, cluster, request.launch_type,
                                           request.capacity_provider_strategy)
    effective = launch_type_of(store, launch_type, strategy)
    check_compatibility(definition, effective)
    network = with_network_defaults(check_network_configuration(
        request.network_configuration, definition.spec.get("networkMode", "bridge")))
    check_load_balancers(store, definition, request.load_balancers or [])
    check_registries(store, request.service_registries, definition)
    validate_tags(request.tags or [])
    set_id = new_deployment_id()
    task_set = TaskSet(
        id=set_id,
        arn=arns.task_set(store, cluster.name, service.name, set_id),
        service_arn=service.arn,
        cluster_arn=cluster.arn,
        task_definition=definition,
        launch_type=launch_type,
        capacity_provider_strategy=strategy,
        platform_version=platform_version_for(request.platform_version, effective),
        network_configuration=network,
        scale=checked_scale(request.scale or {"value": 100.0, "unit": "PERCENT"}),
        load_balancers=list(request.load_balancers or []),
        service_registries=list(request.service_registries or []),
        external_id=request.external_id,
        client_token=token,
        tags=list(request.tags or []),
    )
    service.task_sets.append(task_set)
    service.steady_reported = False
    store.changed()
    return task_set


def update(store: EcsStore, cluster_ref: str, service_ref: str, ref: str,
           scale: dict) -> TaskSet:
    """UpdateTaskSet: only the scale changes."""
    service = external_service(store, cluster_ref, service_ref)
    task_set = find(store, service, ref)
    if task_set.status == "DRAINING":
        raise InvalidParameterException("The task set is being deleted and cannot be updated.")
    task_set.scale = checked_scale(scale)
    task_set.updated_at = utcnow()
    service.steady_reported = False
    store.changed()
    return task_set


def delete(store: EcsStore, cluster_ref: str, service_ref: str, ref: str,
           force: bool) -> TaskSet:
    """DeleteTaskSet: the set turns DRAINING; its tasks stop, then it is gone. Without `force`,
    only a set scaled to 0 that is not the primary one can be deleted."""
    service = external_service(store, cluster_ref, service_ref)
    task_set = find(store, service, ref)
    if task_set.status == "DRAINING":
        return task_set
    if not force:
        if task_set.status == "PRIMARY":
            raise InvalidParameterException(
                "The primary task set of a service cannot be deleted unless force is set.")
        if task_set.scale["value"] > 0:
            raise InvalidParameterException(
                "The task set cannot be deleted until it is scaled down to 0, unless force is set.")
    task_set.status = "DRAINING"
    task_set.updated_at = utcnow()
    service.steady_reported = False
    store.changed()
    return task_set


def make_primary(store: EcsStore, cluster_ref: str, service_ref: str, ref: str) -> TaskSet:
    """UpdateServicePrimaryTaskSet: the service takes on the set's configuration, as
    DescribeServices shows it; the previous primary set becomes ACTIVE."""
    service = external_service(store, cluster_ref, service_ref)
    task_set = find(store, service, ref)
    if task_set.status == "DRAINING":
        raise InvalidParameterException(
            "The task set is being deleted and cannot become the primary task set.")
    now = utcnow()
    for other in service.task_sets:
        if other.status == "PRIMARY" and other is not task_set:
            other.status, other.updated_at = "ACTIVE", now
    task_set.status, task_set.updated_at = "PRIMARY", now
    service.task_definition = task_set.task_definition
    service.launch_type = task_set.launch_type
    service.capacity_provider_strategy = task_set.capacity_provider_strategy
    service.platform_version = task_set.platform_version
    service.network_configuration = task_set.network_configuration
    service.load_balancers = task_set.load_balancers
    service.service_registries = task_set.service_registries
    store.changed()
    return task_set


# -- lookups ------------------------------------------------------------------------------------


def external_service(store: EcsStore, cluster_ref: str, service_ref: str) -> Service:
    service = find_active(store, cluster_ref, service_ref)
    if service.deployment_controller.get("type") != "EXTERNAL":
        raise InvalidParameterException(NOT_EXTERNAL)
    return service


def find(store: EcsStore, service: Service, ref: str) -> TaskSet:
    task_set = lookup(store, service, ref)
    if task_set is None:
        raise TaskSetNotFoundException("The specified task set does not exist.")
    return task_set


def lookup(store: EcsStore, service: Service, ref: str) -> TaskSet | None:
    """A set by its ARN, its id ("ecs-svc/123...") or the id's digits."""
    resource = arns.resource_in(store, ref, "task-set")
    if resource is None:
        return None  # another account's ARN, or no task set's (another region's is refused)
    arns.refuse_extra_parts(ref, resource, slashes=3)  # task-set/<cluster>/<service>/ecs-svc/<n>
    for task_set in service.task_sets:
        if ref in (task_set.arn, task_set.id, task_set.id.rsplit("/", 1)[-1]):
            return task_set
    return None


def checked_scale(scale: dict) -> dict:
    value, unit = scale.get("value"), scale.get("unit", "PERCENT")
    # `not 0 <= value` also refuses NaN, which compares false with everything.
    if value is None or not 0 <= value <= 100:
        raise InvalidParameterException("The scale value must be a number between 0 and 100.")
    if unit != "PERCENT":
        raise InvalidParameterException("The scale unit must be PERCENT.")
    return {"value": float(value), "unit": unit}


# -- what CreateTaskSet runs on -----------------------------------------------------------------


def find_by_arn(store: EcsStore, parsed):
    cluster_name, service_name, *_ = parsed.resource.split("/") + ["", ""]
    service = store.services.get((cluster_name, service_name))
    if service is None or service.status == "INACTIVE":
        return None
    return next((s for s in service.task_sets if s.arn == str(parsed)), None)
