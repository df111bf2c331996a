"""How a service's tasks fail: the deployment circuit breaker, the launch throttle, steadiness.

ECS's rules, as its developer guide states them ("How the Amazon ECS deployment circuit breaker
detects failures", "Amazon ECS service throttle logic"):
- Stage one: a deployment's failure count grows with each of its tasks that does not become a
  task that runs successfully (never RUNNING, or stopped before it was steady). Once one of its
  tasks runs successfully, the count goes back to zero (Deployment.failedTasks) and stage two
  begins: it counts tasks replaced for failed health checks and tasks whose essential container
  exits. The deployment FAILS when the count reaches the threshold: by default half the
  desired count, at least 3 and at most 200; thresholdConfiguration (COUNT, BOUNDED_PERCENT,
  UNBOUNDED_PERCENT) changes it (emulator/ecs/circuit_breaker.py). With resetOnHealthyTask on
  (the default) each task that becomes steady puts the count back to zero, not only the first;
  off, the count keeps every failure since the deployment began.
- The throttle: launches after tasks that failed to reach RUNNING wait longer and longer, with
  the event "(service X) is unable to consistently start tasks successfully.". ECS does not
  throttle tasks that stop after RUNNING; on AWS the minute a Fargate task takes to provision
  paces such a crash loop. Here a task starts in a fraction of a second, so tasks that stop
  before they were steady back off the same way, without that event (it would be false);
  not those whose essential container someone killed through Docker (`docker kill` in a test
  of the service's recovery): they did not crash, they come at the killer's pace, and the
  replacement is due at once. They still count for the circuit breaker, as any exit does.
- Steady: a task that has served (RUNNING, and HEALTHY where it has health checks) for
  settings.steady_after_s. A deployment is COMPLETED only when all its tasks are steady, and
  an old deployment's healthy tasks make room only for new tasks that are steady, so a
  revision whose containers die soon after starting never replaces healthy tasks.
"""

from __future__ import annotations

import time

from emulator.ecs.circuit_breaker import resets_on_healthy_task, threshold_of
from emulator.ecs.service_model import Deployment, Service
from emulator.engine.engine_outage import stopped_by_engine
from emulator.runtime.status import TaskStatus

FAILED_STOP_CODES = ("TaskFailedToStart", "EssentialContainerExited")
BREAKER_REASON = "ECS deployment circuit breaker: tasks failed to start."
THROTTLE_AFTER = 3  # consecutive failures before launches wait
UNABLE_EVENT = ("is unable to consistently start tasks successfully. For more information, "
                "see the Troubleshooting section of the Amazon ECS Developer Guide.")


def track_serving(tasks: list, now: float) -> None:
    """Note when each live task began to serve (the scheduler looks at least once a second);
    `now` is wall-clock time, as the task's own timestamps are."""
    for task in tasks:
        if not task.serving:
            task.serving_since = None
        elif task.serving_since is None:
            task.serving_since = now


def is_steady(task, now: float, steady_after_s: float) -> bool:
    return (task.serving and task.serving_since is not None
            and now - task.serving_since >= steady_after_s)


def deployment_of(service: Service, task) -> Deployment | None:
    return next((d for d in service.deployments if d.id == task.started_by), None)


def failed_to_start(task) -> bool:
    """Stopped before reaching RUNNING."""
    return task.stop_code == "TaskFailedToStart" or (
        task.stop_code in FAILED_STOP_CODES and task.started_at is None)


def _ran_steadily(task, steady_after_s: float) -> bool:
    if task.serving_since is None:
        return False
    ended = task.stopping_at.timestamp() if task.stopping_at else time.time()
    return ended - task.serving_since >= steady_after_s


def _killed(task) -> bool:
    """An essential container was ended through Docker (a kill event came before its exit)."""
    return any(c.killed for c in task.containers if c.essential)


class FailureCounter:
    """What the scheduler does with the news that a task changed; under the state lock."""

    def __init__(self, settings):
        self.settings = settings

    def on_task_changed(self, service: Service, task) -> None:
        if task.known == TaskStatus.RUNNING:
            service.consecutive_failures = 0  # the throttle counts consecutive start failures
            return
        if task.known == TaskStatus.STOPPED:
            self.count_failure(service, task)

    def count_failure(self, service: Service, task) -> None:
        """Count a task asked to stop for a failure, once: when it is STOPPED, or before, when a
        pass finds it still being torn down (the pass would otherwise replace it unthrottled:
        it is no longer live, and its failure not yet counted)."""
        if not task.stop_requested or task.arn in service.counted_failures:
            return
        if task.stop_code not in FAILED_STOP_CODES:
            return  # stopped on purpose: by the scheduler, a user, a reset or a Spot reclaim
        if stopped_by_engine(task):
            return  # its Docker Engine went: no fault of the task's (engine_outage.py)
        service.counted_failures.add(task.arn)  # listeners may hear of a task more than once
        deployment = deployment_of(service, task)
        never_ran = failed_to_start(task)
        if deployment is not None and deployment.rollout_state == "IN_PROGRESS":
            # Stage one counts tasks that never ran successfully; stage two, tasks that stop.
            deployment.failed_tasks += 1
        if never_ran:
            service.consecutive_failures += 1
            self.back_off(service)
        elif not _ran_steadily(task, self.settings.steady_after_s) and not _killed(task):
            service.quick_exits += 1
            self.back_off(service)

    def note_unplaced(self, service: Service) -> None:
        """A launch that could not be placed fails to start as well."""
        service.consecutive_failures += 1
        self.back_off(service)

    def back_off(self, service: Service) -> None:
        service.steady_reported = False
        failures = service.consecutive_failures + service.quick_exits
        if failures < THROTTLE_AFTER:
            return
        delay = min(2 ** (failures - THROTTLE_AFTER), self.settings.max_launch_backoff_s)
        service.next_launch_at = time.monotonic() + delay
        if service.consecutive_failures == THROTTLE_AFTER:
            service.add_event(UNABLE_EVENT)

    @staticmethod
    def on_steady(service: Service, deployment: Deployment, steady: list) -> None:
        """Some of the deployment's tasks run successfully. The first ends stage one; each one
        new to being steady resets the count when resetOnHealthyTask is on (a task steady
        over many passes resets it once). For the primary deployment, the throttle lets go
        (an old deployment's steady tasks say nothing of the new one's)."""
        new = [t for t in steady if t.arn not in deployment.healthy_tasks]
        deployment.healthy_tasks.update(t.arn for t in new)
        breaker = service.deployment_configuration.get("deploymentCircuitBreaker")
        if new and resets_on_healthy_task(breaker):
            deployment.failed_tasks = 0
        deployment.stage_two = True
        if deployment is service.primary and (service.quick_exits or service.next_launch_at):
            service.quick_exits = service.consecutive_failures = 0
            service.next_launch_at = 0.0


def alarms_of(service: Service) -> list[str]:
    """The deployment alarms being watched (deploymentConfiguration.alarms, when enabled)."""
    alarms = service.deployment_configuration.get("alarms") or {}
    return list(alarms.get("alarmNames") or []) if alarms.get("enable") else []


def alarms_tripped(service: Service, in_alarm) -> list[str]:
    """The watched alarms in the ALARM state while the primary deployment is in progress;
    `in_alarm(names)` reads their states (CloudWatch: moto's)."""
    names = alarms_of(service)
    primary = service.primary
    # A rollback is not watched: the alarm that caused it is likely still in ALARM.
    if not names or primary.rollout_state != "IN_PROGRESS" or primary.rolls_back:
        return []
    return sorted(in_alarm(names))


class CloudWatchAlarms:
    """Alarm states from CloudWatch (moto). While moto is not loaded no alarm exists, and a
    scheduler pass must not pay for loading it."""

    def __init__(self, moto):
        self._moto = moto

    def __call__(self, store, names: list[str]) -> list[str]:
        if not self._moto.loaded:
            return []
        alarms = self._moto.backend("cloudwatch", store.account, store.region).alarms
        return [name for name in names
                if name in alarms and alarms[name].state_value == "ALARM"]


def breaker_tripped(service: Service) -> bool:
    """The circuit breaker is on and the primary deployment has reached its threshold."""
    primary = service.primary
    breaker = service.deployment_configuration.get("deploymentCircuitBreaker") or {}
    if not breaker.get("enable") or primary.rollout_state != "IN_PROGRESS":
        return False
    return primary.failed_tasks >= threshold_of(breaker, primary.desired_count)
