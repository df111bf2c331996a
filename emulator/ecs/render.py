"""Model -> wire dicts (camelCase, as in botocore's output shapes). The only place that builds
ECS response objects; None values are dropped by the serializer."""

from __future__ import annotations

from emulator.ecs import agent_updates
from emulator.ecs import clusters as cluster_ops
from emulator.ecs import execute_command, task_protection
from emulator.ecs.local_instance import cpu_architecture
from emulator.ecs.model import (
    CapacityProvider,
    Cluster,
    ContainerInstance,
    TaskDefinition,
    utcnow,
)
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
        "versionInfo": agent_updates.version_info(item),
        "agentUpdateStatus": agent_updates.progress(item)[0],
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
        "healthStatus": (
            container_instance_health(item) if "CONTAINER_INSTANCE_HEALTH" in include else None
        ),
    }


def container_instance_health(item: ContainerInstance) -> dict:
    """The agent's one check, of the container runtime: OK while it is connected."""
    state = "OK" if item.agent_connected and item.status != "INACTIVE" else "INSUFFICIENT_DATA"
    return {
        "overallStatus": state,
        "details": [
            {
                "type": "CONTAINER_RUNTIME",
                "status": state,
                "lastUpdated": utcnow(),
                "lastStatusChange": item.registered_at,
            }
        ],
    }


def account_setting(name: str, value: str, principal_arn: str, setting_type: str) -> dict:
    return {"name": name, "value": value, "principalArn": principal_arn, "type": setting_type}


def exec_command(opened) -> dict:
    """ExecuteCommand's answer (execute_command.Opened)."""
    return {
        "clusterArn": opened.cluster.arn,
        "containerArn": opened.container.arn,
        "containerName": opened.container.name,
        "interactive": True,
        "session": opened.session,
        "taskArn": opened.task.arn,
    }


def protected_task(item) -> dict:
    """A ProtectedTask (task_protection.py)."""
    on = task_protection.is_protected(item)
    return {"taskArn": item.arn, "protectionEnabled": on,
            "expirationDate": item.protected_until if on else None}


def failure(arn: str, reason: str, detail: str | None = None) -> dict:
    return {"arn": arn, "reason": reason, "detail": detail}


def task(item, include: list[str] = ()) -> dict:
    """A Task as DescribeTasks and RunTask show it."""
    overrides = dict(item.overrides)
    overrides.setdefault("containerOverrides", [{"name": c.name} for c in item.containers])
    overrides.setdefault("inferenceAcceleratorOverrides", [])
    fargate = item.launch_type == "FARGATE"
    return {
        "taskArn": item.arn,
        "clusterArn": item.cluster_arn,
        "taskDefinitionArn": item.definition.arn,
        "containerInstanceArn": item.container_instance_arn,
        "overrides": overrides,
        "lastStatus": item.last_status,
        "desiredStatus": item.desired_status,
        "cpu": item.cpu,
        "memory": item.memory,
        "containers": [_task_container(item, c) for c in item.containers],
        "startedBy": item.started_by,
        "version": item.version,
        "stopCode": item.stop_code,
        "stoppedReason": item.stopped_reason,
        "connectivity": "CONNECTED" if item.connectivity_at else None,
        "connectivityAt": item.connectivity_at,
        "pullStartedAt": item.pull_started_at,
        "pullStoppedAt": item.pull_stopped_at,
        "executionStoppedAt": item.execution_stopped_at,
        "createdAt": item.created_at,
        "startedAt": item.started_at,
        "stoppingAt": item.stopping_at,
        "stoppedAt": item.stopped_at,
        "group": item.group,
        "launchType": item.launch_type,
        "capacityProviderName": item.capacity_provider,
        "platformVersion": item.platform_version,
        "platformFamily": item.platform_family,
        "attachments": item.attachments,
        "healthStatus": item.health.name,
        "tags": item.tags if "TAGS" in include else None,
        "enableExecuteCommand": item.enable_execute_command,
        "availabilityZone": item.availability_zone,
        "ephemeralStorage": item.ephemeral_storage,
        "fargateEphemeralStorage": item.ephemeral_storage if fargate else None,
        "inferenceAccelerators": [],
        # What a Fargate task shows of where it runs (its containers run on this host's CPU).
        "attributes": ([{"name": "ecs.cpu-architecture", "value": cpu_architecture()}]
                       if fargate else []),
    }


def _task_container(item, container) -> dict:
    definition = container.definition
    wire = {
        "containerArn": container.arn,
        "taskArn": item.arn,
        "name": container.name,
        "image": definition.get("image"),
        "imageDigest": container.image_digest,
        "runtimeId": container.runtime_id,
        "lastStatus": container.known.api_status,
        "exitCode": container.exit_code,
        "reason": container.reason,
        "networkBindings": container.network_bindings,
        "networkInterfaces": [
            {"attachmentId": a["id"], "privateIpv4Address": item.private_ip}
            for a in item.attachments if a["type"] == "ElasticNetworkInterface" and item.private_ip
        ],
        "healthStatus": container.health.name,
        "cpu": str(definition.get("cpu", 0)),
        "memory": str(definition["memory"]) if "memory" in definition else None,
        "memoryReservation": (str(definition["memoryReservation"])
                              if "memoryReservation" in definition else None),
    }
    agent = execute_command.agent_status(item, container)
    if agent is not None:
        wire["managedAgents"] = [{
            "name": execute_command.AGENT_NAME,
            "lastStatus": agent,
            "lastStartedAt": item.started_at if agent != "PENDING" else None,
        }]
    return wire
