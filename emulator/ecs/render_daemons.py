"""Daemons, their deployments and revisions, and daemon task definitions as wire dicts (the
shapes of botocore's DaemonDetail, DaemonSummary, DaemonDeployment, DaemonRevision and
DaemonTaskDefinition). Counts come from the daemon's tasks; see emulator/ecs/daemons.py."""

from __future__ import annotations

from emulator.ecs import daemons
from emulator.ecs.model import TaskDefinition
from emulator.ecs.service_model import Deployment
from emulator.ecs.services import tasks_of
from emulator.ecs.store import EcsStore
from emulator.runtime.status import TaskStatus


def daemon_detail(store: EcsStore, daemon) -> dict:
    live = _live(store, daemon)
    return {
        "daemonArn": daemon.arn,
        "clusterArn": daemon.cluster_arn,
        "status": daemon.status,
        "currentRevisions": [_revision_detail(store, daemon, d, live)
                             for d in daemon.service.deployments],
        "deploymentArn": daemons.deployment_arn(store, daemon, daemon.service.history[0]),
        "createdAt": daemon.created_at,
        "updatedAt": daemon.updated_at,
    }


def daemon_summary(daemon) -> dict:
    return {"daemonArn": daemon.arn, "status": daemon.status, "createdAt": daemon.created_at,
            "updatedAt": daemon.updated_at}


def deployment(store: EcsStore, daemon, item: Deployment) -> dict:
    live = _live(store, daemon)
    sources = [d for d in daemon.service.history if d.id in item.source_ids]
    wire = {
        "daemonDeploymentArn": daemons.deployment_arn(store, daemon, item),
        "clusterArn": daemon.cluster_arn,
        "status": item.deployment_status,
        "statusReason": item.status_reason,
        "targetDaemonRevision": _deployment_revision(store, daemon, item, live),
        "sourceDaemonRevisions": [_deployment_revision(store, daemon, s, live) for s in sources],
        "circuitBreaker": {"status": "DISABLED", "failureCount": item.failed_tasks,
                           "threshold": 0},
        "alarms": {"status": "DISABLED", "alarmNames": [], "triggeredAlarmNames": []},
        "deploymentConfiguration": daemon.deployment_configuration,
        "createdAt": item.created_at,
        "startedAt": item.created_at,
        "stoppedAt": item.finished_at if item.deployment_status == "STOPPED" else None,
        "finishedAt": item.finished_at,
    }
    if item.rollback:
        wire["rollback"] = {
            "reason": item.rollback["reason"], "startedAt": item.rollback["startedAt"],
            "rollbackTargetDaemonRevisionArn": daemons.revision_arn(store, daemon,
                                                                    item.rollback["to"]),
            "rollbackCapacityProviders": list(daemon.capacity_provider_arns),
        }
    return wire


def deployment_summary(store: EcsStore, daemon, item: Deployment) -> dict:
    return {
        "daemonDeploymentArn": daemons.deployment_arn(store, daemon, item),
        "daemonArn": daemon.arn,
        "clusterArn": daemon.cluster_arn,
        "status": item.deployment_status,
        "statusReason": item.status_reason,
        "targetDaemonRevisionArn": daemons.revision_arn(store, daemon, item),
        "createdAt": item.created_at,
        "startedAt": item.created_at,
        "stoppedAt": item.finished_at if item.deployment_status == "STOPPED" else None,
        "finishedAt": item.finished_at,
    }


def revision(store: EcsStore, daemon, item: Deployment) -> dict:
    live = _live(store, daemon)
    digests = {}
    for task in live:
        if task.started_by == item.id:
            for container in task.containers:
                digests.setdefault(container.name, container.image_digest)
    service = daemon.service
    return {
        "daemonRevisionArn": daemons.revision_arn(store, daemon, item),
        "clusterArn": daemon.cluster_arn,
        "daemonArn": daemon.arn,
        "daemonTaskDefinitionArn": item.task_definition.arn,
        "createdAt": item.created_at,
        "containerImages": [{"containerName": c["name"], "image": c.get("image"),
                             "imageDigest": digests.get(c["name"])}
                            for c in item.task_definition.spec["containerDefinitions"]],
        "propagateTags": "DAEMON" if service.propagate_tags == "SERVICE" else "NONE",
        "enableECSManagedTags": service.enable_ecs_managed_tags,
        "enableExecuteCommand": service.enable_execute_command,
        "critical": daemon.critical,
    }


def task_definition(item: TaskDefinition) -> dict:
    request = item.request or {}
    return {
        **{k: v for k, v in request.items() if k != "family"},
        "daemonTaskDefinitionArn": item.arn,
        "family": item.family,
        "revision": item.revision,
        "status": item.status,
        "registeredAt": item.registered_at,
        "registeredBy": item.registered_by,
        "deleteRequestedAt": item.delete_requested_at,
    }


def task_definition_summary(item: TaskDefinition) -> dict:
    return {"arn": item.arn, "registeredAt": item.registered_at,
            "registeredBy": item.registered_by, "deleteRequestedAt": item.delete_requested_at,
            "status": item.status}


# -- counts ----------------------------------------------------------------------------------------

def _live(store: EcsStore, daemon) -> list:
    return [t for t in tasks_of(store, daemon.service) if not t.stop_requested]


def _counts(daemon, item: Deployment, live: list) -> tuple[int, int]:
    """(instances running this revision's task, instances of the cluster without any)."""
    running = {t.container_instance_arn for t in live
               if t.started_by == item.id and t.known == TaskStatus.RUNNING}
    covered = {t.container_instance_arn for t in live}
    without = max(item.desired_count - len(covered), 0) if item is daemon.service.primary else 0
    return len(running), without


def _revision_detail(store: EcsStore, daemon, item: Deployment, live: list) -> dict:
    running, without = _counts(daemon, item, live)
    return {
        "arn": daemons.revision_arn(store, daemon, item),
        "capacityProviders": _per_provider(daemon, {"runningCount": running,
                                                    "withoutDaemonCount": without}),
        "totalRunningCount": running,
        "totalWithoutDaemonCount": without,
    }


def _deployment_revision(store: EcsStore, daemon, item: Deployment, live: list) -> dict:
    running, without = _counts(daemon, item, live)
    draining = sum(1 for t in tasks_of(store, daemon.service) if t.started_by == item.id
                   and t.stop_requested and t.known < TaskStatus.STOPPED)
    return {
        "arn": daemons.revision_arn(store, daemon, item),
        "capacityProviders": _per_provider(daemon, {"runningInstanceCount": running,
                                                    "withoutDaemonInstanceCount": without,
                                                    "drainingInstanceCount": draining}),
        "totalRunningInstanceCount": running,
        "totalWithoutDaemonInstanceCount": without,
        "totalDrainingInstanceCount": draining,
    }


def _per_provider(daemon, counts: dict) -> list[dict]:
    """All instances count under the first provider (see emulator/ecs/daemons.py)."""
    zero = {k: 0 for k in counts}
    return [{"arn": arn, **(counts if i == 0 else zero)}
            for i, arn in enumerate(daemon.capacity_provider_arns)]
