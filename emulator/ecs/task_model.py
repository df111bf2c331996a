"""Tasks and their containers as plain dataclasses.

A task has one writer of its known status (its runner in the engine, or the event watcher for
containers that die) and a desired status that only moves forward. Timestamps are set as the task
passes each step, so DescribeTasks shows what ECS would show at that moment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from emulator.ecs.model import TaskDefinition, utcnow
from emulator.runtime.status import ContainerStatus, HealthStatus, TaskStatus


@dataclass
class TaskContainer:
    """One container of a task, with what the runtime reported of it."""
    name: str
    arn: str
    definition: dict  # the container definition with this task's overrides applied
    runtime_id: str | None = None
    known: ContainerStatus = ContainerStatus.PENDING
    exit_code: int | None = None
    reason: str | None = None
    health: HealthStatus = HealthStatus.UNKNOWN
    image_digest: str | None = None
    network_bindings: list[dict] = field(default_factory=list)
    started: bool = False  # the container was started at least once (dependsOn START)
    # Docker was asked to signal it (a kill event: `docker kill`, `docker stop`, ours or
    # another's) before it exited: it was ended, it did not crash (service_failures.py).
    killed: bool = False

    @property
    def essential(self) -> bool:
        return self.definition.get("essential", True)

    @property
    def has_health_check(self) -> bool:
        return bool(self.definition.get("healthCheck"))

    def binding(self, port, protocol: str | None = "tcp") -> dict | None:
        """The binding Docker published for the container's `port` over `protocol` (None: any,
        TCP first). Over TCP, never a UDP binding: its host port says nothing of who holds that
        port over TCP (another program of the host may)."""
        found = [b for b in self.network_bindings
                 if b.get("containerPort") == port and b.get("hostPort")]
        if protocol is None:
            return next((b for b in found if b.get("protocol", "tcp") == "tcp"),
                        found[0] if found else None)
        return next((b for b in found if b.get("protocol", "tcp") == protocol), None)

    def host_port(self, port, protocol: str | None = "tcp") -> int | None:
        """The host port of `binding(port, protocol)`, or None."""
        found = self.binding(port, protocol)
        return found["hostPort"] if found else None


@dataclass
class Task:
    """An ECS task as the store holds it: desired and known status, containers."""
    arn: str
    id: str
    cluster_name: str
    cluster_arn: str
    definition: TaskDefinition
    launch_type: str | None
    capacity_provider: str | None
    containers: list[TaskContainer]
    overrides: dict
    cpu: str | None
    memory: str | None
    network_mode: str
    network_configuration: dict | None = None
    platform_version: str | None = None
    platform_family: str | None = None
    group: str | None = None
    started_by: str | None = None
    tags: list[dict] = field(default_factory=list)
    enable_execute_command: bool = False
    container_instance_arn: str | None = None
    availability_zone: str | None = None
    engine: str | None = None  # the Docker Engine it runs on (engine/engines.py); None: default
    ephemeral_storage: dict | None = None
    stop_grace_s: int | None = None  # overrides each container's stopTimeout (emulator reset)
    protected_until: dt.datetime | None = None  # scale-in protection (ecs/task_protection.py)
    desired: TaskStatus = TaskStatus.RUNNING
    known: TaskStatus = TaskStatus.PROVISIONING
    health: HealthStatus = HealthStatus.UNKNOWN
    stop_code: str | None = None
    stopped_reason: str | None = None
    attachments: list[dict] = field(default_factory=list)
    private_ip: str | None = None
    # The pause container holding its network namespace (awsvpc; a bridge task's from the
    # sandbox pool): an address on the emulator's network that is this task's (access/callers.py).
    sandbox_id: str | None = None
    version: int = 1
    created_at: dt.datetime = field(default_factory=utcnow)
    connectivity_at: dt.datetime | None = None
    pull_started_at: dt.datetime | None = None
    pull_stopped_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    stopping_at: dt.datetime | None = None
    execution_stopped_at: dt.datetime | None = None
    stopped_at: dt.datetime | None = None
    serving_since: float | None = None  # when its service's scheduler first saw it serving

    def container(self, name: str) -> TaskContainer | None:
        return next((c for c in self.containers if c.name == name), None)

    def ports_freed(self, container: TaskContainer) -> None:
        """`container` stopped: where it published its own ports (a bridge or host task not in
        a pool sandbox), Docker freed them and any program of the host may take them now, so
        they are no longer its bindings (nothing sends it traffic there). An awsvpc task's and
        a pooled bridge task's are its sandbox's, which holds them while the task lasts."""
        if self.network_mode in ("bridge", "host") and self.sandbox_id is None:
            container.network_bindings = []

    @property
    def stop_requested(self) -> bool:
        """The task is meant to stop (its desired status is STOPPED): StopTask, its service's
        scheduler, an essential container's exit, a failure to start... asked for it. The one
        spelling of that question (the task goes on towards STOPPED from wherever it is)."""
        return self.desired >= TaskStatus.STOPPED

    @property
    def desired_status(self) -> str:
        """What the API shows as desiredStatus."""
        return "STOPPED" if self.stop_requested else "RUNNING"

    @property
    def last_status(self) -> str:
        """What the API shows as lastStatus. ECS provisions (and deprovisions) only an awsvpc
        task's network interface: other tasks show PENDING and STOPPING through those steps
        (the developer guide's task lifecycle)."""
        known = self.known
        if self.network_mode != "awsvpc":
            if known == TaskStatus.PROVISIONING:
                return "PENDING"
            if known == TaskStatus.DEPROVISIONING:
                return "STOPPING"
        return known.name

    @property
    def pending(self) -> bool:
        """Counted as pending: not yet RUNNING, and not meant to stop."""
        return self.known < TaskStatus.RUNNING and not self.stop_requested

    def request_stop(self, stop_code: str, reason: str) -> bool:
        """Move the desired status to STOPPED (once: the first reason wins, as on ECS). Outside
        the engine, ask through the task door (ecs/task_door.py), which tells the watchers."""
        if self.stop_requested:
            return False
        self.desired = TaskStatus.STOPPED
        self.stop_code = stop_code
        self.stopped_reason = reason
        self.version += 1
        return True

    def advance(self, status: TaskStatus) -> bool:
        """Move the known status forward (never back), stamping the step's timestamp."""
        if status <= self.known:
            return False
        self.known = status
        self.version += 1
        now = utcnow()
        if status >= TaskStatus.RUNNING and self.started_at is None and self.stop_code is None:
            self.started_at = now
        if status >= TaskStatus.STOPPING and self.stopping_at is None:
            self.stopping_at = now
        if status >= TaskStatus.DEPROVISIONING and self.execution_stopped_at is None:
            self.execution_stopped_at = now
        if status >= TaskStatus.STOPPED and self.stopped_at is None:
            self.stopped_at = now
        return True

    @property
    def serving(self) -> bool:
        """What a service counts as healthy: RUNNING, and HEALTHY where its essential
        containers have health checks (otherwise: not UNHEALTHY)."""
        if self.known != TaskStatus.RUNNING:
            return False
        checked = any(c.essential and c.has_health_check for c in self.containers)
        return self.health == HealthStatus.HEALTHY if checked else self.health != HealthStatus.UNHEALTHY

    def aggregate_health(self) -> HealthStatus:
        """ECS's rule: UNHEALTHY if any essential container with a check is unhealthy, HEALTHY
        if all of them are healthy, UNKNOWN otherwise (or when none has a check)."""
        checked = [c for c in self.containers if c.essential and c.has_health_check]
        if not checked:
            return HealthStatus.UNKNOWN
        if any(c.health == HealthStatus.UNHEALTHY for c in checked):
            return HealthStatus.UNHEALTHY
        if all(c.health == HealthStatus.HEALTHY for c in checked):
            return HealthStatus.HEALTHY
        return HealthStatus.UNKNOWN
