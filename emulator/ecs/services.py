"""Service operations: create, update, delete, and the lookups the handlers share.

They change desired state only; the scheduler (emulator/engine/scheduler.py) turns it into tasks.
"""

from __future__ import annotations

import re

from api_shapes.requests import given
from emulator.ecs import arns, circuit_breaker, service_connect
from emulator.ecs.errors import (
    ClientException,
    InvalidParameterException,
    ServiceNotActiveException,
    ServiceNotFoundException,
)
from emulator.ecs.service_load_balancers import check_load_balancers
from emulator.ecs.service_registries import check_registries
from emulator.ecs.service_model import Deployment, Service, new_deployment_id
from emulator.ecs.store import EcsStore
from emulator.ecs.tags import validate_tags
from emulator.ecs.task_launch import (
    INACTIVE,
    check_compatibility,
    check_network_configuration,
    check_strategy,
    launch_choice,
    launch_type_of,
    platform_version_for,
    resolve_task_definition,
    resolved_platform_version,
    with_network_defaults,
)

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,255}$")
DEFAULT_DEPLOYMENT = {
    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
}


def create(store: EcsStore, request, created_by: str) -> Service:
    """CreateService, its request as named values. Lists and structures (load balancers,
    network configuration, tags...) are kept in wire form: DescribeServices echoes them."""
    cluster = store.cluster(request.cluster)
    name = request.service_name
    if not _NAME.match(name):
        raise InvalidParameterException(
            "Service name must be 1-255 letters, numbers, hyphens and underscores.")
    existing = store.services.get((cluster.name, name))
    if existing is not None and existing.status == "DRAINING":
        # ECS's own words, which callers retry on until the old service is INACTIVE
        raise InvalidParameterException("Unable to Start a service that is still Draining.")
    if existing is not None and existing.status != "INACTIVE":
        raise InvalidParameterException("Creation of service was not idempotent.")
    controller = request.deployment_controller or {"type": "ECS"}
    if controller["type"] == "CODE_DEPLOY":
        raise InvalidParameterException(
            "The CODE_DEPLOY deployment controller is not emulated; use ECS or EXTERNAL.")
    strategy = request.scheduling_strategy or "REPLICA"
    if controller["type"] == "EXTERNAL" and strategy == "DAEMON":
        raise InvalidParameterException(
            "The DAEMON scheduling strategy is not supported with the EXTERNAL deployment controller.")
    if controller["type"] == "EXTERNAL":
        _check_external_create(request)
    definition = None
    if request.task_definition is not None:
        definition = resolve_task_definition(store, request.task_definition)
        if definition.status != "ACTIVE":  # as UpdateService refuses it
            raise ClientException(INACTIVE)
    elif controller["type"] != "EXTERNAL":
        raise InvalidParameterException("TaskDefinition must be specified.")
    desired = _desired_count(request.desired_count, strategy)
    if strategy == "DAEMON":
        _check_daemon_placement(request.placement_strategy)
    launch_type, provider_strategy = launch_choice(store, cluster, request.launch_type,
                                                   request.capacity_provider_strategy)
    if strategy == "DAEMON" and provider_strategy:
        # also the cluster's default strategy: a daemon names launchType EC2 to go around it
        # (aws/containers-roadmap#692)
        raise InvalidParameterException(
            "Specifying a capacity provider strategy is not supported when you create a service "
            "using the DAEMON scheduling strategy.")
    effective = launch_type_of(store, launch_type, provider_strategy)
    if strategy == "DAEMON" and effective == "FARGATE":
        raise InvalidParameterException(
            "The daemon scheduling strategy is not supported with the FARGATE launch type.")
    if definition is not None:
        check_compatibility(definition, effective)
        check_network_configuration(request.network_configuration,
                                    definition.spec.get("networkMode", "bridge"))
        check_load_balancers(store, definition, request.load_balancers or [])
    service_connect.check(store, request.service_connect_configuration, definition, cluster)
    deployment_configuration = _deployment_configuration(request.deployment_configuration,
                                                         strategy)
    circuit_breaker.check_load_balancers(deployment_configuration.get("deploymentCircuitBreaker"),
                                         request.load_balancers or [])
    check_registries(store, request.service_registries, definition)
    validate_tags(request.tags or [])
    service = Service(
        name=name,
        arn=arns.service(store, cluster.name, name),
        cluster_name=cluster.name,
        cluster_arn=cluster.arn,
        desired_count=desired,
        task_definition=definition,
        launch_type=launch_type,
        capacity_provider_strategy=provider_strategy,
        platform_version=platform_version_for(request.platform_version, effective),
        network_configuration=with_network_defaults(request.network_configuration),
        deployment_configuration=deployment_configuration,
        deployment_controller=controller,
        scheduling_strategy=strategy,
        load_balancers=request.load_balancers or [],
        service_registries=request.service_registries or [],
        service_connect_configuration=request.service_connect_configuration,
        placement_constraints=request.placement_constraints or [],
        placement_strategy=request.placement_strategy or [],
        health_check_grace_period=request.health_check_grace_period_seconds,
        availability_zone_rebalancing=request.availability_zone_rebalancing or "ENABLED",
        propagate_tags=request.propagate_tags or "NONE",
        enable_ecs_managed_tags=bool(request.enable_ecs_managed_tags),
        enable_execute_command=bool(request.enable_execute_command),
        role_arn=request.role,
        created_by=created_by,
        tags=list(request.tags or []),
    )
    if controller["type"] == "ECS":
        service.deployments.append(_deployment(service))
        service.history.insert(0, service.deployments[0])
    store.services[(cluster.name, name)] = service
    store.changed()
    return service


def update(store: EcsStore, request) -> Service:
    """UpdateService, its request as named values (None: not given, so left as it is). Check
    the whole request first, then change the service: a refused update changes nothing."""
    service = find_active(store, request.cluster, request.service)
    _check_same_controller(service, request.deployment_controller)
    if service.deployment_controller["type"] == "EXTERNAL":
        _check_external_update(request)
    if request.desired_count is not None and service.scheduling_strategy == "DAEMON":
        raise InvalidParameterException(
            "The daemon scheduling strategy does not support a desired count for services.")
    if service.scheduling_strategy == "DAEMON":
        _check_daemon_placement(request.placement_strategy)
        if request.capacity_provider_strategy:
            raise InvalidParameterException(
                "Specifying a capacity provider strategy is not supported when you update a "
                "service using the DAEMON scheduling strategy.")
    _check_not_negative(request.desired_count)
    definition = service.task_definition
    if request.task_definition is not None:
        definition = resolve_task_definition(store, request.task_definition)
        if definition.status != "ACTIVE":
            raise ClientException(INACTIVE)
    # The kept registry must still suit a new task definition (its container, network mode).
    check_registries(store, request.service_registries if request.service_registries is not None
                     else service.service_registries if request.task_definition is not None
                     else None, definition)
    new_strategy = request.capacity_provider_strategy is not None
    strategy = (request.capacity_provider_strategy if new_strategy
                else service.capacity_provider_strategy)
    launch_type = None if new_strategy else service.launch_type
    if strategy and new_strategy:
        check_strategy(store, store.cluster(service.cluster_name), strategy)
    effective = launch_type_of(store, launch_type, strategy)
    network = (service.network_configuration if request.network_configuration is None
               else with_network_defaults(request.network_configuration))
    if definition is not None:
        check_compatibility(definition, effective)
        if request.network_configuration is not None or request.task_definition is not None:
            check_network_configuration(network, definition.spec.get("networkMode", "bridge"))
        # A new task definition must still suit the load balancers; target groups are asked
        # of ELBv2, and entries checked for what they hold, only when new ones are given.
        new_balancers = request.load_balancers is not None
        check_load_balancers(store, definition, request.load_balancers if new_balancers
                             else service.load_balancers, new_entries=new_balancers)
    connect = request.service_connect_configuration
    if connect is not None or request.task_definition is not None:
        # The kept configuration must still suit a new task definition's port names.
        service_connect.check(store, connect if connect is not None
                              else service.service_connect_configuration,
                              definition, store.cluster(service.cluster_name))
    platform = service.platform_version
    if request.platform_version is not None or new_strategy:
        platform = platform_version_for(request.platform_version, effective)
    deployment_configuration = _merged_deployment_configuration(
        service.deployment_configuration, request.deployment_configuration or {},
        service.scheduling_strategy)
    circuit_breaker.check_load_balancers(
        deployment_configuration.get("deploymentCircuitBreaker"),
        service.load_balancers if request.load_balancers is None else request.load_balancers)
    # Everything is acceptable: apply.
    changes_deployment = (bool(request.force_new_deployment)
                          or definition is not service.task_definition)
    changes_deployment |= any(value is not None for value in (
        request.capacity_provider_strategy, request.network_configuration,
        request.platform_version, request.load_balancers, connect))
    service.task_definition, service.network_configuration = definition, network
    service.capacity_provider_strategy, service.launch_type = strategy, launch_type
    service.platform_version = platform
    service.deployment_configuration = deployment_configuration
    if request.desired_count is not None:
        service.desired_count = request.desired_count
        if service.deployments:
            service.primary.desired_count = service.desired_count
    for attribute, value in (("load_balancers", request.load_balancers),
                             ("placement_constraints", request.placement_constraints),
                             ("placement_strategy", request.placement_strategy),
                             ("health_check_grace_period",
                              request.health_check_grace_period_seconds),
                             ("enable_execute_command", request.enable_execute_command),
                             ("propagate_tags", request.propagate_tags),
                             ("service_registries", request.service_registries),
                             ("service_connect_configuration", connect),
                             ("enable_ecs_managed_tags", request.enable_ecs_managed_tags),
                             ("availability_zone_rebalancing",
                              request.availability_zone_rebalancing)):
        if value is not None:
            setattr(service, attribute, value)
    if changes_deployment and service.deployment_controller["type"] == "ECS":
        start_deployment(service)
    service.steady_reported = False
    store.changed()
    return service


def _check_same_controller(service: Service, controller: dict | None) -> None:
    """ECS can move a service to another deployment controller (a CodeDeploy blue/green service
    to ECS's own, say); the emulator cannot, and says so rather than ignore the change."""
    if controller is None or controller.get("type") == service.deployment_controller["type"]:
        return
    raise InvalidParameterException(
        f"Changing the deployment controller of a service (from "
        f"{service.deployment_controller['type']} to {controller.get('type')}) is not emulated.")


def _check_external_create(request) -> None:
    """An EXTERNAL service's task definition is its task sets'. ECS refuses one given to
    CreateService in these words (what Terraform and CloudFormation users report; an empty one
    is read as a family name first)."""
    if request.task_definition == "":
        raise InvalidParameterException("Family should not be null or empty.")
    if request.task_definition is not None:
        raise InvalidParameterException("TaskDefinition must be blank.")


def _check_external_update(request) -> None:
    """With the EXTERNAL controller, task sets own the configuration; ECS lets UpdateService
    change only the count and a few service-level settings (and name its controller again, as
    CloudFormation does with the template's properties)."""
    allowed = {"cluster", "service", "desiredCount", "healthCheckGracePeriodSeconds",
               "deploymentController",
               "deploymentConfiguration", "enableExecuteCommand", "propagateTags",
               "enableECSManagedTags", "placementConstraints", "placementStrategy"}
    refused = sorted(set(given(request)) - allowed)
    if refused:
        # Worded as ECS words the CODE_DEPLOY controller's refusal ("Unable to update task
        # definition on services with a CODE_DEPLOY deployment controller. Use AWS CodeDeploy to
        # trigger a new deployment."); the EXTERNAL one's own text is not documented.
        raise InvalidParameterException(
            f"Unable to update {', '.join(refused)} on services with a EXTERNAL deployment "
            "controller. Use a new task set (CreateTaskSet) to change it.")


def start_deployment(service: Service, *, from_deployment: Deployment | None = None) -> Deployment:
    """Make a new PRIMARY deployment of the service's current configuration (or of an earlier
    deployment's, for a rollback). An unfinished deployment it replaces is STOPPED."""
    for old in service.deployments:
        old.status = "ACTIVE"
        if old.deployment_status == "IN_PROGRESS":
            old.finish("STOPPED", "Superseded by a newer deployment.")
    deployment = _deployment(service, from_deployment)
    deployment.source_ids = [old.id for old in service.deployments]
    service.deployments.insert(0, deployment)
    service.history.insert(0, deployment)
    # ECS: a new deployment returns the service to a normal, non-throttled state at once.
    service.next_launch_at = 0.0
    service.consecutive_failures = service.quick_exits = 0
    return deployment


def roll_back(service: Service, failed: Deployment, last_good: Deployment, reason: str) -> None:
    """Return to the last completed deployment's configuration, as a new deployment."""
    rollback = start_deployment(service, from_deployment=last_good)
    failed.deployment_status = "ROLLBACK_IN_PROGRESS"
    failed.finished_at = None
    failed.rollback = {"reason": reason, "startedAt": rollback.created_at, "to": last_good}
    rollback.rolls_back = failed.id
    rollback.rollout_state_reason = (
        f"ECS deployment circuit breaker: rolling back to deploymentId {last_good.id}."
        if failed.breaker_triggered or not failed.triggered_alarms else
        f"ECS deployment alarms: rolling back to deploymentId {last_good.id}.")
    service.task_definition = last_good.task_definition
    # The deployment rolled back to is in progress again, not eligible for another rollback
    # until it completes (ECS's rule); a rollback that fails too stalls.
    service.last_completed = None
    service.add_event(f"rolling back to deployment {last_good.id}.")


def delete(store: EcsStore, cluster_ref: str | None, ref: str, force: bool) -> Service:
    service = find(store, cluster_ref, ref)
    if service.status == "INACTIVE":
        raise ServiceNotActiveException("Service was not ACTIVE.")
    if service.desired_count > 0 and not force and service.scheduling_strategy == "REPLICA":
        raise InvalidParameterException(
            "The service cannot be stopped while it is scaled above 0.")
    service.desired_count = 0
    for deployment in service.deployments:
        deployment.desired_count = 0
    service.status = "DRAINING"
    store.changed()
    return service


def lookup(store: EcsStore, cluster, ref: str) -> Service | None:
    """The service of `cluster` that `ref` (its name or ARN) names, or None."""
    return store.services.get((cluster.name, arns.in_cluster(store, ref, "service", cluster.name)))


def find(store: EcsStore, cluster_ref: str | None, ref: str) -> Service:
    service = lookup(store, store.cluster(cluster_ref), ref)
    if service is None:
        raise ServiceNotFoundException("Service not found.")
    return service


def find_active(store: EcsStore, cluster_ref: str | None, ref: str) -> Service:
    service = find(store, cluster_ref, ref)
    if service.status != "ACTIVE":
        raise ServiceNotActiveException("Service was not ACTIVE.")
    return service


def tasks_of(store: EcsStore, service: Service) -> list:
    group = service.task_group
    return [t for t in store.tasks_of(service.cluster_name) if t.group == group]


def _deployment(service: Service, source: Deployment | None = None) -> Deployment:
    if source is not None:
        return Deployment(
            id=new_deployment_id(), task_definition=source.task_definition,
            desired_count=service.desired_count, launch_type=source.launch_type,
            capacity_provider_strategy=source.capacity_provider_strategy,
            platform_version=source.platform_version,
            network_configuration=source.network_configuration,
            load_balancers=source.load_balancers,
            service_registries=source.service_registries,
            service_connect_configuration=source.service_connect_configuration,
        )
    return Deployment(
        id=new_deployment_id(),
        task_definition=service.task_definition,
        desired_count=service.desired_count,
        launch_type=service.launch_type,
        capacity_provider_strategy=service.capacity_provider_strategy,
        platform_version=resolved_platform_version(service.platform_version),
        network_configuration=service.network_configuration,
        load_balancers=service.load_balancers,
        service_registries=service.service_registries,
        service_connect_configuration=service.service_connect_configuration,
    )


def _desired_count(desired: int | None, strategy: str) -> int:
    if strategy == "DAEMON":
        if desired:
            raise InvalidParameterException(
                "The daemon scheduling strategy does not support a desired count for services.")
        return 0
    if desired is None:
        raise InvalidParameterException(
            "desiredCount is required when schedulingStrategy is REPLICA.")
    _check_not_negative(desired)
    return desired


def _check_daemon_placement(placement_strategy: list[dict] | None) -> None:
    """A daemon runs one task on each instance: there is nothing to spread or pack."""
    if placement_strategy:
        raise InvalidParameterException(
            "The daemon scheduling strategy does not support placement strategies. Remove the "
            "placement strategy and try again.")


def _check_not_negative(desired: int | None) -> None:
    if desired is not None and desired < 0:
        raise InvalidParameterException("desiredCount must be greater than or equal to 0.")


def _deployment_configuration(requested: dict | None, strategy: str) -> dict:
    defaults = dict(DEFAULT_DEPLOYMENT)
    if strategy == "DAEMON":
        defaults.update(maximumPercent=100, minimumHealthyPercent=0)
    return _merged_deployment_configuration(defaults, requested or {}, strategy)


def _merged_deployment_configuration(current: dict, changes: dict, strategy: str) -> dict:
    merged = {**current, **changes}
    circuit_breaker.validate(changes.get("deploymentCircuitBreaker"))
    maximum, minimum = merged["maximumPercent"], merged["minimumHealthyPercent"]
    if minimum < 0:
        raise InvalidParameterException(
            "minimumHealthyPercent must be greater than or equal to 0.")
    if strategy == "DAEMON" and maximum > 100:
        raise InvalidParameterException(  # AWS's words
            "The daemon scheduling strategy does not support values above 100 for "
            "maximumPercent on a deployment configuration. Change the maximumPercent value to "
            "100, and try again")
    if maximum < 100 and minimum > 0 and maximum <= minimum:
        raise InvalidParameterException(
            "maximumPercent must be greater than minimumHealthyPercent.")
    if maximum < minimum:
        raise InvalidParameterException(
            "maximumPercent must be greater than or equal to minimumHealthyPercent.")
    return merged


def find_by_arn(store: EcsStore, parsed):
    cluster_name, _, name = parsed.resource.partition("/")
    service = store.services.get((cluster_name, name))
    return service if service is not None and service.status != "INACTIVE" else None


def cluster_counts(store: EcsStore, cluster) -> dict[str, int]:
    active = sum(1 for (name, _), s in store.services.items()
                 if name == cluster.name and s.status == "ACTIVE")
    return {"activeServicesCount": active}


def cluster_statistics(store: EcsStore, cluster) -> dict[str, int]:
    stats: dict[str, int] = {}
    for (name, _), service in store.services.items():
        if name != cluster.name or service.status == "INACTIVE":
            continue
        kind = "Fargate" if (service.launch_type == "FARGATE" or any(
            s["capacityProvider"].startswith("FARGATE") for s in service.capacity_provider_strategy
        )) else "EC2"
        key = f"{'active' if service.status == 'ACTIVE' else 'draining'}{kind}ServiceCount"
        stats[key] = stats.get(key, 0) + 1
    return stats

