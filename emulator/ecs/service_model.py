"""Services and their deployments as plain dataclasses.

A service's deployments are newest first: the first is PRIMARY, the rest ACTIVE until their
tasks are gone. The scheduler (emulator/engine/scheduler.py) is their one writer after creation.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import ClassVar

from emulator.ecs.model import TaskDefinition, utcnow

MAX_EVENTS = 100  # DescribeServices shows the latest 100 events, as ECS does


def new_deployment_id() -> str:
    return f"ecs-svc/{random.randrange(10**18, 10**19)}"


@dataclass
class HookRun:
    """One PAUSE hook holding a deployment at a lifecycle stage until ContinueServiceDeployment."""

    hook_id: str
    stage: str
    expires_at: dt.datetime
    timeout_action: str  # CONTINUE or ROLLBACK
    status: str = "AWAITING_ACTION"  # then SUCCEEDED, FAILED (rolled back) or TIMED_OUT


@dataclass
class Deployment:
    """One deployment of a service: a task definition and the tasks it runs."""
    id: str
    task_definition: TaskDefinition
    desired_count: int
    launch_type: str | None
    capacity_provider_strategy: list[dict]
    platform_version: str | None
    network_configuration: dict | None
    status: str = "PRIMARY"  # PRIMARY, ACTIVE, INACTIVE
    rollout_state: str = "IN_PROGRESS"  # IN_PROGRESS, COMPLETED, FAILED
    rollout_state_reason: str = "ECS deployment {id} in progress."
    failed_tasks: int = 0
    created_at: dt.datetime = field(default_factory=utcnow)
    updated_at: dt.datetime = field(default_factory=utcnow)
    # What ListServiceDeployments shows (its own status vocabulary), and when it ended.
    deployment_status: str = "IN_PROGRESS"
    status_reason: str | None = None
    finished_at: dt.datetime | None = None
    rollback: dict | None = None  # {"reason", "startedAt", "serviceRevisionArn"} once rolled back
    source_ids: list[str] = field(default_factory=list)  # deployments it replaces
    load_balancers: list[dict] = field(default_factory=list)
    service_registries: list[dict] = field(default_factory=list)
    service_connect_configuration: dict | None = None  # as given (ecs/service_connect.py)
    rolls_back: str | None = None  # the failed deployment this one returns from
    stage_two: bool = False  # one of its tasks ran steadily: the circuit breaker's stage two
    healthy_tasks: set[str] = field(default_factory=set)  # its tasks seen steady (each resets)
    breaker_triggered: bool = False  # what failed it: the circuit breaker, or these alarms
    triggered_alarms: list[str] = field(default_factory=list)
    # Lifecycle stages and PAUSE hooks (emulator/engine/deployment_hooks.py): the stage it is
    # in, the stages it has passed, and one HookRun per hook that paused it.
    lifecycle_stage: str | None = None
    passed_stages: list[str] = field(default_factory=list)
    hook_runs: list["HookRun"] = field(default_factory=list)

    def __post_init__(self):
        self.rollout_state_reason = self.rollout_state_reason.format(id=self.id)

    @property
    def number(self) -> str:
        """The id's digits: names the service deployment and the service revision in ARNs."""
        return self.id.rsplit("/", 1)[-1]

    def finish(self, status: str, reason: str | None = None) -> None:
        self.deployment_status = status
        self.status_reason = reason
        self.finished_at = self.updated_at = utcnow()


@dataclass
class Service:
    """An ECS service as the store holds it."""
    # A service of a snapshot from before the field: ECS shows ENABLED for one made without it
    # (persistence/snapshot.py).
    restored_defaults: ClassVar[dict] = {"availability_zone_rebalancing": "ENABLED"}

    name: str
    arn: str
    cluster_name: str
    cluster_arn: str
    desired_count: int
    task_definition: TaskDefinition
    launch_type: str | None
    capacity_provider_strategy: list[dict]
    platform_version: str | None
    network_configuration: dict | None
    deployment_configuration: dict
    deployment_controller: dict
    scheduling_strategy: str = "REPLICA"
    load_balancers: list[dict] = field(default_factory=list)
    service_registries: list[dict] = field(default_factory=list)
    service_connect_configuration: dict | None = None  # what its next deployment carries
    placement_constraints: list[dict] = field(default_factory=list)
    placement_strategy: list[dict] = field(default_factory=list)
    health_check_grace_period: int | None = None
    # Recorded and shown, not acted on (the emulator's tasks share one Availability Zone).
    availability_zone_rebalancing: str | None = None
    propagate_tags: str = "NONE"
    enable_ecs_managed_tags: bool = False
    enable_execute_command: bool = False
    role_arn: str | None = None
    created_by: str | None = None
    tags: list[dict] = field(default_factory=list)
    status: str = "ACTIVE"  # ACTIVE, DRAINING, INACTIVE
    deployments: list[Deployment] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    created_at: dt.datetime = field(default_factory=utcnow)
    # The scheduler's memory between passes: consecutive launches that failed to start, tasks
    # that stopped before they were steady, and when to try again (engine/service_failures.py).
    consecutive_failures: int = 0
    quick_exits: int = 0
    next_launch_at: float = 0.0
    steady_reported: bool = False
    last_completed: Deployment | None = None  # what the circuit breaker rolls back to
    history: list[Deployment] = field(default_factory=list)  # every deployment, newest first
    counted_failures: set[str] = field(default_factory=set)  # tasks already counted as failed
    task_sets: list = field(default_factory=list)  # EXTERNAL controller (ecs/task_sets.py)
    # The tasks' group; a daemon's tasks (ecs/daemons.py, which runs one as a DAEMON service
    # hidden from the service APIs) are "daemon:<name>"
    group: str | None = None

    @property
    def task_group(self) -> str:
        return self.group or f"service:{self.name}"

    @property
    def primary(self) -> Deployment:
        return self.deployments[0]

    def add_event(self, message: str) -> None:
        import uuid

        self.events.insert(0, {"id": str(uuid.uuid4()), "createdAt": utcnow(),
                               "message": f"(service {self.name}) {message}"})
        del self.events[MAX_EVENTS:]

    def add_event_once(self, message: str) -> bool:
        """The event, unless it is the latest one already: a problem that persists (a task
        that fits nowhere, tasks under protection) is told once, not once per scheduler pass.
        The one rule by which service events are not repeated. True if added."""
        if self.events and self.events[0]["message"] == f"(service {self.name}) {message}":
            return False
        self.add_event(message)
        return True
