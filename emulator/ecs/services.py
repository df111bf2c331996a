"""Service operations: create, update, delete, and the lookups the handlers share.

They change desired state only; the scheduler (emulator/engine/scheduler.py) turns it into tasks.
"""

from __future__ import annotations

import re

from emulator.ecs import arns, circuit_breaker
from emulator.ecs.errors import (
    ClientException,
    InvalidParameterException,
    ServiceNotActiveException,
    ServiceNotFoundException,
)
from emulator.ecs.service_model import Deployment, Service, new_deployment_id
from emulator.ecs.store import EcsStore
from emulator.ecs.tags import validate_tags
from emulator.ecs.task_launch import (
    check_compatibility,
    check_network_configuration,
    launch_choice,
    launch_type_of,
    platform_version_for,
    resolve_task_definition,
)

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,255}$")
DEFAULT_DEPLOYMENT = {
    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
}


def create(store: EcsStore, params: dict, created_by: str) -> Service:
    cluster = store.cluster(params.get("cluster"))
    name = params["serviceName"]
    if not _NAME.match(name):
        raise InvalidParameterException(
            "Service name must be 1-255 letters, numbers, hyphens and underscores.")
    existing = store.services.get((cluster.name, name))
    if existing is not None and existing.status != "INACTIVE":
        raise InvalidParameterException("Creation of service was not idempotent.")
    controller = params.get("deploymentController", {"type": "ECS"})
    if controller["type"] == "CODE_DEPLOY":
        raise InvalidParameterException(
            "The CODE_DEPLOY deployment controller is not emulated; use ECS or EXTERNAL.")
    strategy = params.get("schedulingStrategy", "REPLICA")
    if controller["type"] == "EXTERNAL" and strategy == "DAEMON":
        raise InvalidParameterException(
            "The DAEMON scheduling strategy is not supported with the EXTERNAL deployment controller.")
    definition = None
    if "taskDefinition" in params:
        definition = resolve_task_definition(store, params["taskDefinition"])
    elif controller["type"] != "EXTERNAL":
        raise InvalidParameterException("TaskDefinition must be specified.")
    desired = _desired_count(params, strategy)
    launch_type, provider_strategy = launch_choice(store, cluster, params)
    effective = launch_type_of(store, launch_type, provider_strategy)
    if strategy == "DAEMON" and effective == "FARGATE":
        raise InvalidParameterException(
            "The daemon scheduling strategy is not supported with the FARGATE launch type.")
    if definition is not None:
        check_compatibility(definition, effective)
        check_network_configuration(params.get("networkConfiguration"),
                                    definition.spec.get("networkMode", "bridge"))
        check_load_balancers(definition, params.get("loadBalancers", []))
    if "healthCheckGracePeriodSeconds" in params and not params.get("loadBalancers"):
        raise InvalidParameterException(
            "Health check grace period is only valid for services configured to use load balancers")
    validate_tags(params.get("tags", []))
    service = Service(
        name=name,
        arn=arns.service(store, cluster.name, name),
        cluster_name=cluster.name,
        cluster_arn=cluster.arn,
        desired_count=desired,
        task_definition=definition,
        launch_type=launch_type,
        capacity_provider_strategy=provider_strategy,
        platform_version=platform_version_for(params.get("platformVersion"), effective),
        network_configuration=params.get("networkConfiguration"),
        deployment_configuration=_deployment_configuration(params, strategy),
        deployment_controller=controller,
        scheduling_strategy=strategy,
        load_balancers=params.get("loadBalancers", []),
        service_registries=params.get("serviceRegistries", []),
        placement_constraints=params.get("placementConstraints", []),
        placement_strategy=params.get("placementStrategy", []),
        health_check_grace_period=params.get("healthCheckGracePeriodSeconds"),
        propagate_tags=params.get("propagateTags", "NONE"),
        enable_ecs_managed_tags=params.get("enableECSManagedTags", False),
        enable_execute_command=params.get("enableExecuteCommand", False),
        role_arn=params.get("role"),
        created_by=created_by,
        tags=list(params.get("tags", [])),
    )
    if controller["type"] == "ECS":
        service.deployments.append(_deployment(service))
        service.history.insert(0, service.deployments[0])
    store.services[(cluster.name, name)] = service
    store.changed()
    return service


def update(store: EcsStore, params: dict) -> Service:
    """Check the whole request first, then change the service: a refused update changes nothing."""
    service = find_active(store, params.get("cluster"), params["service"])
    if service.deployment_controller["type"] == "EXTERNAL":
        _check_external_update(params)
    if "desiredCount" in params and service.scheduling_strategy == "DAEMON":
        raise InvalidParameterException(
            "The daemon scheduling strategy does not support a desired count for services.")
    definition = service.task_definition
    if "taskDefinition" in params:
        definition = resolve_task_definition(store, params["taskDefinition"])
        if definition.status != "ACTIVE":
            raise ClientException("TaskDefinition is inactive.")
    strategy = params.get("capacityProviderStrategy", service.capacity_provider_strategy)
    launch_type = None if "capacityProviderStrategy" in params else service.launch_type
    effective = launch_type_of(store, launch_type, strategy)
    network = params.get("networkConfiguration", service.network_configuration)
    if definition is not None:
        check_compatibility(definition, effective)
        if "networkConfiguration" in params or "taskDefinition" in params:
            check_network_configuration(network, definition.spec.get("networkMode", "bridge"))
        check_load_balancers(definition, params.get("loadBalancers", service.load_balancers))
    platform = service.platform_version
    if "platformVersion" in params or "capacityProviderStrategy" in params:
        platform = platform_version_for(params.get("platformVersion"), effective)
    deployment_configuration = _merged_deployment_configuration(
        service.deployment_configuration, params.get("deploymentConfiguration", {}))
    # Everything is acceptable: apply.
    changes_deployment = bool(params.get("forceNewDeployment")) or definition is not service.task_definition
    changes_deployment |= any(key in params for key in (
        "capacityProviderStrategy", "networkConfiguration", "platformVersion", "loadBalancers"))
    service.task_definition, service.network_configuration = definition, network
    service.capacity_provider_strategy, service.launch_type = strategy, launch_type
    service.platform_version = platform
    service.deployment_configuration = deployment_configuration
    if "desiredCount" in params:
        service.desired_count = params["desiredCount"]
        if service.deployments:
            service.primary.desired_count = service.desired_count
    for key, attribute in (("loadBalancers", "load_balancers"),
                           ("placementConstraints", "placement_constraints"),
                           ("placementStrategy", "placement_strategy"),
                           ("healthCheckGracePeriodSeconds", "health_check_grace_period"),
                           ("enableExecuteCommand", "enable_execute_command"),
                           ("propagateTags", "propagate_tags"),
                           ("serviceRegistries", "service_registries"),
                           ("enableECSManagedTags", "enable_ecs_managed_tags")):
        if key in params:
            setattr(service, attribute, params[key])
    if changes_deployment and service.deployment_controller["type"] == "ECS":
        start_deployment(service)
    service.steady_reported = False
    store.changed()
    return service


def _check_external_update(params: dict) -> None:
    """With the EXTERNAL controller, task sets own the configuration; ECS lets UpdateService
    change only the count and a few service-level settings."""
    allowed = {"cluster", "service", "desiredCount", "healthCheckGracePeriodSeconds",
               "deploymentConfiguration", "enableExecuteCommand", "propagateTags",
               "enableECSManagedTags", "placementConstraints", "placementStrategy"}
    refused = sorted(set(params) - allowed)
    if refused:
        raise InvalidParameterException(
            f"Unable to update {', '.join(refused)} on a service with the EXTERNAL deployment "
            "controller; update its task sets instead.")


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


def find(store: EcsStore, cluster_ref: str | None, ref: str) -> Service:
    cluster = store.cluster(cluster_ref)
    service = store.services.get((cluster.name, arns.name_from(ref, "service")))
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
        )
    return Deployment(
        id=new_deployment_id(),
        task_definition=service.task_definition,
        desired_count=service.desired_count,
        launch_type=service.launch_type,
        capacity_provider_strategy=service.capacity_provider_strategy,
        platform_version=service.platform_version,
        network_configuration=service.network_configuration,
        load_balancers=service.load_balancers,
        service_registries=service.service_registries,
    )


def _desired_count(params: dict, strategy: str) -> int:
    if strategy == "DAEMON":
        if params.get("desiredCount"):
            raise InvalidParameterException(
                "The daemon scheduling strategy does not support a desired count for services.")
        return 0
    if "desiredCount" not in params:
        raise InvalidParameterException(
            "desiredCount is required when schedulingStrategy is REPLICA.")
    return params["desiredCount"]


def _deployment_configuration(params: dict, strategy: str) -> dict:
    defaults = dict(DEFAULT_DEPLOYMENT)
    if strategy == "DAEMON":
        defaults.update(maximumPercent=100, minimumHealthyPercent=0)
    return _merged_deployment_configuration(defaults, params.get("deploymentConfiguration", {}))


def _merged_deployment_configuration(current: dict, changes: dict) -> dict:
    merged = {**current, **changes}
    circuit_breaker.validate(changes.get("deploymentCircuitBreaker"))
    maximum, minimum = merged["maximumPercent"], merged["minimumHealthyPercent"]
    if maximum < 100 and minimum > 0 and maximum <= minimum:
        raise InvalidParameterException(
            "maximumPercent must be greater than minimumHealthyPercent.")
    if maximum < minimum:
        raise InvalidParameterException(
            "maximumPercent must be greater than or equal to minimumHealthyPercent.")
    return merged


def check_load_balancers(definition, load_balancers: list[dict]) -> None:
    if definition is None:
        return
    for balancer in load_balancers:
        name, port = balancer.get("containerName"), balancer.get("containerPort")
        container = next((c for c in definition.spec["containerDefinitions"]
                          if c["name"] == name), None)
        if container is None:
            raise InvalidParameterException(
                f"The container {name} does not exist in the task definition.")
        ports = {p.get("containerPort") for p in container.get("portMappings", [])}
        if port not in ports:
            raise InvalidParameterException(
                f"The container {name} did not have a container port {port} defined.")


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

