"""Daemons: CreateDaemon, UpdateDaemon, DeleteDaemon, and finding their deployments and revisions.

A daemon runs one task of its daemon task definition on each container instance of its capacity
providers, including instances that register later, and rolls a new revision out with each
update. ECS Managed Daemons need Amazon ECS Managed Instances capacity providers; this emulator
launches no instances, so the instances of a daemon's capacity providers are its cluster's ACTIVE
container instances (the local Docker host, registered on demand, and any registered with
RegisterContainerInstance), all counted under the daemon's first provider.

Each daemon is scheduled as a DAEMON service that the service APIs never show (`Daemon.service`,
tasks in group "daemon:<name>"): the DAEMON strategy's scheduler (emulator/engine/
daemon_scheduler.py) places the tasks and rolls revisions out; its deployments are the daemon's
deployments, and each deployment's configuration is a daemon revision. A deployment drains at
most `drainPercent` of the instances at once (the service's minimumHealthyPercent is 100 minus
it; all at once when not given).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from emulator.ecs import arns, capacity_providers
from emulator.ecs import daemon_task_definitions as definitions
from emulator.ecs import services as service_ops
from emulator.ecs.errors import (
    ClientException,
    DaemonNotActiveException,
    DaemonNotFoundException,
    InvalidParameterException,
    UnsupportedFeatureException,
)
from emulator.ecs.model import utcnow
from emulator.ecs.service_model import Deployment, Service
from emulator.ecs.store import EcsStore
from emulator.ecs.tags import validate_tags
from emulator.ecs.task_definition_containers import NAME


@dataclass
class Daemon:
    """An ECS daemon as the store holds it."""
    name: str
    arn: str
    cluster_name: str
    cluster_arn: str
    capacity_provider_arns: list[str]
    deployment_configuration: dict
    critical: bool
    service: Service  # how it is scheduled (see the module's docstring)
    client_token: str | None = None
    status: str = "ACTIVE"  # ACTIVE, DELETE_IN_PROGRESS; DELETED once drained (not shown)
    created_at: dt.datetime = field(default_factory=utcnow)
    updated_at: dt.datetime = field(default_factory=utcnow)
    delete_deployment: Deployment | None = None
    drained_for: set[str] = field(default_factory=set)  # critical tasks already acted on


def create(store: EcsStore, request) -> Daemon:
    """CreateDaemon, its request as named values (deployment configuration and tags kept in
    wire form: DescribeDaemon echoes them)."""
    cluster = store.cluster(request.cluster_arn)
    name = request.daemon_name
    if not NAME.match(name):
        raise InvalidParameterException(
            "Daemon name contains invalid characters. Up to 255 letters (uppercase and "
            "lowercase), numbers, underscores, and hyphens are allowed.")
    existing = store.daemons.get((cluster.name, name))
    if existing is not None and existing.status != "DELETED":
        token = request.client_token
        if token and token == existing.client_token:
            return existing
        raise InvalidParameterException(f"The daemon {name} already exists in the cluster.")
    definition = _definition(store, request.daemon_task_definition_arn)
    providers = _providers(store, cluster, request.capacity_provider_arns)
    validate_tags(request.tags or [])
    service = Service(
        name=name, arn=arns.build(store, "daemon", f"{cluster.name}/{name}"),
        cluster_name=cluster.name, cluster_arn=cluster.arn, desired_count=0,
        task_definition=definition, launch_type="EC2", capacity_provider_strategy=[],
        platform_version=None, network_configuration=None,
        deployment_configuration=_service_configuration(request.deployment_configuration),
        deployment_controller={"type": "ECS"}, scheduling_strategy="DAEMON",
        tags=list(request.tags or []), group=f"daemon:{name}",
    )
    _configure(service, request)
    daemon = Daemon(name=name, arn=service.arn, cluster_name=cluster.name,
                    cluster_arn=cluster.arn, capacity_provider_arns=providers,
                    deployment_configuration=request.deployment_configuration or {},
                    critical=bool(request.critical), service=service,
                    client_token=request.client_token)
    service_ops.start_deployment(service)
    store.daemons[(cluster.name, name)] = daemon
    store.changed()
    return daemon


def update(store: EcsStore, request) -> tuple[Daemon, Deployment]:
    """UpdateDaemon, its request as named values (None: not given, so left as it is)."""
    daemon = active(store, request.daemon_arn)
    cluster = store.cluster(daemon.cluster_name)
    definition = _definition(store, request.daemon_task_definition_arn)
    daemon.capacity_provider_arns = _providers(store, cluster, request.capacity_provider_arns)
    service = daemon.service
    if request.deployment_configuration is not None:
        daemon.deployment_configuration = request.deployment_configuration
        service.deployment_configuration = _service_configuration(daemon.deployment_configuration)
    if request.critical is not None:
        daemon.critical = request.critical
    _configure(service, request)
    service.task_definition = definition
    deployment = service_ops.start_deployment(service)
    daemon.updated_at = utcnow()
    store.changed()
    return daemon, deployment


def delete(store: EcsStore, arn: str) -> Daemon:
    """Every daemon task stops; the daemon is gone once they have (after_pass)."""
    daemon = active(store, arn)
    service = daemon.service
    service.task_definition = service.primary.task_definition
    deployment = service_ops.start_deployment(service)
    deployment.desired_count = 0
    daemon.delete_deployment = deployment
    daemon.status = "DELETE_IN_PROGRESS"
    daemon.updated_at = utcnow()
    service.status = "DRAINING"  # the scheduler stops every task, then makes it INACTIVE
    store.changed()
    return daemon


def after_pass(store: EcsStore, daemon: Daemon) -> None:
    """After the scheduler's pass over a daemon: finish a deletion whose tasks have stopped, and
    the deletion of daemon task definitions no ACTIVE daemon uses any more."""
    if daemon.status == "DELETE_IN_PROGRESS" and daemon.service.status == "INACTIVE":
        daemon.status = "DELETED"
        daemon.delete_deployment.finish("SUCCESSFUL", "The daemon was deleted.")
        for definition in (d for revisions in store.daemon_task_definitions.values()
                           for d in revisions.values() if d.status == "DELETE_IN_PROGRESS"):
            if not in_use(store, definition.arn):
                definition.status = "DELETED"


def on_task_stopped(store: EcsStore, daemon: Daemon, task) -> None:
    """A critical daemon's task that stops by itself (not stopped by the scheduler or a user)
    drains its container instance, as ECS does before replacing the instance; no instance is
    replaced here: set it ACTIVE again with UpdateContainerInstancesState."""
    if not daemon.critical or daemon.status != "ACTIVE" or \
            task.stop_code not in ("EssentialContainerExited", "TaskFailedToStart"):
        return
    if task.arn in daemon.drained_for:  # the engine may tell of a stop more than once
        return
    daemon.drained_for.add(task.arn)
    instance = store.container_instances.get(task.container_instance_arn or "")
    if instance is not None and instance.status == "ACTIVE":
        instance.status = "DRAINING"
        instance.version += 1
        store.changed()


def in_use(store: EcsStore, definition_arn: str) -> bool:
    return any(d.status == "ACTIVE" and any(dep.task_definition.arn == definition_arn
                                            for dep in d.service.deployments)
               for d in store.daemons.values())


def find(store: EcsStore, arn: str) -> Daemon:
    daemon = lookup(store, arn)
    if daemon is None:
        raise DaemonNotFoundException(f"The daemon {arn} was not found.")
    return daemon


def lookup(store: EcsStore, ref: str, cluster_name: str | None = None) -> Daemon | None:
    """The live daemon `ref` names, or None: an ARN of this store's account and region (and of
    `cluster_name`, if given), or a plain name in `cluster_name`."""
    parsed = arns.parse(ref)
    if parsed is not None:
        if not parsed.in_store(store, "daemon"):
            return None
        arns.refuse_extra_parts(ref, parsed.resource, slashes=1)  # daemon/<cluster>/<name>
        arn_cluster, _, name = parsed.resource.partition("/")
        if cluster_name is not None and arn_cluster != cluster_name:
            return None
        key = (arn_cluster, name)
    elif cluster_name is not None:
        key = (cluster_name, ref)
    else:
        return None
    daemon = store.daemons.get(key)
    return daemon if daemon is not None and daemon.status != "DELETED" else None


def active(store: EcsStore, arn: str) -> Daemon:
    daemon = find(store, arn)
    if daemon.status != "ACTIVE":
        raise DaemonNotActiveException(f"The daemon {daemon.name} is {daemon.status}.")
    return daemon


def listed(store: EcsStore, cluster_ref: str | None,
           provider_refs: list[str] | None) -> list[Daemon]:
    cluster = store.cluster(cluster_ref)
    # Another account's provider ARN is None here, which no daemon's provider matches.
    wanted = {arns.name_in(store, p, "capacity-provider") for p in provider_refs or []}
    found = [d for d in store.daemons.values()
             if d.cluster_name == cluster.name and d.status != "DELETED"
             and (not wanted or wanted & {arns.name_from(p, "capacity-provider")
                                          for p in d.capacity_provider_arns})]
    return sorted(found, key=lambda d: d.arn)


def deployment_arn(store: EcsStore, daemon: Daemon, deployment: Deployment) -> str:
    return arns.deployment(store, "daemon-deployment", daemon, deployment.number)


def revision_arn(store: EcsStore, daemon: Daemon, deployment: Deployment) -> str:
    return arns.deployment(store, "daemon-revision", daemon, deployment.number)


def find_deployment(store: EcsStore, arn: str, resource_type: str):
    """(daemon, deployment) a daemon-deployment or daemon-revision ARN names, or None."""
    parts = arns.deployment_parts(store, arn, resource_type)
    daemon = store.daemons.get(parts[:2]) if parts is not None else None
    if daemon is None:
        return None
    deployment = next((d for d in daemon.service.history if d.number == parts[2]), None)
    return (daemon, deployment) if deployment is not None else None


# -- checks ----------------------------------------------------------------------------------------

def _definition(store: EcsStore, ref: str):
    definition = definitions.resolve(store, ref)
    if definition is None or definition.status == "DELETED":
        raise ClientException(definitions.NOT_FOUND)
    if definition.status != "ACTIVE":
        raise ClientException(
            f"The daemon task definition {definition.family}:{definition.revision} is "
            f"{definition.status}.")
    return definition


def _providers(store: EcsStore, cluster, refs: list[str]) -> list[str]:
    if not refs:
        raise InvalidParameterException("capacityProviderArns must name at least one capacity "
                                         "provider.")
    found = []
    for ref in refs:
        provider = capacity_providers.get(store, ref)
        if provider is None:
            raise InvalidParameterException(f"The capacity provider {ref} was not found.")
        if provider.managed_instances_provider is None:
            raise UnsupportedFeatureException(
                "ECS Managed Daemons is only supported for Amazon ECS Managed Instances "
                f"Capacity Providers; {provider.name} is not one.")
        if provider.cluster and provider.cluster != cluster.name:
            raise InvalidParameterException(
                f"The capacity provider {provider.name} belongs to cluster {provider.cluster}.")
        found.append(provider.arn)
    return found


def _service_configuration(config: dict | None) -> dict:
    drain = (config or {}).get("drainPercent")
    minimum = 0 if drain is None else int(100 - drain)
    return {"maximumPercent": 100, "minimumHealthyPercent": minimum}


def _configure(service: Service, request) -> None:
    if request.propagate_tags is not None:
        service.propagate_tags = "SERVICE" if request.propagate_tags == "DAEMON" else "NONE"
    if request.enable_ecs_managed_tags is not None:
        service.enable_ecs_managed_tags = request.enable_ecs_managed_tags
    if request.enable_execute_command is not None:
        service.enable_execute_command = request.enable_execute_command
