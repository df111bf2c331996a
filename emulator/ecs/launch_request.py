"""A launch request: what every way of starting tasks asks of the task door (ecs/task_door.py).

RunTask and StartTask make one from their request; the service scheduler makes one per launch
for a deployment, a daemon's instance or a task set. It says what to run (the task definition,
overrides, how many), where (cluster, launch type or capacity providers, placement, network) and
why (the origin, startedBy, group, tags), so the door checks, builds, places and admits every
task the same way, whoever asked.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Origin(enum.Enum):
    """Who asks. The scheduler's origins may launch INACTIVE revisions (a service keeps
    scaling the one it runs) and any number of tasks; RunTask may launch 1 to 10."""

    RUN_TASK = "RunTask"
    START_TASK = "StartTask"
    SERVICE = "service"
    DAEMON = "daemon"
    TASK_SET = "task set"

    @property
    def by_scheduler(self) -> bool:
        return self in (Origin.SERVICE, Origin.DAEMON, Origin.TASK_SET)


@dataclass(frozen=True)
class LaunchRequest:
    """What to launch, where and how: one RunTask-like request, from any origin."""
    # what
    task_definition: str  # family[:revision] or ARN
    origin: Origin
    count: int = 1
    overrides: dict = field(default_factory=dict)
    # where
    cluster: str | None = None  # name or ARN; None: "default"
    launch_type: str | None = None
    capacity_provider_strategy: tuple[dict, ...] = ()
    # A scheduler's: the tasks its deployment already has per capacity provider, so that the
    # launch's spread (base, then weight) carries on from them, task by task
    provider_counts: tuple[tuple[str, int], ...] = ()
    platform_version: str | None = None
    network_configuration: dict | None = None
    placement_constraints: tuple[dict, ...] = ()
    placement_strategy: tuple[dict, ...] = ()
    # StartTask's chosen instances (IDs or ARNs), a daemon's instance; None: placement chooses
    container_instances: tuple[str, ...] | None = None
    # why
    started_by: str | None = None
    group: str | None = None
    tags: tuple[dict, ...] = ()
    propagate_tags: str | None = None  # TASK_DEFINITION copies the definition's tags
    # ECS's managed tags (aws:ecs:clusterName; a service's tasks aws:ecs:serviceName too)
    enable_ecs_managed_tags: bool = False
    service_name: str | None = None  # the service whose scheduler launches (managed tags)
    enable_execute_command: bool = False

    @classmethod
    def run_task(cls, request) -> LaunchRequest:
        """RunTask's request, as named values (its clientToken is RunTask's own business:
        ecs/tasks.py)."""
        return cls(origin=Origin.RUN_TASK, count=1 if request.count is None else request.count,
                   placement_constraints=tuple(request.placement_constraints or ()),
                   placement_strategy=tuple(request.placement_strategy or ()),
                   capacity_provider_strategy=tuple(request.capacity_provider_strategy or ()),
                   launch_type=request.launch_type, platform_version=request.platform_version,
                   **_common(request))

    @classmethod
    def start_task(cls, request) -> LaunchRequest:
        """StartTask's: one task on each instance named, always of the EC2 launch type."""
        refs = tuple(request.container_instances)
        return cls(origin=Origin.START_TASK, count=len(refs), container_instances=refs,
                   launch_type="EC2", **_common(request))


def _common(request) -> dict:
    """What RunTask's and StartTask's requests share (both input shapes name these members)."""
    return {
        "task_definition": request.task_definition,
        "cluster": request.cluster,
        "overrides": request.overrides or {},
        "network_configuration": request.network_configuration,
        "started_by": request.started_by,
        "group": request.group,
        "tags": tuple(request.tags or ()),
        "propagate_tags": request.propagate_tags,
        "enable_ecs_managed_tags": bool(request.enable_ecs_managed_tags),
        "enable_execute_command": bool(request.enable_execute_command),
    }
