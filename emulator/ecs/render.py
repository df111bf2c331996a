"""Model -> wire dicts (camelCase, as in botocore's output shapes). The only place that builds
ECS response objects; None values are dropped by the serializer."""

from __future__ import annotations

from emulator.ecs import clusters as cluster_ops
from emulator.ecs.model import CapacityProvider, Cluster, ContainerInstance, TaskDefinition
from emulator.ecs.store import EcsStore


def cluster(store: EcsStore, item: Cluster, include: list[str] = ()) -> dict:
    counts = cluster_ops.counts_for(store, item) if item.status == "ACTIVE" else {
        "registeredContainerInstancesCount": 0,
        "runningTasksCount": 0,
        "pendingTasksCount": 0,
        "activeServicesCount": 0,
    }
    wire = {
        "clusterArn": item.arn,
        "clusterName": item.name,
        "status": item.status,
        **counts,
        "statistics": [],
        "tags": [],
        "settings": item.settings if "SETTINGS" in include else None,
        "capacityProviders": item.capacity_providers,
        "defaultCapacityProviderStrategy": item.default_strategy,
        "attachments": [] if "ATTACHMENTS" in include else None,
        "serviceConnectDefaults": item.service_connect_defaults,
    }
    if "STATISTICS" in include:
        wire["statistics"] = cluster_ops.statistics(store, item)
    if "TAGS" in include:
        wire["tags"] = item.tags
    if "CONFIGURATIONS" in include:
        wire["configuration"] = item.configuration
    return wire


def cluster_after_write(store: EcsStore, item: Cluster) -> dict:
    """What Create/Update/DeleteCluster answer: settings, configuration and tags included."""
    wire = cluster(store, item, include=("SETTINGS", "TAGS"))
    wire["configuration"] = item.configuration
    return wire


def capacity_provider(item: CapacityProvider, include: list[str] = ()) -> dict:
    return {
        "capacityProviderArn": item.arn,
        "name": item.name,
        "status": item.status,
        "autoScalingGroupProvider": item.auto_scaling_group_provider,
        "managedInstancesProvider": item.managed_instances_provider,
        "cluster": item.cluster,
        "updateStatus": item.update_status,
        "updateStatusReason": item.update_status_reason,
        "tags": item.tags if ("TAGS" in include and item.tags) else None,
    }


def task_definition(item: TaskDefinition) -> dict:
    wire = dict(item.spec)
    wire.update(
        {
            "taskDefinitionArn": item.arn,
            "family": item.family,
            "revision": item.revision,
            "status": item.status,
            "compatibilities": item.compatibilities,
            "requiresAttributes": item.requires_attributes,
            "registeredAt": item.registered_at,
            "registeredBy": item.registered_by,
            "deregisteredAt": item.deregistered_at,
            "deleteRequestedAt": item.delete_requested_at,
        }
    )
    return wire


def container_instance(item: ContainerInstance, running: int = 0, pending: int = 0,
                       remaining: list[dict] | None = None, include: list[str] = ()) -> dict:
    return {
        "containerInstanceArn": item.arn,
        "ec2InstanceId": item.ec2_instance_id,
        "version": item.version,
        "versionInfo": item.version_info,
        "remainingResources": remaining if remaining is not None else item.registered_resources,
        "registeredResources": item.registered_resources,
        "status": item.status,
        "agentConnected": item.agent_connected,
        "runningTasksCount": running,
        "pendingTasksCount": pending,
        "attributes": item.attributes,
        "registeredAt": item.registered_at,
        "attachments": [],
        "tags": item.tags if "TAGS" in include else None,
    }


def failure(arn: str, reason: str, detail: str | None = None) -> dict:
    return {"arn": arn, "reason": reason, "detail": detail}
