"""Service deployments and service revisions (ListServiceDeployments, DescribeServiceDeployments,
DescribeServiceRevisions, StopServiceDeployment): a view of each service's deployment history.

Every deployment of a service is one service deployment, and its configuration one service
revision; both ARNs end in the deployment id's digits.
"""

from __future__ import annotations

from emulator.ecs import arns
from emulator.ecs.errors import (
    ConflictException,
    InvalidParameterException,
    ServiceDeploymentNotFoundException,
)
from emulator.ecs.service_model import Deployment, Service
from emulator.ecs.services import roll_back
from emulator.ecs.store import EcsStore

STOPPABLE = ("PENDING", "IN_PROGRESS")


def deployment_arn(store: EcsStore, service: Service, deployment: Deployment) -> str:
    return arns.deployment(store, "service-deployment", service, deployment.number)


def revision_arn(store: EcsStore, service: Service, deployment: Deployment) -> str:
    return arns.deployment(store, "service-revision", service, deployment.number)


def find(store: EcsStore, arn: str, resource_type: str) -> tuple[Service, Deployment] | None:
    parts = arns.deployment_parts(store, arn, resource_type)
    service = store.services.get(parts[:2]) if parts is not None else None
    if service is None:
        return None
    deployment = next((d for d in service.history if d.number == parts[2]), None)
    return (service, deployment) if deployment is not None else None


def listed(store: EcsStore, service: Service, statuses: list[str] | None = None,
           created: dict | None = None) -> list[Deployment]:
    """The service's deployments of the statuses given, created in the range given
    (CreatedAt's `before` and `after`)."""
    statuses = set(statuses or [])
    created = created or {}
    found = []
    for deployment in service.history:
        if statuses and deployment.deployment_status not in statuses:
            continue
        if "before" in created and deployment.created_at >= created["before"]:
            continue
        if "after" in created and deployment.created_at <= created["after"]:
            continue
        found.append(deployment)
    return found


def stop(store: EcsStore, arn: str, stop_type: str) -> str:
    """ROLLBACK returns to the last completed deployment; ABORT leaves tasks as they are."""
    found = find(store, arn, "service-deployment")
    if found is None:
        raise ServiceDeploymentNotFoundException("The service deployment does not exist.")
    service, deployment = found
    if deployment.deployment_status not in STOPPABLE or deployment is not service.primary:
        raise ConflictException(
            f"The service deployment is {deployment.deployment_status} and cannot be stopped.",
            resourceIds=[arn])
    if stop_type == "ROLLBACK":
        if service.last_completed is None:
            raise InvalidParameterException(
                "There is no earlier successful deployment to roll back to.")
        deployment.rollout_state = "FAILED"
        deployment.rollout_state_reason = "Stopped by user; rolling back."
        roll_back(service, deployment, service.last_completed,
                  "Rolled back by StopServiceDeployment.")
    else:
        deployment.rollout_state = "FAILED"
        deployment.rollout_state_reason = "Stopped by user."
        deployment.finish("STOPPED", "Stopped by user.")
    store.changed()
    return arn
