"""The circuit breaker's two stages, steadiness and the launch throttle, on the scheduler alone:
tasks are records whose lives the test writes (no Docker; the Docker paths are in
test_service_crashes.py)."""

from __future__ import annotations

import dataclasses

import pytest

from emulator.aws.context import RequestContext
from emulator.config import Settings
from emulator.ecs import clusters, services, task_definitions
from emulator.ecs.circuit_breaker import threshold
from emulator.ecs.errors import InvalidParameterException
from emulator.ecs.store import EcsState
from emulator.engine.scheduler import ServiceScheduler
from emulator.runtime.status import HealthStatus, TaskStatus
from tests.ecs_requests import ecs_request

ACCOUNT, REGION = "123456789012", "us-east-1"
BREAKER = {"deploymentCircuitBreaker": {"enable": True, "rollback": True}}
# Room for a whole new set of tasks beside the healthy ones, none of which may go before time.
ROLLING = {**BREAKER, "maximumPercent": 200, "minimumHealthyPercent": 100}


class World:
    """One cluster, one service, a scheduler, and the verbs that play its tasks' lives."""

    def __init__(self, desired=2, configuration=None, **settings):
        self.state = EcsState()
        self.state.lock.acquire()  # one thread plays everyone: the scheduler's lock is ours
        self.store = self.state.store_for(ACCOUNT, REGION)
        self.settings = dataclasses.replace(Settings(), **settings)
        self.scheduler = ServiceScheduler(self.state, self.settings)
        clusters.create(self.store, ecs_request("CreateCluster", {"clusterName": "c"}))
        self.good = self.register("good")
        self.service = services.create(self.store, ecs_request("CreateService", {
            "cluster": "c", "serviceName": "web", "taskDefinition": self.good,
            "desiredCount": desired, "deploymentConfiguration": configuration or {}}), "me")

    def register(self, image: str) -> str:
        return task_definitions.register(
            self.store, RequestContext(ACCOUNT, REGION),
            ecs_request("RegisterTaskDefinition", {"family": "web", "containerDefinitions": [
                {"name": "main", "image": image, "memory": 64}]})).arn

    def deploy(self, image: str):
        """A new deployment of the service, to a task definition of `image`."""
        self.service.task_definition = task_definitions.resolve(self.store, self.register(image))
        return services.start_deployment(self.service)

    def run_pass(self):
        self.scheduler.reconcile_all()

    def live(self, deployment=None):
        return [t for t in services.tasks_of(self.store, self.service)
                if t.desired < TaskStatus.STOPPED
                and (deployment is None or t.started_by == deployment.id)]

    def start(self, task):
        task.advance(TaskStatus.RUNNING)
        self.scheduler.on_task_changed(self.store, task)

    def age(self, seconds=60):
        """As if the live tasks had served for a while (steadiness is measured in time)."""
        for task in self.live():
            if task.serving_since is not None:
                task.serving_since -= seconds

    def stop(self, task, code="EssentialContainerExited"):
        task.request_stop(code, "Essential container in task exited")
        task.advance(TaskStatus.STOPPED)
        self.scheduler.on_task_changed(self.store, task)

    def settle(self):
        """Every live task RUNNING and served long enough: the deployment can complete."""
        self.run_pass()
        for task in self.live():
            if task.known < TaskStatus.RUNNING:
                self.start(task)
        self.run_pass()
        self.age()
        self.run_pass()

    def unthrottle(self):
        self.service.next_launch_at = 0.0

    def messages(self):
        return [e["message"] for e in self.service.events]


def test_threshold_is_half_the_desired_count_within_3_and_200():
    assert [threshold(n) for n in (0, 1, 6, 7, 100, 399, 401, 1000)] == [
        3, 3, 3, 4, 50, 200, 200, 200]


@pytest.mark.parametrize("kind, value, expected", [
    ("BOUNDED_PERCENT", 50, [3, 3, 3, 4, 50, 200, 200, 200]),
    ("BOUNDED_PERCENT", 10, [3, 3, 3, 3, 10, 40, 41, 100]),
    ("BOUNDED_PERCENT", 100, [3, 3, 6, 7, 100, 200, 200, 200]),
    ("UNBOUNDED_PERCENT", 50, [1, 1, 3, 4, 50, 200, 201, 500]),
    ("UNBOUNDED_PERCENT", 10, [1, 1, 1, 1, 10, 40, 41, 100]),
    ("COUNT", 2, [2] * 8),
    ("COUNT", 500, [500] * 8),
])
def test_threshold_per_type(kind, value, expected):
    desired = (0, 1, 6, 7, 100, 399, 401, 1000)
    assert [threshold(n, {"type": kind, "value": value}) for n in desired] == expected


@pytest.mark.parametrize("configuration, message", [
    ({"type": "COUNT", "value": 0},
     "thresholdConfiguration value must be at least 1 for type COUNT."),
    ({"type": "UNBOUNDED_PERCENT", "value": -5},
     "thresholdConfiguration value must be at least 1 for type UNBOUNDED_PERCENT."),
    ({"type": "BOUNDED_PERCENT", "value": 101},
     "thresholdConfiguration value must be between 1 and 100 for type BOUNDED_PERCENT."),
])
def test_bad_threshold_values_are_refused_on_create_and_update(configuration, message):
    breaker = {"deploymentCircuitBreaker": {"enable": True, "rollback": False,
                                            "thresholdConfiguration": configuration}}
    with pytest.raises(InvalidParameterException, match=message):
        World(configuration=breaker)
    world = World()
    with pytest.raises(InvalidParameterException, match=message):
        services.update(world.store, ecs_request("UpdateService", {
            "cluster": "c", "service": "web", "deploymentConfiguration": breaker}))
    assert "thresholdConfiguration" not in world.service.deployment_configuration[
        "deploymentCircuitBreaker"]


def test_a_deployment_completes_only_once_its_tasks_are_steady():
    world = World(desired=2)
    world.run_pass()
    for task in world.live():
        world.start(task)
    world.run_pass()
    primary = world.service.primary
    assert primary.rollout_state == "IN_PROGRESS"  # RUNNING, not yet steady
    assert "(service web) has reached a steady state." not in world.messages()
    world.age()
    world.run_pass()
    assert primary.rollout_state == "COMPLETED"
    assert world.messages().count("(service web) has reached a steady state.") == 1


def test_stage_one_tasks_that_never_run_trip_the_breaker_and_stall_without_a_completed_one():
    world = World(desired=2, configuration=BREAKER)
    primary = world.service.primary
    for _ in range(3):
        world.unthrottle()
        world.run_pass()
        world.stop(world.live()[0], "TaskFailedToStart")
    world.run_pass()
    assert primary.rollout_state == "FAILED"
    assert primary.rollout_state_reason == "ECS deployment circuit breaker: tasks failed to start."
    assert primary.failed_tasks == 3
    assert primary.deployment_status == "STOPPED"  # nothing COMPLETED to roll back to: stalled
    launched = len(world.store.tasks)
    world.unthrottle()
    world.run_pass()
    assert len(world.store.tasks) == launched  # a failed deployment launches nothing


def test_a_crash_loop_before_steadiness_counts_and_never_reports_steady():
    world = World(desired=1, configuration={"deploymentCircuitBreaker": {
        "enable": True, "rollback": False}})
    primary = world.service.primary
    for _ in range(3):
        world.unthrottle()
        world.run_pass()
        task = world.live()[0]
        world.start(task)
        world.run_pass()  # RUNNING, serving, not steady
        assert primary.rollout_state == "IN_PROGRESS"
        world.stop(task)
    world.run_pass()
    assert primary.rollout_state == "FAILED" and primary.failed_tasks == 3
    assert not any("steady state" in m for m in world.messages())
    # ECS's throttle event is for tasks that never reach RUNNING only.
    assert not any("unable to consistently start" in m for m in world.messages())


def test_stage_two_resets_the_count_then_counts_exits_and_failed_health_checks():
    world = World(desired=2, configuration=BREAKER)
    world.settle()
    first = world.service.primary
    assert first.rollout_state == "COMPLETED"
    second = world.deploy("bad")
    world.run_pass()
    new = world.live(second)
    world.stop(new[0], "TaskFailedToStart")  # stage one: counted
    assert second.failed_tasks == 1
    world.start(new[1])
    world.run_pass()
    world.age()
    world.run_pass()  # one task ran steadily: stage two, the count starts again
    assert second.stage_two and second.failed_tasks == 0
    for _ in range(3):
        world.unthrottle()
        world.run_pass()
        pending = [t for t in world.live(second) if t.known < TaskStatus.RUNNING]
        if pending:  # started, not steady: a task that became steady would reset the count
            world.start(pending[0])
            world.run_pass()
        victim = world.live(second)[0]
        victim.health = HealthStatus.UNHEALTHY
        world.run_pass()  # replaced for its failed health check
        victim.advance(TaskStatus.STOPPED)
        world.scheduler.on_task_changed(world.store, victim)
        if second.rollout_state == "FAILED":
            break
    assert second.rollout_state == "FAILED" and second.failed_tasks == 3
    assert second.deployment_status == "ROLLBACK_IN_PROGRESS"
    rollback = world.service.primary
    assert rollback.task_definition.arn == world.good and rollback.rolls_back == second.id


def _breaker(reset: bool | None, count: int) -> dict:
    breaker = {"enable": True, "rollback": False,
               "thresholdConfiguration": {"type": "COUNT", "value": count}}
    if reset is not None:
        breaker["resetOnHealthyTask"] = reset
    return {"deploymentCircuitBreaker": breaker}


def _pending(world):
    world.unthrottle()
    world.run_pass()
    return [t for t in world.live() if t.known < TaskStatus.RUNNING]


def _fail_one(world):
    world.stop(_pending(world)[0], "TaskFailedToStart")


def _one_becomes_steady(world):
    world.start(_pending(world)[0])
    world.run_pass()  # the scheduler sees it serve
    world.age()
    world.run_pass()


@pytest.mark.parametrize("reset", [None, True])  # resetOnHealthyTask left out means true
def test_each_task_that_becomes_healthy_resets_the_failure_count(reset):
    world = World(desired=3, configuration=_breaker(reset, 2))
    primary = world.service.primary
    _fail_one(world)
    assert primary.failed_tasks == 1
    _one_becomes_steady(world)
    assert primary.failed_tasks == 0 and primary.stage_two
    _fail_one(world)
    world.run_pass()  # the task that was already steady does not reset it again
    assert primary.failed_tasks == 1
    _one_becomes_steady(world)  # a task new to being healthy does
    assert primary.failed_tasks == 0
    _fail_one(world)
    world.run_pass()
    assert primary.rollout_state == "IN_PROGRESS"  # 1 of COUNT 2


def test_without_reset_on_healthy_task_failures_add_up_to_the_threshold():
    world = World(desired=3, configuration=_breaker(False, 2))
    primary = world.service.primary
    _fail_one(world)
    _one_becomes_steady(world)
    assert primary.failed_tasks == 1 and primary.stage_two  # cumulative: not reset
    _fail_one(world)
    world.run_pass()
    assert primary.rollout_state == "FAILED" and primary.failed_tasks == 2


def test_a_rolling_update_keeps_healthy_tasks_until_new_ones_are_steady():
    world = World(desired=2, configuration=ROLLING)
    world.settle()
    old = world.live()
    new_deployment = world.deploy("bad")
    for _ in range(4):  # new tasks run, then die before they are steady
        world.unthrottle()
        world.run_pass()
        for task in world.live(new_deployment):
            world.start(task)
        world.run_pass()
        assert all(t.desired == TaskStatus.RUNNING for t in old), "a healthy task was stopped"
        for task in world.live(new_deployment):
            world.stop(task)
        world.run_pass()
        if new_deployment.rollout_state == "FAILED":
            break
    assert new_deployment.rollout_state == "FAILED"
    assert world.service.primary.rolls_back == new_deployment.id
    assert all(t.desired == TaskStatus.RUNNING for t in old)
    world.settle()  # the rollback's tasks become steady; then the old ones make room
    world.settle()
    assert world.service.primary.rollout_state == "COMPLETED"
    assert new_deployment.deployment_status == "ROLLBACK_SUCCESSFUL"
    assert len(world.live()) == 2


def test_the_throttle_waits_longer_after_each_failure_and_a_steady_task_resets_it():
    world = World(desired=1)
    delays = []
    for _ in range(6):
        world.unthrottle()
        world.run_pass()
        world.stop(world.live()[0], "TaskFailedToStart")
        delays.append(world.service.next_launch_at)
    waits = [d for d in delays if d]
    assert len(waits) == 4  # from the third failure on
    launched = len(world.store.tasks)
    world.run_pass()
    assert len(world.store.tasks) == launched  # held back while throttled
    assert world.messages().count(
        "(service web) is unable to consistently start tasks successfully. For more "
        "information, see the Troubleshooting section of the Amazon ECS Developer Guide.") == 1
    gaps = [b - a for a, b in zip(waits, waits[1:])]
    assert all(gap > 0 for gap in gaps)  # each wait ends later than the one before: growth
    world.unthrottle()
    world.settle()
    assert world.service.next_launch_at == 0.0 and world.service.consecutive_failures == 0


def test_a_failed_task_still_being_torn_down_is_counted_before_it_is_replaced():
    """The engine asks a task that failed to start to stop, and says STOPPED only once its
    containers are gone (seconds on a loaded host): a pass in between must not replace it at
    once, as though it had not failed, nor count it twice when STOPPED comes."""
    world = World(desired=1)
    ending = []
    for _ in range(3):
        world.run_pass()  # never unthrottled: the third failure must hold the next launch
        [task] = world.live()
        task.request_stop("TaskFailedToStart", "CannotPullContainerError: no such image")
        ending.append(task)
    world.run_pass()
    assert world.live() == [] and world.service.next_launch_at > 0
    assert world.service.consecutive_failures == 3
    for task in ending:
        task.advance(TaskStatus.STOPPED)
        world.scheduler.on_task_changed(world.store, task)
    assert world.service.consecutive_failures == 3


def test_failures_counted_by_a_pass_are_told_before_its_rollback_resets_them():
    """Starts impaired (ecs_events.py) is told by the service listeners from the count: a pass
    that counts the third failure of a task still torn down, then rolls back in the same pass
    (which resets the count), must tell them in between."""
    world = World(desired=1, configuration=BREAKER)
    world.settle()
    world.deploy("broken")
    seen = []
    world.scheduler.service_listeners.append(
        lambda store, service: seen.append(service.consecutive_failures))
    for _ in range(3):
        world.unthrottle()
        world.run_pass()
        [task] = world.live(world.service.primary)
        task.request_stop("TaskFailedToStart", "CannotPullContainerError: no such image")
    world.run_pass()  # counts the third, trips the breaker, rolls back
    assert world.service.primary.rollout_state_reason.startswith("ECS deployment circuit breaker")
    assert world.service.consecutive_failures == 0 and max(seen) == 3


def test_quick_exits_after_running_back_off_too_but_long_runs_do_not():
    world = World(desired=1)
    for _ in range(4):
        world.unthrottle()
        world.run_pass()
        task = world.live()[0]
        world.start(task)
        world.stop(task)
    assert world.service.quick_exits == 4 and world.service.next_launch_at > 0
    world.unthrottle()
    world.settle()
    assert world.service.quick_exits == 0
    task = world.live()[0]
    world.stop(task)  # it had run steadily: no back-off
    assert world.service.quick_exits == 0 and world.service.next_launch_at == 0.0


def test_tasks_killed_through_docker_are_replaced_at_once_and_still_count_for_the_breaker():
    """`docker kill` of a service's task (a test of its recovery) is no crash loop: no back-off;
    the deployment's failure count still grows, as for any essential container's exit."""
    world = World(desired=1)
    for _ in range(4):
        world.run_pass()  # never unthrottled: a back-off would leave nothing launched
        [task] = world.live()
        world.start(task)
        task.containers[0].killed = True
        world.stop(task)
    assert world.service.quick_exits == 0 and world.service.next_launch_at == 0.0
    assert world.service.primary.failed_tasks == 4
    world.run_pass()
    assert len(world.live()) == 1


@pytest.mark.parametrize("code", ["UserInitiated", "ServiceSchedulerInitiated",
                                  "SpotInterruption", "TerminationNotice"])
def test_tasks_stopped_on_purpose_are_not_failures(code):
    world = World(desired=1, configuration=BREAKER)
    world.run_pass()
    world.stop(world.live()[0], code)
    assert world.service.primary.failed_tasks == 0 and world.service.consecutive_failures == 0


def test_an_alarm_in_alarm_state_fails_the_deployment_and_rolls_back():
    alarms = {"alarms": {"alarmNames": ["errors", "latency"], "enable": True, "rollback": True}}
    world = World(desired=1, configuration=alarms)
    firing = []
    world.scheduler.alarms_in_alarm = lambda store, names: [n for n in names if n in firing]
    world.settle()
    assert world.service.primary.rollout_state == "COMPLETED"
    firing.append("errors")
    world.run_pass()  # a completed deployment is no longer watched
    assert world.service.primary.rollout_state == "COMPLETED"
    second = world.deploy("new")
    world.run_pass()
    assert second.rollout_state == "FAILED" and second.triggered_alarms == ["errors"]
    assert second.rollout_state_reason == "ECS deployment failed: alarm(s) errors in ALARM state."
    assert world.service.primary.rolls_back == second.id
    assert not second.breaker_triggered


def test_a_rollback_keeps_healthy_tasks_while_failed_ones_still_serve():
    """The breaker trips while some of the failed deployment's tasks serve for a moment: they
    are no cover for stopping the healthy old tasks."""
    world = World(desired=2, configuration=ROLLING)
    world.settle()
    old = world.live()
    bad = world.deploy("bad")
    while bad.rollout_state == "IN_PROGRESS":
        world.unthrottle()
        world.run_pass()
        new = world.live(bad)
        for task in new:
            if task.known < TaskStatus.RUNNING:
                world.start(task)
        world.run_pass()
        world.stop(new[0])  # one dies; the other serves on
        world.run_pass()
        assert all(t.desired == TaskStatus.RUNNING for t in old), "a healthy task was stopped"
    assert world.service.primary.rolls_back == bad.id
