"""The service scheduler alone (no Docker; tasks are records whose lives the test writes, as in
test_service_failures.py, whose World this reuses): replacement of stopped and unhealthy tasks,
a rolling update kept within minimumHealthyPercent and maximumPercent, scale-in, and the events
of a task that fits on no container instance."""

from __future__ import annotations

from emulator.aws.context import RequestContext
from emulator.ecs import placement, services, task_definitions
from emulator.ecs.local_instance import LocalHost
from emulator.runtime.status import HealthStatus, TaskStatus
from tests.test_service_failures import ACCOUNT, REGION, World
from tests.ecs_requests import ecs_request

UNPLACED = ("was unable to place a task because no container instance met all of its "
            "requirements. Reason: ")


def move_on(world: World) -> None:
    """What the engine would do next: tasks told to stop stop, new tasks start, time passes."""
    for task in services.tasks_of(world.store, world.service):
        if task.desired >= TaskStatus.STOPPED and task.known < TaskStatus.STOPPED:
            task.advance(TaskStatus.STOPPED)
            world.scheduler.on_task_changed(world.store, task)
    for task in world.live():
        if task.known < TaskStatus.RUNNING:
            world.start(task)
    world.age()


def test_a_task_that_stopped_is_replaced():
    world = World(desired=2)
    world.settle()
    gone = world.live()[0]
    world.stop(gone)
    world.unthrottle()
    world.run_pass()
    live = world.live()
    assert len(live) == 2 and gone not in live
    assert any(m.startswith("(service web) has started 1 tasks:") for m in world.messages())


def test_an_unhealthy_task_is_stopped_and_replaced():
    world = World(desired=2)
    world.settle()
    sick = world.live()[0]
    sick.health = HealthStatus.UNHEALTHY
    world.run_pass()
    assert sick.desired == TaskStatus.STOPPED
    assert sick.stopped_reason == "Task failed container health checks"
    assert len(world.live()) == 2 and sick not in world.live()


def test_a_rolling_update_stays_within_minimum_healthy_and_maximum_percent():
    world = World(desired=4, configuration={"maximumPercent": 100, "minimumHealthyPercent": 50})
    world.settle()
    old = {t.arn for t in world.live()}
    world.service.task_definition = task_definitions.resolve(world.store, world.register("v2"))
    new = services.start_deployment(world.service)
    for _ in range(10):
        world.run_pass()
        live = world.live()
        assert len(live) <= 4, "more tasks than maximumPercent allows"
        assert sum(1 for t in live if t.known == TaskStatus.RUNNING) >= 2, \
            "fewer running tasks than minimumHealthyPercent asks"
        if new.rollout_state == "COMPLETED":
            break
        move_on(world)
    assert new.rollout_state == "COMPLETED"
    assert not old & {t.arn for t in world.live()} and len(world.live(new)) == 4


def test_with_room_to_spare_a_rolling_update_starts_all_new_tasks_first():
    world = World(desired=2, configuration={"maximumPercent": 200, "minimumHealthyPercent": 100})
    world.settle()
    old = world.live()
    world.service.task_definition = task_definitions.resolve(world.store, world.register("v2"))
    new = services.start_deployment(world.service)
    world.run_pass()
    assert all(t.desired == TaskStatus.RUNNING for t in old)
    assert len(world.live(new)) == 2


def test_scale_in_stops_pending_tasks_before_running_ones():
    world = World(desired=3)
    world.run_pass()
    running = world.live()[:2]
    for task in running:
        world.start(task)
    world.service.primary.desired_count = world.service.desired_count = 2
    world.run_pass()
    assert sorted(t.arn for t in world.live()) == sorted(t.arn for t in running)


def test_a_task_that_fits_no_instance_is_reported_once_and_launches_back_off():
    world = World(desired=0)
    world.store.local_host = LocalHost(lambda: (1024, 512))  # a host of 512 MiB
    world.scheduler._placer = placement.place
    big = task_definitions.register(
        world.store, RequestContext(ACCOUNT, REGION),
        ecs_request("RegisterTaskDefinition", {"family": "big", "containerDefinitions": [
            {"name": "main", "image": "big", "memory": 4096}]})).arn
    service = services.create(world.store, ecs_request("CreateService", {
        "cluster": "c", "serviceName": "big", "taskDefinition": big, "desiredCount": 1,
        "launchType": "EC2"}), "me")
    for _ in range(3):
        service.next_launch_at = 0.0
        world.run_pass()
    unplaced = [e["message"] for e in service.events if UNPLACED in e["message"]]
    assert len(unplaced) == 1, "one event per distinct problem, not one per pass"
    assert unplaced[0].startswith("(service big) ") and "MEMORY" in unplaced[0]
    assert not services.tasks_of(world.store, service)
    assert service.next_launch_at > 0, "launches back off after a placement failure"
