"""Cluster operations: create, update, delete, and the counts DescribeClusters shows."""

from __future__ import annotations

import re

from emulator.ecs import arns, capacity_providers
from emulator.ecs.errors import (
    ClusterContainsContainerInstancesException,
    ClusterContainsServicesException,
    ClusterContainsTasksException,
    InvalidParameterException,
    NamespaceNotFoundException,
)
from emulator.ecs.model import Cluster
from emulator.ecs.store import EcsStore
from emulator.ecs.tags import validate_tags

CLUSTER_NAME_PATTERN = r"^[a-zA-Z0-9_-]{1,255}$"


def create(store: EcsStore, request) -> Cluster:
    """CreateCluster, its request as named values (settings, configuration and tags kept in wire
    form: DescribeClusters echoes them)."""
    name = request.cluster_name or "default"
    if not re.match(CLUSTER_NAME_PATTERN, name):
        raise InvalidParameterException(
            "Cluster name must be 1-255 letters, numbers, hyphens and underscores."
        )
    tags = request.tags or []
    validate_tags(tags)
    existing = store.clusters.get(name)
    if existing is not None and existing.status == "ACTIVE":
        return existing  # CreateCluster is idempotent on ECS
    cluster = Cluster(name=name, arn=arns.cluster(store, name), tags=list(tags))
    if request.settings is not None:
        cluster.settings = _merge_settings(cluster.settings, request.settings)
    cluster.configuration = request.configuration
    if (request.capacity_providers is not None
            or request.default_capacity_provider_strategy is not None):
        capacity_providers.attach_to_cluster(
            store,
            cluster,
            request.capacity_providers or [],
            request.default_capacity_provider_strategy or [],
        )
    # Last: a namespace it names may be made in Cloud Map, once nothing else refused.
    cluster.service_connect_defaults = _service_connect(store, request.service_connect_defaults)
    if existing is not None:  # a deleted one's, once nothing above refused the request
        store.forget_cluster(name)  # the new cluster starts empty
    store.clusters[name] = cluster
    return cluster


def update(store: EcsStore, ref: str, *, settings: list[dict] | None = None,
           configuration: dict | None = None,
           service_connect_defaults: dict | None = None) -> Cluster:
    """Change what is given (None leaves it as it is)."""
    cluster = store.cluster(ref)
    # What can be refused first (settings, a namespace that does not exist), the namespace a
    # name makes last: a refused call changes nothing, nor leaves a namespace behind
    merged = _merge_settings(cluster.settings, settings) if settings is not None else None
    defaults = (_service_connect(store, service_connect_defaults)
                if service_connect_defaults is not None else None)
    if merged is not None:
        cluster.settings = merged
    if configuration is not None:
        cluster.configuration = configuration
    if service_connect_defaults is not None:
        cluster.service_connect_defaults = defaults
    return cluster


def update_settings(store: EcsStore, ref: str, settings: list[dict]) -> Cluster:
    cluster = store.cluster(ref)
    cluster.settings = _merge_settings(cluster.settings, settings)
    return cluster


def delete(store: EcsStore, cluster_ref: str) -> Cluster:
    cluster = store.cluster(cluster_ref)
    counts = counts_for(store, cluster)
    if counts["activeServicesCount"]:
        raise ClusterContainsServicesException(
            "The Cluster cannot be deleted while Services are active."
        )
    if counts["runningTasksCount"] or counts["pendingTasksCount"]:
        raise ClusterContainsTasksException(
            "The Cluster cannot be deleted while Tasks are active."
        )
    registered = [ci for ci in store.container_instances_of(cluster.name)
                  if ci.status != "INACTIVE" and not ci.auto_registered]
    if registered:
        raise ClusterContainsContainerInstancesException(
            "The Cluster cannot be deleted while Container Instances are active or draining."
        )
    for instance in store.container_instances_of(cluster.name):
        if instance.auto_registered:
            instance.status = "INACTIVE"  # the local host leaves with its cluster
    cluster.status = "INACTIVE"
    return cluster


def counts_for(store: EcsStore, cluster: Cluster) -> dict[str, int]:
    """The live counts of a cluster; tasks and services add theirs (contributions.py)."""
    instances = [ci for ci in store.container_instances_of(cluster.name) if ci.status != "INACTIVE"]
    counts = {
        "registeredContainerInstancesCount": len(instances),
        "runningTasksCount": 0,
        "pendingTasksCount": 0,
        "activeServicesCount": 0,
    }
    return _added(counts, store.contributions.cluster_counts, store, cluster)


def statistics(store: EcsStore, cluster: Cluster) -> list[dict]:
    stats = {
        "runningEC2TasksCount": 0,
        "runningFargateTasksCount": 0,
        "pendingEC2TasksCount": 0,
        "pendingFargateTasksCount": 0,
        "activeEC2ServiceCount": 0,
        "activeFargateServiceCount": 0,
        "drainingEC2ServiceCount": 0,
        "drainingFargateServiceCount": 0,
    }
    stats = _added(stats, store.contributions.cluster_statistics, store, cluster)
    return [{"name": key, "value": str(value)} for key, value in stats.items()]


def _added(counts: dict[str, int], contributors, store: EcsStore,
           cluster: Cluster) -> dict[str, int]:
    """`counts` with each contributor's numbers for `cluster` added."""
    for contributor in contributors:
        for key, value in contributor(store, cluster).items():
            counts[key] = counts.get(key, 0) + value
    return counts


def _merge_settings(current: list[dict], updates: list[dict]) -> list[dict]:
    merged = {s["name"]: s.get("value") for s in current}
    for setting in updates:
        if "name" not in setting or "value" not in setting:
            raise InvalidParameterException("A cluster setting needs a name and a value.")
        allowed = ("enabled", "disabled", "enhanced")
        if setting["name"] == "containerInsights" and setting["value"] not in allowed:
            raise InvalidParameterException(
                f"Invalid value for containerInsights: {setting['value']}. "
                "Valid values are enabled, disabled and enhanced."
            )
        merged[setting["name"]] = setting["value"]
    return [{"name": name, "value": value} for name, value in merged.items()]


def _service_connect(store: EcsStore, defaults: dict | None) -> dict | None:
    """The cluster's Service Connect defaults: the namespace's ARN (a name that matches no
    namespace makes a Cloud Map HTTP namespace, as ECS does); an empty name removes them."""
    namespace = (defaults or {}).get("namespace") or ""
    if not namespace:
        return None
    resolve = store.contributions.cloud_map_namespace
    if resolve is None:  # a store without Cloud Map behind it (unit tests): as given
        return {"namespace": namespace if namespace.startswith("arn:") else
                f"arn:aws:servicediscovery:{store.region}:{store.account}:namespace/{namespace}"}
    arn = resolve(store.account, store.region, namespace, True)
    if arn is None:
        raise NamespaceNotFoundException(f"The specified namespace wasn't found: {namespace}")
    return {"namespace": arn}
