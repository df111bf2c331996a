"""The task door (ecs/task_door.py) on the fake runtime: RunTask, StartTask and the service
scheduler hand it typed launch requests; it admits the tasks and hands them to the engine, which
never looks through the stores for work (a store of 1,000 stopped tasks is never iterated by
the engine's threads); it tells its watchers (EventBridge's task events) of each admission and
stop request as it happens."""

from __future__ import annotations

import threading

import pytest

from emulator.aws.context import RequestContext
from emulator.config import Settings
from emulator.ecs import clusters, placement, services, task_definitions, tasks
from emulator.ecs.launch_request import LaunchRequest, Origin
from emulator.ecs.local_instance import LocalHost
from emulator.ecs.store import EcsState
from emulator.ecs.task_launch import build_tasks
from emulator.engine.scheduler import ServiceScheduler
from emulator.runtime.status import TaskStatus
from tests.test_engine_units import ACCOUNT, REGION, Engine
from tests.ecs_requests import ecs_request


class ScanCounter(dict):
    """A store's tasks that count the walks over them made by threads other than the test's."""

    def __init__(self, *args):
        super().__init__(*args)
        self.walks = 0

    def _walked(self):
        if threading.current_thread() is not threading.main_thread():
            self.walks += 1

    def values(self):
        self._walked()
        return super().values()

    def items(self):
        self._walked()
        return super().items()

    def keys(self):
        self._walked()
        return super().keys()

    def __iter__(self):
        self._walked()
        return super().__iter__()


def _stopped_tasks(world: Engine, count: int) -> dict:
    """`count` STOPPED tasks, as a busy cluster keeps them for an hour after they stop."""
    with world.state.lock:
        arn = task_definitions.register(
            world.store, RequestContext(ACCOUNT, REGION),
            ecs_request("RegisterTaskDefinition", {"family": "old", "containerDefinitions": [
                {"name": "main", "image": "app", "memory": 64}]})).arn
        old = {}
        for _ in range(count // 10):
            for task in build_tasks(world.store, LaunchRequest.run_task(ecs_request(
                    "RunTask", {"taskDefinition": arn, "count": 10})), world.store.clusters["c"]):
                task.request_stop("UserInitiated", "done")
                task.advance(TaskStatus.STOPPED)
                old[task.arn] = task
    return old


@pytest.fixture
def world():
    made = Engine()
    yield made
    made.engine.stop()


def test_the_engine_is_handed_new_tasks_and_never_walks_the_store(world):
    world.store.tasks = ScanCounter(_stopped_tasks(world, 1000))
    world.engine.start()
    task = world.run({"name": "main"})
    world.reaches(task, TaskStatus.RUNNING)
    world.stop(task)
    world.reaches(task, TaskStatus.STOPPED)
    assert world.store.tasks.walks == 0, "the engine looked through the store for work"
    assert list(world.engine._runners) == [task.arn], "only the new task got a runner"


def test_a_task_admitted_before_the_engine_starts_waits_for_it(world):
    task = world.run({"name": "main"})  # as a restarted emulator hands back a task not begun
    assert not world.engine._runners and task.known == TaskStatus.PROVISIONING
    world.engine.start()
    world.reaches(task, TaskStatus.RUNNING)


def test_the_door_tells_its_watchers_of_each_admission_and_stop_request():
    world = Engine()  # never started: watchers hear of the door's own transitions
    heard = []
    world.state.door.watchers.append(
        lambda store, task: heard.append((task.known, task.desired_status)))
    task = world.run({"name": "main"})
    assert heard == [(TaskStatus.PROVISIONING, "RUNNING")]
    world.stop(task)
    world.stop(task)  # asked again: no change, nothing to tell
    assert heard == [(TaskStatus.PROVISIONING, "RUNNING"), (TaskStatus.PROVISIONING, "STOPPED")]


def test_run_task_start_task_and_the_scheduler_all_come_through_the_door():
    state = EcsState()
    state.local_host = LocalHost(lambda: (4096, 8192))
    store = state.store_for(ACCOUNT, REGION)
    handed, origins = [], []
    state.door.engine = lambda store, admitted: handed.extend(admitted)
    launch = state.door.launch
    state.door.launch = lambda store, request, **kw: (origins.append(request.origin),
                                                      launch(store, request, **kw))[1]
    scheduler = ServiceScheduler(state, Settings(), placer=placement.place)
    with state.lock:
        clusters.create(store, ecs_request("CreateCluster", {"clusterName": "c"}))
        arn = task_definitions.register(store, RequestContext(ACCOUNT, REGION), ecs_request(
            "RegisterTaskDefinition", {"family": "web", "containerDefinitions": [
                {"name": "main", "image": "app", "memory": 64}]})).arn
        ran, _ = tasks.run(store, ecs_request("RunTask", {"cluster": "c", "taskDefinition": arn,
                                                     "count": 2}))
        instance = store.container_instances_of("c")[0]
        started, _ = tasks.start(store, ecs_request("StartTask", {
            "cluster": "c", "taskDefinition": arn, "containerInstances": [instance.arn]}))
        service = services.create(store, ecs_request("CreateService", {
            "cluster": "c", "serviceName": "web", "taskDefinition": arn, "desiredCount": 3}),
            "me")
        scheduler.reconcile_all()
    by_service = services.tasks_of(store, service)
    assert origins == [Origin.RUN_TASK, Origin.START_TASK, Origin.SERVICE]
    assert handed == ran + started + by_service and len(by_service) == 3
    assert all(t.container_instance_arn == instance.arn for t in handed), "placed by the door"
    assert {t.started_by for t in by_service} == {service.primary.id}
    assert {t.group for t in by_service} == {"service:web"}
