"""The task door: the one way tasks enter the emulator, and the one way they are asked to stop.

RunTask, StartTask and the service scheduler (services, daemons, task sets) each hand the door a
LaunchRequest (ecs/launch_request.py). The door builds the tasks (ecs/task_launch.py), places
those of the EC2 launch type, admits the placed ones to the store, and hands them to the task
engine directly, as the ECS agent's TaskEngine.AddTask is handed a task: the engine never looks
through the stores for work. Stop requests go through `stop` so that whoever watches tasks
(EventBridge's task events) hears of the change when it is made.

Placement is pluggable: `placer` (placement.place by default) chooses instances for tasks that
may go anywhere; tasks bound to an instance (StartTask, a daemon's) are checked against it with
placement.place_on. One TaskDoor serves every store of an EcsState (it is handed to each store).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from emulator.ecs import container_instances, placement
from emulator.ecs.errors import InvalidParameterException
from emulator.ecs.launch_request import LaunchRequest, Origin
from emulator.ecs.placement import PlacementFailure
from emulator.ecs.task_launch import build_tasks
from emulator.ecs.task_model import Task

log = logging.getLogger("emulator.engine")

# A task bound to an instance whose launch type is not EC2 (a daemon's, of a Fargate strategy).
NOT_EC2 = "LAUNCH_TYPE"


@dataclass
class Admission:
    """What a launch made: the tasks admitted, and why the others could not be placed."""

    tasks: list[Task] = field(default_factory=list)
    failures: list[PlacementFailure] = field(default_factory=list)


def _nowhere(store, cluster, tasks, constraints, strategy):
    """A placer that places nothing: tasks keep no container instance (scheduler unit tests)."""
    return tasks, []


class TaskDoor:
    def __init__(self, placer=placement.place):
        # fn(store, cluster, tasks, constraints, strategy) -> (placed, failures)
        self.placer = placer
        # fn(store, tasks): the task engine's intake (TaskEngine.admit); None: no engine
        self.engine: Callable | None = None
        # fn(store, task) when a task is admitted or asked to stop (known-status changes are
        # the engine's to tell: TaskEngine.task_listeners)
        self.watchers: list[Callable] = []

    # -- in -----------------------------------------------------------------------------------

    def launch(self, store, request: LaunchRequest, placer=None) -> Admission:
        """Build, place and admit the request's tasks (call under the state lock). Raises the
        request's AwsError before anything is admitted. `placer` overrides the door's for one
        launch (False: place nothing)."""
        # The scheduler keeps a service's tasks going on a cluster that is being deleted.
        cluster = store.cluster(request.cluster, active=not request.origin.by_scheduler)
        tasks = build_tasks(store, request, cluster)
        if request.container_instances is not None:
            placed, failures = self._place_on(store, cluster, tasks, request)
        else:
            placed, failures = self._place(store, cluster, tasks, request, placer)
        self.admit(store, placed)
        return Admission(placed, failures)

    def admit(self, store, tasks: list[Task]) -> None:
        """Into the store, to the engine, to the watchers; then wake whoever waits."""
        if not tasks:
            return
        for task in tasks:
            store.tasks[task.arn] = task
        if self.engine is not None:
            self.engine(store, tasks)
        for task in tasks:
            self._tell(store, task)
        store.changed()

    def _place(self, store, cluster, tasks: list[Task], request: LaunchRequest, placer):
        constraints = list(request.placement_constraints)
        strategy = list(request.placement_strategy)
        launch_type = tasks[0].launch_type
        if request.origin is Origin.RUN_TASK:
            _check_run_task_placement(store, cluster, launch_type, constraints, strategy)
        if launch_type != "EC2":
            return tasks, []
        placer = _nowhere if placer is False else (placer or self.placer)
        return placer(store, cluster, tasks, constraints, strategy)

    def _place_on(self, store, cluster, tasks: list[Task], request: LaunchRequest):
        """Each task on its instance (StartTask: one per instance named; a daemon: its one)."""
        chosen, failures = [], []
        for ref, task in zip(request.container_instances, tasks):
            if task.launch_type != "EC2":
                failures.append(PlacementFailure(cluster.arn, NOT_EC2))
                continue
            instance = store.find_container_instance(cluster.name, ref)
            if instance is None or instance.status != "ACTIVE":
                arn = instance.arn if instance else container_instances.failure_arn(
                    store, cluster, ref)
                # DRAINING instances take no new tasks; deregistered ones are INACTIVE.
                failures.append(PlacementFailure(arn, instance.status if instance else "MISSING"))
                continue
            chosen.append((task, instance))
        placed, refused = placement.place_on(store, cluster, chosen)
        return placed, failures + refused

    # -- out ----------------------------------------------------------------------------------

    def stop(self, store, task: Task, stop_code: str, reason: str) -> bool:
        """Ask the task to stop (the first reason wins, as on ECS); False if it was asked
        already. Wakes the task's runner and whoever waits (call under the state lock)."""
        if not task.request_stop(stop_code, reason):
            return False
        self._tell(store, task)
        store.changed()
        return True

    def _tell(self, store, task: Task) -> None:
        for watcher in self.watchers:
            try:
                watcher(store, task)
            except Exception:  # a watcher is a side channel: the launch or stop stands
                log.exception("a task watcher failed for %s", task.arn)


def _check_run_task_placement(store, cluster, launch_type: str, constraints: list[dict],
                              strategy: list[dict]) -> None:
    """RunTask's own checks: Fargate takes no placement; EC2 needs an instance to exist."""
    if launch_type == "FARGATE":
        if constraints:
            raise InvalidParameterException(
                "Placement constraints are not supported with FARGATE launch type.")
        if strategy:
            raise InvalidParameterException(
                "Placement strategies are not supported with FARGATE launch type.")
    if launch_type != "EC2":
        return
    placement.validate(constraints, strategy)
    if not placement.ensure_instances(store, cluster):
        raise InvalidParameterException(placement.NO_INSTANCES)
