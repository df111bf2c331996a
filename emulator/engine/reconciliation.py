"""One pass of the service scheduler (scheduler.py) over one service: a Reconciliation compares
the service's deployments with its live tasks (desired RUNNING), stops what must go (old
deployments within minimumHealthyPercent, excess tasks, tasks failing health checks), starts
what is missing within maximumPercent through the task door, and marks a deployment COMPLETED
or, with the circuit breaker or alarms, FAILED (rolling back when asked).

Apart from scheduler.py, which runs the passes (its thread, the engine's reports of task
changes, the failure counts), because this is what one pass decides; the DAEMON, EXTERNAL,
draining and lifecycle-hook passes (daemon_scheduler.py, task_set_scheduler.py,
instance_draining.py, deployment_hooks.py) each take a Reconciliation.
"""

from __future__ import annotations

import logging
import math
import time
from typing import TYPE_CHECKING

from emulator.aws.errors import AwsError
from emulator.ecs import services as service_ops
from emulator.ecs.launch_request import LaunchRequest, Origin
from emulator.ecs.service_model import Deployment, Service
from emulator.ecs.store import EcsStore
from emulator.ecs.task_protection import split_protected
from emulator.engine import daemon_scheduler, deployment_hooks, instance_draining, task_set_scheduler
from emulator.engine.service_failures import (
    BREAKER_REASON,
    alarms_tripped,
    breaker_tripped,
    deployment_of,
    is_steady,
    track_serving,
)
from emulator.runtime.status import HealthStatus, TaskStatus

if TYPE_CHECKING:  # the scheduler imports this module
    from emulator.engine.scheduler import ServiceScheduler

log = logging.getLogger("emulator.scheduler")

SCHEDULER_STOP = "ServiceSchedulerInitiated"
# (DAEMON strategy, EXTERNAL controller: no deployments) -> who launches
_ORIGINS = {(False, False): Origin.SERVICE, (True, False): Origin.DAEMON,
            (False, True): Origin.TASK_SET, (True, True): Origin.TASK_SET}


class Reconciliation:
    """One pass over one service."""

    def __init__(self, scheduler: ServiceScheduler, store: EcsStore, service: Service):
        self.scheduler = scheduler
        self.store = store
        self.service = service
        tasks = service_ops.tasks_of(store, service)
        self.live = [t for t in tasks if not t.stop_requested]
        # Asked to stop, still being torn down (seconds on a loaded host): not live, and maybe
        # a failure the engine will report only once the task is STOPPED.
        self.ending = [t for t in tasks if t.stop_requested and t.known < TaskStatus.STOPPED]
        self.now = time.time()
        track_serving(self.live, self.now)

    def run(self) -> None:
        if self.service.status == "DRAINING":
            self._drain()
            return
        if not self.service.deployments:
            task_set_scheduler.reconcile(self)  # EXTERNAL controller: task sets own the tasks
            return
        if self.service.scheduling_strategy == "DAEMON":
            daemon_scheduler.reconcile(self)
            return
        # counted before they are replaced: the throttle holds
        self.scheduler.count_failures(self.store, self.service, self.ending)
        self.replace_unhealthy()
        self.note_steady_tasks()
        self.check_circuit_breaker()
        self.check_alarms()
        may_launch, may_clean_up = deployment_hooks.gates(self)
        instance_draining.drain(self)
        self.stop_surplus(keep_old=not may_clean_up)
        if may_launch:
            self._launch_missing()
        self.finish_deployments()

    # -- stopping -----------------------------------------------------------------------------------

    def _drain(self) -> None:
        self.stop_tasks(self.live, "Service is being deleted")
        if not service_ops.tasks_of(self.store, self.service) or all(
            t.known == TaskStatus.STOPPED for t in service_ops.tasks_of(self.store, self.service)
        ):
            self.service.status = "INACTIVE"
            for deployment in self.service.deployments:
                deployment.status = "INACTIVE"

    def replace_unhealthy(self) -> None:
        grace = self.service.health_check_grace_period or 0
        now = time.time()
        unhealthy = [t for t in self.live if t.health == HealthStatus.UNHEALTHY
                     and t.started_at is not None and now - t.started_at.timestamp() >= grace]
        for task in unhealthy:
            # The circuit breaker counts failed health checks; the launch throttle does not
            # (ECS's service throttle logic only counts tasks that never reached RUNNING).
            deployment = deployment_of(self.service, task)
            if deployment is not None and deployment.rollout_state == "IN_PROGRESS":
                deployment.failed_tasks += 1
        self.stop_tasks(unhealthy, "Task failed container health checks")

    def stop_surplus(self, keep_old: bool = False) -> None:
        primary = self.service.primary
        # A lifecycle hook still to come keeps the old deployment's serving tasks; protected
        # tasks are spared by deployments and scale-in alike (task_protection.py).
        old, spared_old = split_protected([t for t in self.live if t.started_by != primary.id
                                           and not (keep_old and t.serving)])
        mine, spared_mine = split_protected([t for t in self.live if self._mine(t, primary)])
        # Old deployments' tasks that are not yet healthy can go at once; serving ones only as
        # far as minimumHealthyPercent allows, counting only steady tasks as healthy (a failed
        # deployment's tasks that serve for a moment before they die are no cover), and the
        # ones that are not steady first.
        minimum = math.ceil(self._desired() * self.percent("minimumHealthyPercent") / 100)
        healthy = sum(1 for t in self.live if self.steady(t))
        victims = [t for t in old if not t.serving]
        allowance = healthy - minimum
        for task in sorted((t for t in old if t.serving), key=self.steady):
            if allowance <= 0:
                break
            victims.append(task)
            allowance -= 1
        excess = len(mine) + len(spared_mine) - primary.desired_count
        if excess > 0:
            # Scale in: pending tasks first, then the newest.
            ordered = sorted(mine, key=lambda t: (t.known == TaskStatus.RUNNING, -t.created_at.timestamp()))
            victims += ordered[:excess]
        self.stop_tasks(victims, "Scaling activity initiated by (deployment {})".format(primary.id))
        if spared_old or excess > len(mine):
            self.note_protected(len(spared_old) + max(excess - len(mine), 0))

    def note_protected(self, count: int) -> None:
        """Once per change in what protection holds back, as ECS reports it."""
        message = f"was unable to scale in due to (reason: {count} tasks under protection)."
        if self.service.add_event_once(message):
            self.service.steady_reported = False

    def stop_tasks(self, tasks: list, reason: str) -> None:
        stopped = [t for t in tasks if self.store.door.stop(self.store, t, SCHEDULER_STOP, reason)]
        if not stopped:
            return
        self.live = [t for t in self.live if t not in stopped]
        running = [t for t in stopped if t.known == TaskStatus.RUNNING]
        if running:
            self.service.add_event(
                f"has stopped {len(running)} running tasks: "
                + " ".join(f"(task {t.id})" for t in running) + ".")
        self.service.steady_reported = False

    # -- launching ----------------------------------------------------------------------------------

    def _launch_missing(self) -> None:
        primary = self.service.primary
        if primary.rollout_state == "FAILED":
            return
        if time.monotonic() < self.service.next_launch_at:
            return
        mine = sum(1 for t in self.live if self._mine(t, primary))
        missing = primary.desired_count - mine
        if missing <= 0:
            return
        maximum = math.floor(self._desired() * self.percent("maximumPercent") / 100)
        room = max(maximum - len(self.live), 0) if len(self.live) > mine else missing
        if deployment_hooks.launches_in_full(self.service):
            room = missing
        count = min(missing, room)
        if count <= 0:
            return
        self.launch_tasks(primary, count)

    def _mine(self, task, primary: Deployment) -> bool:
        """The primary deployment's task, unless it is being drained off its instance
        (instance_draining.py replaces it; it must not count as one that stays)."""
        return task.started_by == primary.id and not instance_draining.on_draining_instance(
            self.store, task)

    def launch_tasks(self, deployment: Deployment, count: int) -> None:
        """Launch `count` tasks of a deployment or task set through the task door."""
        if not self.scheduler.engine_answers():
            return  # held until the engine is back (engine_outage.py)
        try:
            admitted = self.store.door.launch(self.store, self.launch_request(deployment, count),
                                              placer=self.scheduler._placer or False)
        except AwsError as error:
            self._note_unplaced(f"was unable to place a task. Reason: {error.message}")
            return
        if admitted.failures:
            reasons = ", ".join(sorted({f.reason for f in admitted.failures}))
            self._note_unplaced("was unable to place a task because no container instance met "
                                f"all of its requirements. Reason: {reasons}")
        self.note_started(admitted.tasks)

    def note_started(self, started: list) -> None:
        if started:
            self.live += started
            self.service.add_event(
                f"has started {len(started)} tasks: " + " ".join(f"(task {t.id})" for t in started) + ".")
            self.service.steady_reported = False

    def _note_unplaced(self, message: str) -> None:
        """One event per distinct problem (not one per pass), and launches back off."""
        self.service.add_event_once(message)
        self.scheduler.note_failure(self.service)

    def launch_request(self, deployment: Deployment, count: int = 1,
                       instance: str | None = None) -> LaunchRequest:
        """What the service asks for a deployment's (or task set's) tasks; on `instance` for
        a daemon. Each task's capacity provider is chosen by the door (base, then weight),
        counting from the deployment's live tasks."""
        service = self.service
        if deployment.capacity_provider_strategy:
            where = {"capacity_provider_strategy": tuple(deployment.capacity_provider_strategy),
                     "provider_counts": self._provider_counts(deployment)}
        else:
            where = {"launch_type": deployment.launch_type or "EC2"}
        return LaunchRequest(
            origin=_ORIGINS[(service.scheduling_strategy == "DAEMON", not service.deployments)],
            task_definition=deployment.task_definition.arn,
            count=count,
            cluster=service.cluster_name,
            network_configuration=deployment.network_configuration or None,
            platform_version=(deployment.platform_version
                              if deployment.launch_type != "EC2" else None),
            placement_constraints=tuple(service.placement_constraints),
            placement_strategy=tuple(service.placement_strategy),
            container_instances=(instance,) if instance else None,
            started_by=deployment.id,
            group=service.task_group,
            tags=tuple(self._propagated_tags(deployment)),
            enable_ecs_managed_tags=service.enable_ecs_managed_tags,
            service_name=service.name,
            enable_execute_command=service.enable_execute_command,
            **where,
        )

    def _provider_counts(self, deployment: Deployment) -> tuple[tuple[str, int], ...]:
        """The deployment's live tasks per capacity provider: a launch of several spreads them
        from there (one provider chosen for the whole launch put every task on it)."""
        counts: dict[str, int] = {}
        for task in self.live:
            if task.started_by == deployment.id and task.capacity_provider:
                counts[task.capacity_provider] = counts.get(task.capacity_provider, 0) + 1
        return tuple(counts.items())

    def _propagated_tags(self, deployment: Deployment) -> list[dict]:
        if self.service.propagate_tags == "SERVICE":
            return list(self.service.tags)
        if self.service.propagate_tags == "TASK_DEFINITION":
            return list(deployment.task_definition.tags)
        return []

    # -- deployments --------------------------------------------------------------------------------

    def steady(self, task) -> bool:
        return is_steady(task, self.now, self.scheduler.settings.steady_after_s)

    def note_steady_tasks(self) -> None:
        for deployment in self.service.deployments:
            steady = [t for t in self.live if t.started_by == deployment.id and self.steady(t)]
            if steady:
                self.scheduler.failures.on_steady(self.service, deployment, steady)

    def check_circuit_breaker(self) -> None:
        if not breaker_tripped(self.service):
            return
        breaker = self.service.deployment_configuration["deploymentCircuitBreaker"]
        self.service.primary.breaker_triggered = True
        self._fail_primary(BREAKER_REASON, "tasks failed to start.", bool(breaker.get("rollback")),
                           "Circuit breaker: tasks failed to start.")

    def check_alarms(self) -> None:
        tripped = alarms_tripped(
            self.service, lambda names: self.scheduler.alarms_in_alarm(self.store, names))
        if not tripped:
            return
        alarms = self.service.deployment_configuration["alarms"]
        self.service.primary.triggered_alarms = tripped
        names = ", ".join(tripped)
        self._fail_primary(f"ECS deployment failed: alarm(s) {names} in ALARM state.",
                           f"alarm(s) {names} in ALARM state.", bool(alarms.get("rollback")),
                           f"CloudWatch alarm(s) {names} in ALARM state.")

    def _fail_primary(self, reason: str, event: str, rollback: bool, rollback_reason: str) -> None:
        primary = self.service.primary
        primary.rollout_state = "FAILED"
        primary.rollout_state_reason = reason
        self.service.add_event(f"(deployment {primary.id}) deployment failed: {event}")
        last_good = self.service.last_completed
        if rollback and last_good is not None:
            service_ops.roll_back(self.service, primary, last_good, rollback_reason)
        else:
            # Without a rollback (or nothing COMPLETED to return to) the deployment stalls: no
            # new tasks, the ones that run stay.
            primary.finish("STOPPED", reason)
        self.store.changed()

    def finish_deployments(self) -> None:
        primary = self.service.primary
        mine = [t for t in self.live if t.started_by == primary.id]
        others = [t for t in self.live if t.started_by != primary.id]
        if others or len(mine) != primary.desired_count or not all(self.steady(t) for t in mine):
            return
        if len(self.service.deployments) > 1:
            for old in self.service.deployments[1:]:
                old.status = "INACTIVE"
            del self.service.deployments[1:]
        if primary.rollout_state == "IN_PROGRESS":
            primary.rollout_state = "COMPLETED"
            primary.rollout_state_reason = f"ECS deployment {primary.id} completed."
            primary.finish("SUCCESSFUL")
            self.service.add_event(f"(deployment {primary.id}) deployment completed.")
            for other in self.service.history:
                if other.id == primary.rolls_back and other.deployment_status == "ROLLBACK_IN_PROGRESS":
                    other.finish("ROLLBACK_SUCCESSFUL", other.rollback["reason"])
        if primary.rollout_state == "COMPLETED":
            self.service.last_completed = primary
        if not self.service.steady_reported:
            self.service.add_event("has reached a steady state.")
            self.service.steady_reported = True

    def _desired(self) -> int:
        return self.service.desired_count

    def percent(self, key: str) -> int:
        return self.service.deployment_configuration.get(key, 100 if key == "minimumHealthyPercent" else 200)
