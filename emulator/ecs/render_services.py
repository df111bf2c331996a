"""Services, their task sets, deployments and revisions -> wire dicts (as in botocore's output
shapes). The service half of render.py, split off along that seam."""

from __future__ import annotations

from emulator.ecs.store import EcsStore


def service(store: EcsStore, item, include: list[str] = ()) -> dict:
    from emulator.ecs.service_deployments import deployment_arn
    from emulator.ecs.services import tasks_of
    from emulator.runtime.status import TaskStatus

    live = [t for t in tasks_of(store, item) if not t.stop_requested]
    return {
        "serviceArn": item.arn,
        "serviceName": item.name,
        "clusterArn": item.cluster_arn,
        "loadBalancers": item.load_balancers,
        "serviceRegistries": item.service_registries,
        "status": item.status,
        "desiredCount": item.desired_count,
        "runningCount": sum(1 for t in live if t.known == TaskStatus.RUNNING),
        "pendingCount": sum(1 for t in live if t.known < TaskStatus.RUNNING),
        "launchType": item.launch_type,
        "capacityProviderStrategy": item.capacity_provider_strategy or None,
        "platformVersion": item.platform_version,
        "platformFamily": "Linux" if item.platform_version else None,
        "taskDefinition": item.task_definition.arn if item.task_definition else None,
        "deploymentConfiguration": item.deployment_configuration,
        "deployments": [_deployment(item, d, live) for d in item.deployments],
        "roleArn": item.role_arn,
        "events": item.events,
        "createdAt": item.created_at,
        "placementConstraints": item.placement_constraints,
        "placementStrategy": item.placement_strategy,
        "networkConfiguration": item.network_configuration,
        "healthCheckGracePeriodSeconds": item.health_check_grace_period or 0,
        "schedulingStrategy": item.scheduling_strategy,
        "deploymentController": item.deployment_controller,
        "tags": item.tags if "TAGS" in include else None,
        "createdBy": item.created_by,
        "enableECSManagedTags": item.enable_ecs_managed_tags,
        "propagateTags": item.propagate_tags,
        "enableExecuteCommand": item.enable_execute_command,
        "taskSets": ([task_set(store, item, s, include) for s in item.task_sets]
                     if item.deployment_controller.get("type") == "EXTERNAL" else None),
        "availabilityZoneRebalancing": item.availability_zone_rebalancing,
        "currentServiceDeployment": (deployment_arn(store, item, item.primary)
                                     if item.deployments else None),
        # The revisions running now: each live deployment's (the primary first), as ECS
        # shows them while one replaces another.
        "currentServiceRevisions": [revision_summary(store, item, d, live)
                                    for d in item.deployments],
    }


def revision_summary(store: EcsStore, service, deployment, live: list) -> dict:
    """A ServiceRevisionSummary (ServiceCurrentRevisionSummary has the same members): the
    deployment's revision, its desired count, and its tasks among `live` (not asked to stop)."""
    from emulator.ecs.service_deployments import revision_arn
    from emulator.runtime.status import TaskStatus

    mine = [t for t in live if t.started_by == deployment.id]
    return {
        "arn": revision_arn(store, service, deployment),
        "requestedTaskCount": deployment.desired_count,
        "runningTaskCount": sum(1 for t in mine if t.known == TaskStatus.RUNNING),
        "pendingTaskCount": sum(1 for t in mine if t.known < TaskStatus.RUNNING),
    }


def task_set(store: EcsStore, service, item, include: list[str] = ()) -> dict:
    """A TaskSet as the task set operations and DescribeServices show it."""
    from emulator.ecs.services import tasks_of
    from emulator.ecs.task_sets import computed_desired_count
    from emulator.runtime.status import TaskStatus

    mine = [t for t in tasks_of(store, service)
            if t.started_by == item.id and not t.stop_requested]
    return {
        "id": item.id,
        "taskSetArn": item.arn,
        "serviceArn": item.service_arn,
        "clusterArn": item.cluster_arn,
        "externalId": item.external_id,
        "status": item.status,
        "taskDefinition": item.task_definition.arn,
        "computedDesiredCount": computed_desired_count(service, item),
        "pendingCount": sum(1 for t in mine if t.known < TaskStatus.RUNNING),
        "runningCount": sum(1 for t in mine if t.known == TaskStatus.RUNNING),
        "createdAt": item.created_at,
        "updatedAt": item.updated_at,
        "launchType": item.launch_type,
        "capacityProviderStrategy": item.capacity_provider_strategy or None,
        "platformVersion": item.platform_version,
        "platformFamily": item.platform_family,
        "networkConfiguration": item.network_configuration,
        "loadBalancers": item.load_balancers,
        "serviceRegistries": item.service_registries,
        "scale": item.scale,
        "stabilityStatus": item.stability_status,
        "stabilityStatusAt": item.stability_status_at,
        "tags": item.tags if "TAGS" in include else None,
    }


def _deployment(item, deployment, live: list) -> dict:
    from emulator.runtime.status import TaskStatus

    mine = [t for t in live if t.started_by == deployment.id]
    return {
        "id": deployment.id,
        "status": deployment.status,
        "taskDefinition": deployment.task_definition.arn,
        "desiredCount": deployment.desired_count,
        "pendingCount": sum(1 for t in mine if t.known < TaskStatus.RUNNING),
        "runningCount": sum(1 for t in mine if t.known == TaskStatus.RUNNING),
        "failedTasks": deployment.failed_tasks,
        "createdAt": deployment.created_at,
        "updatedAt": deployment.updated_at,
        "launchType": deployment.launch_type,
        "capacityProviderStrategy": deployment.capacity_provider_strategy or None,
        "platformVersion": deployment.platform_version,
        "platformFamily": "Linux" if deployment.platform_version else None,
        "networkConfiguration": deployment.network_configuration,
        "rolloutState": deployment.rollout_state,
        "rolloutStateReason": deployment.rollout_state_reason,
        "serviceConnectConfiguration": deployment.service_connect_configuration,
    }


def service_deployment_brief(store: EcsStore, service, deployment) -> dict:
    from emulator.ecs.service_deployments import deployment_arn, revision_arn

    return {
        "serviceDeploymentArn": deployment_arn(store, service, deployment),
        "serviceArn": service.arn,
        "clusterArn": service.cluster_arn,
        "startedAt": deployment.created_at,
        "createdAt": deployment.created_at,
        "finishedAt": deployment.finished_at,
        "targetServiceRevisionArn": revision_arn(store, service, deployment),
        "status": deployment.deployment_status,
        "statusReason": deployment.status_reason,
    }


def service_deployment(store: EcsStore, service, deployment) -> dict:
    from emulator.ecs.service_deployments import deployment_arn, revision_arn
    from emulator.ecs.services import tasks_of

    live = [t for t in tasks_of(store, service) if not t.stop_requested]

    def summary(item) -> dict:
        return revision_summary(store, service, item, live)

    sources = [d for d in service.history if d.id in deployment.source_ids]
    breaker = service.deployment_configuration.get("deploymentCircuitBreaker") or {}
    alarms = service.deployment_configuration.get("alarms") or {}
    from emulator.ecs.circuit_breaker import threshold_of

    wire = {
        "serviceDeploymentArn": deployment_arn(store, service, deployment),
        "serviceArn": service.arn,
        "clusterArn": service.cluster_arn,
        "createdAt": deployment.created_at,
        "startedAt": deployment.created_at,
        "finishedAt": deployment.finished_at,
        "stoppedAt": deployment.finished_at if deployment.deployment_status == "STOPPED" else None,
        "updatedAt": deployment.updated_at,
        "sourceServiceRevisions": [summary(s) for s in sources],
        "targetServiceRevision": summary(deployment),
        "status": deployment.deployment_status,
        "statusReason": deployment.status_reason,
        "deploymentConfiguration": service.deployment_configuration,
        "deploymentCircuitBreaker": {
            "status": _monitor_status(breaker.get("enable"), deployment,
                                      deployment.breaker_triggered),
            "failureCount": deployment.failed_tasks,
            "threshold": threshold_of(breaker, deployment.desired_count),
        },
        "alarms": {
            "status": _monitor_status(alarms.get("enable"), deployment,
                                      bool(deployment.triggered_alarms)),
            "alarmNames": list(alarms.get("alarmNames") or []),
            "triggeredAlarmNames": list(deployment.triggered_alarms),
        },
        "lifecycleStage": deployment.lifecycle_stage,
        "lifecycleHookDetails": [{
            "hookId": run.hook_id, "targetType": "PAUSE", "status": run.status,
            "expiresAt": run.expires_at, "timeoutAction": run.timeout_action,
        } for run in deployment.hook_runs] or None,
    }
    if deployment.rollback:
        wire["rollback"] = {
            "reason": deployment.rollback["reason"],
            "startedAt": deployment.rollback["startedAt"],
            "serviceRevisionArn": revision_arn(store, service, deployment.rollback["to"]),
        }
    return wire


def service_revision(store: EcsStore, service, deployment) -> dict:
    from emulator.ecs.service_deployments import revision_arn

    return {
        "serviceRevisionArn": revision_arn(store, service, deployment),
        "serviceArn": service.arn,
        "clusterArn": service.cluster_arn,
        "taskDefinition": deployment.task_definition.arn,
        "capacityProviderStrategy": deployment.capacity_provider_strategy or None,
        "launchType": deployment.launch_type,
        "platformVersion": deployment.platform_version,
        "platformFamily": "Linux" if deployment.platform_version else None,
        "loadBalancers": deployment.load_balancers,
        "serviceRegistries": deployment.service_registries,
        "networkConfiguration": deployment.network_configuration,
        "containerImages": [
            {"containerName": c["name"], "image": c["image"]}
            for c in deployment.task_definition.spec["containerDefinitions"]
        ],
        "guardDutyEnabled": False,
        "createdAt": deployment.created_at,
    }


def _monitor_status(enabled, deployment, triggered: bool) -> str:
    """A rollback monitor's status (the circuit breaker's or the alarms')."""
    if not enabled:
        return "DISABLED"
    if triggered:
        return "TRIGGERED"
    return "MONITORING_COMPLETE" if deployment.finished_at else "MONITORING"
