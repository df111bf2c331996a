"""Capacity providers: FARGATE and FARGATE_SPOT are built in; custom ones wrap an Auto Scaling group."""

from __future__ import annotations

from emulator.ecs import arns
from emulator.ecs.errors import (
    ClientException,
    InvalidParameterException,
    ResourceInUseException,
)
from emulator.ecs.model import CapacityProvider, Cluster
from emulator.ecs.store import BUILT_IN_CAPACITY_PROVIDERS, EcsStore
from emulator.ecs.tags import validate_tags
from emulator.runtime.status import TaskStatus

_RESERVED_PREFIXES = ("aws", "ecs", "fargate")


def create(store: EcsStore, name: str, *, asg: dict | None = None, managed: dict | None = None,
           cluster: str | None = None, tags: list[dict] | None = None) -> CapacityProvider:
    """A custom capacity provider of an Auto Scaling group (`asg`) or of managed instances."""
    if name.lower().startswith(_RESERVED_PREFIXES):
        raise InvalidParameterException(
            "The capacity provider name cannot start with 'aws', 'ecs' or 'fargate'."
        )
    if not asg and not managed:
        raise InvalidParameterException(
            "A capacity provider needs an autoScalingGroupProvider or a managedInstancesProvider."
        )
    existing = store.capacity_providers.get(name)
    if existing is not None and existing.status == "ACTIVE":
        raise ClientException(f"The specified capacity provider {name} already exists.")
    if asg:
        _check_asg_unused(store, asg["autoScalingGroupArn"])
    tags = tags or []
    validate_tags(tags)
    provider = CapacityProvider(
        name=name,
        arn=arns.capacity_provider(store, name),
        auto_scaling_group_provider=_with_asg_defaults(asg) if asg else None,
        managed_instances_provider=managed,
        cluster=cluster,
        tags=list(tags),
    )
    store.capacity_providers[name] = provider
    return provider


def get(store: EcsStore, ref: str, *, active: bool = True) -> CapacityProvider | None:
    provider = store.capacity_providers.get(arns.name_in(store, ref, "capacity-provider"))
    if provider is None or (active and provider.status != "ACTIVE"):
        return None
    return provider


def update(store: EcsStore, name: str, *, asg_changes: dict | None = None,
           managed: dict | None = None) -> CapacityProvider:
    provider = _existing(store, name)
    if provider.built_in:
        raise ClientException(f"The {provider.name} capacity provider cannot be updated.")
    changes = asg_changes
    if changes and provider.auto_scaling_group_provider is not None:
        current = provider.auto_scaling_group_provider
        for key, value in changes.items():
            if isinstance(value, dict) and isinstance(current.get(key), dict):
                current[key] = {**current[key], **value}
            else:
                current[key] = value
    if managed:
        provider.managed_instances_provider = managed
    provider.update_status, provider.update_status_reason = "UPDATE_COMPLETE", None
    return provider


def delete(store: EcsStore, ref: str) -> CapacityProvider:
    provider = _existing(store, ref)
    if provider.built_in:
        raise ClientException(f"The {provider.name} capacity provider cannot be deleted.")
    for cluster in store.clusters.values():
        if cluster.status == "ACTIVE" and provider.name in cluster.capacity_providers:
            # Not an error on AWS: the call succeeds and the provider, still ACTIVE, says why
            # its delete failed (what Terraform's and aws-nuke's waiters read).
            provider.update_status = "DELETE_FAILED"
            provider.update_status_reason = (
                "The capacity provider cannot be deleted because it is associated with "
                f"cluster: {cluster.name}. Remove the capacity provider from the cluster and "
                "try again.")
            return provider
    provider.status = "INACTIVE"
    provider.update_status, provider.update_status_reason = "DELETE_COMPLETE", None
    return provider


def attach_to_cluster(
    store: EcsStore, cluster: Cluster, providers: list[str], strategy: list[dict]
) -> Cluster:
    """PutClusterCapacityProviders: replace a cluster's providers and its default strategy."""
    names = []
    for ref in providers:
        provider = get(store, ref)
        if provider is None:
            raise InvalidParameterException(f"The capacity provider {ref} does not exist.")
        if provider.name in names:
            raise InvalidParameterException(f"The capacity provider {ref} is listed twice.")
        _check_not_on_other_cluster(store, provider, cluster)
        names.append(provider.name)
    validate_strategy(strategy, allowed=set(names))
    _check_unused(store, cluster, set(cluster.capacity_providers) - set(names))
    cluster.capacity_providers = names
    cluster.default_strategy = [
        {"capacityProvider": arns.name_from(s["capacityProvider"], "capacity-provider"),
         "weight": s.get("weight", 0), "base": s.get("base", 0)}
        for s in strategy
    ]
    return cluster


def validate_strategy(strategy: list[dict], allowed: set[str] | None = None) -> None:
    """The rules AWS applies to every capacity provider strategy."""
    names = [arns.checked_name_from(item["capacityProvider"], "capacity-provider")
             for item in strategy]
    if len(set(names)) != len(names):
        raise InvalidParameterException("A capacity provider appears twice in the strategy.")
    if sum(1 for item in strategy if item.get("base", 0) > 0) > 1:
        raise InvalidParameterException(
            "Only one capacity provider in a strategy can have a base defined."
        )
    if strategy and all(item.get("weight", 0) == 0 for item in strategy):
        raise InvalidParameterException(
            "At least one capacity provider in a strategy must have a weight greater than 0."
        )
    fargate = [n for n in names if n in BUILT_IN_CAPACITY_PROVIDERS]
    if fargate and len(fargate) != len(names):
        raise InvalidParameterException(
            "A capacity provider strategy cannot mix Fargate and Auto Scaling group providers."
        )
    if allowed is not None and not set(names) <= allowed:
        raise InvalidParameterException(
            "The specified capacity provider strategy cannot contain a capacity provider that is "
            "not associated with the cluster. Associate the capacity provider with the cluster "
            "or specify a valid capacity provider and try again.")


def associated(store: EcsStore, cluster: Cluster) -> set[str]:
    """The providers a launch on the cluster may name in its strategy: those
    PutClusterCapacityProviders associated, and the managed-instances providers created for
    the cluster (ECS makes those available only within it)."""
    own = {p.name for p in store.capacity_providers.values()
           if p.cluster == cluster.name and p.status == "ACTIVE"}
    return set(cluster.capacity_providers) | own


def next_provider(strategy: list[dict], counts: dict[str, int]) -> str:
    """The provider the next task goes to, given how many tasks each already has: until every
    base is met, the provider with a base; then the one furthest below its weighted share."""
    items = [(arns.name_from(s["capacityProvider"], "capacity-provider"), s.get("base", 0),
              s.get("weight", 0)) for s in strategy]
    for name, base, _ in items:
        if counts.get(name, 0) < base:
            return name
    weighted = [(name, base, weight) for name, base, weight in items if weight > 0]
    # The share each would have after taking this task; ties go to the heavier weight.
    return min(weighted, key=lambda item: (
        (max(counts.get(item[0], 0) - item[1], 0) + 1) / item[2], -item[2]))[0]


def _existing(store: EcsStore, ref: str) -> CapacityProvider:
    provider = get(store, ref)
    if provider is None:
        raise ClientException(f"The specified capacity provider {ref} does not exist.")
    return provider


def _check_asg_unused(store: EcsStore, asg_arn: str) -> None:
    for other in store.capacity_providers.values():
        asg = other.auto_scaling_group_provider or {}
        if other.status == "ACTIVE" and asg.get("autoScalingGroupArn") == asg_arn:
            raise ClientException(
                f"The Auto Scaling group is already used by capacity provider {other.name}."
            )


def _check_unused(store: EcsStore, cluster: Cluster, removed: set[str]) -> None:
    """ECS disassociates a provider from a cluster only if no existing task uses it and no
    service's strategy names it (else the service could launch no more tasks)."""
    if not removed:  # only adding: nothing to look through
        return
    in_use = {task.capacity_provider for task in store.tasks_of(cluster.name)
              if task.known < TaskStatus.STOPPED}
    for (cluster_name, _), service in list(store.services.items()):
        if cluster_name == cluster.name and service.status in ("ACTIVE", "DRAINING"):
            in_use.update(_named(service.capacity_provider_strategy or []))
            for part in [*service.deployments, *service.task_sets]:
                in_use.update(_named(part.capacity_provider_strategy or []))
    if in_use & removed:
        raise ResourceInUseException(
            "The specified capacity provider is in use and cannot be removed.")


def _named(strategy: list[dict]) -> set[str]:
    return {arns.name_from(item["capacityProvider"], "capacity-provider") for item in strategy}


def _check_not_on_other_cluster(store: EcsStore, provider: CapacityProvider, cluster: Cluster):
    if provider.built_in:
        return
    for other in store.clusters.values():
        if other is not cluster and other.status == "ACTIVE" and provider.name in other.capacity_providers:
            raise InvalidParameterException(
                f"The capacity provider {provider.name} is already associated with cluster "
                f"{other.name}."
            )


def _with_asg_defaults(asg: dict) -> dict:
    scaling = {"status": "DISABLED", "targetCapacity": 100, "minimumScalingStepSize": 1,
               "maximumScalingStepSize": 10000, "instanceWarmupPeriod": 300}
    scaling.update(asg.get("managedScaling", {}))
    return {
        "autoScalingGroupArn": asg["autoScalingGroupArn"],
        "managedScaling": scaling,
        "managedTerminationProtection": asg.get("managedTerminationProtection", "DISABLED"),
        "managedDraining": asg.get("managedDraining", "ENABLED"),
    }
