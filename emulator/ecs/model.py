"""ECS's resources as plain dataclasses (snake_case; render.py turns them into wire dicts).

A task definition keeps the user's registration document (`spec`) as ECS stores it: camelCase
as on the wire, with the defaults ECS fills in (essential, cpu 0, hostPort, healthCheck timings)
and task cpu/memory normalized ("1 vCPU" -> "1024"); describing gives it back, and the runtime
reads it field by field.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class Cluster:
    """An ECS cluster as the store holds it."""
    name: str
    arn: str
    status: str = "ACTIVE"
    settings: list[dict] = field(default_factory=lambda: [{"name": "containerInsights", "value": "disabled"}])
    configuration: dict | None = None
    service_connect_defaults: dict | None = None
    capacity_providers: list[str] = field(default_factory=list)
    default_strategy: list[dict] = field(default_factory=list)
    tags: list[dict] = field(default_factory=list)
    created_at: dt.datetime = field(default_factory=utcnow)


@dataclass
class CapacityProvider:
    """An ECS capacity provider as the store holds it."""
    name: str
    arn: str
    status: str = "ACTIVE"
    auto_scaling_group_provider: dict | None = None
    managed_instances_provider: dict | None = None
    cluster: str | None = None
    update_status: str | None = None
    update_status_reason: str | None = None
    tags: list[dict] = field(default_factory=list)

    @property
    def built_in(self) -> bool:
        return self.name in ("FARGATE", "FARGATE_SPOT")


@dataclass
class TaskDefinition:
    """One revision of a task definition family."""
    family: str
    revision: int
    arn: str
    spec: dict  # the registration request without tags, normalized as ECS stores it
    compatibilities: list[str]
    requires_attributes: list[dict]
    registered_by: str
    status: str = "ACTIVE"  # ACTIVE, INACTIVE, DELETE_IN_PROGRESS
    registered_at: dt.datetime = field(default_factory=utcnow)
    deregistered_at: dt.datetime | None = None
    delete_requested_at: dt.datetime | None = None
    tags: list[dict] = field(default_factory=list)
    # A daemon task definition's request as sent (ecs/daemon_task_definitions.py); else None
    request: dict | None = None


@dataclass
class ContainerInstance:
    """A container instance of a cluster: the local Docker host, or one registered by a caller."""
    arn: str
    instance_id: str  # the last element of the ARN
    cluster_name: str
    ec2_instance_id: str | None
    registered_resources: list[dict]
    version_info: dict
    status: str = "ACTIVE"  # ACTIVE, DRAINING, INACTIVE, ...
    agent_connected: bool = True
    attributes: list[dict] = field(default_factory=list)
    tags: list[dict] = field(default_factory=list)
    registered_at: dt.datetime = field(default_factory=utcnow)
    version: int = 1
    # The local Docker host, registered by the emulator itself (not by the user): it goes away
    # with its cluster instead of keeping the cluster from being deleted.
    auto_registered: bool = False
    # Which Docker Engine runs its tasks (engine/engines.py); None: the default one.
    engine: str | None = None
    # UpdateContainerAgent (emulator/ecs/agent_updates.py): when the update began, to which version
    agent_update_started: dt.datetime | None = None
    agent_update_target: str | None = None


@dataclass
class Attribute:
    """A custom attribute put on a target (a container instance)."""
    name: str
    target_type: str
    target_id: str  # a container instance's ARN
    value: str | None = None
