"""The task engine and its runners on the fake runtime (no Docker): a task's life to RUNNING and
STOPPED, the stop timeout then the kill, dependsOn order, an essential container's exit. The same
paths through Docker are in test_task_lifecycle.py; the fake is held to Docker's behaviour by
test_runtime_contract.py."""

from __future__ import annotations

import dataclasses

import pytest

from emulator.aws.context import RequestContext
from emulator.config import Settings
from emulator.ecs import clusters, task_definitions, tasks
from emulator.ecs.local_instance import LocalHost
from emulator.ecs.store import EcsState
from emulator.engine.task_engine import TaskEngine
from emulator.runtime.fake import FakeRuntime
from emulator.runtime.status import TaskStatus
from tests.waiting import wait_for
from tests.ecs_requests import ecs_request

ACCOUNT, REGION = "123456789012", "us-east-1"


class Engine:
    """One cluster on the local host, the task engine on a fake runtime, and RunTask/StopTask."""

    def __init__(self, **settings):
        self.fake = FakeRuntime()
        self.state = EcsState()
        self.state.local_host = LocalHost(self.fake.host_resources)
        self.engine = TaskEngine(self.state, lambda: self.fake,
                                 dataclasses.replace(Settings(), **settings))
        self.store = self.state.store_for(ACCOUNT, REGION)
        with self.state.lock:
            clusters.create(self.store, ecs_request("CreateCluster", {"clusterName": "c"}))

    def run(self, *containers: dict) -> object:
        with self.state.lock:
            arn = task_definitions.register(
                self.store, RequestContext(ACCOUNT, REGION),
                ecs_request("RegisterTaskDefinition", {"family": "unit", "containerDefinitions": [
                    {"image": "app", "memory": 64, **c} for c in containers]})).arn
            ran, failures = tasks.run(self.store, ecs_request(
                "RunTask", {"cluster": "c", "taskDefinition": arn}))
        assert not failures
        return ran[0]

    def stop(self, task) -> None:
        with self.state.lock:
            tasks.stop(self.store, "c", task.arn, "enough")

    def reaches(self, task, status: TaskStatus):
        return wait_for(lambda: task.known, lambda known: known >= status, timeout=10)

    def container(self, task, name: str):
        return next(c for c in task.containers if c.name == name)

    def started(self) -> list[str]:
        """Names of the containers the fake was told to start, in order."""
        by_id = {c.id: c.labels.get("ecs-emulator.container-name") for c in self.fake.containers.values()}
        by_id.update({e.container_id: e.labels.get("ecs-emulator.container-name")
                      for e in self.fake.history})
        return [by_id.get(call[1]) for call in self.fake.calls if call[0] == "start_container"]


@pytest.fixture
def world():
    made = Engine()
    made.engine.start()
    yield made
    made.engine.stop()


def test_a_task_runs_then_stops_and_leaves_nothing(world):
    task = world.run({"name": "main"})
    world.reaches(task, TaskStatus.RUNNING)
    cid = world.fake.find("main")
    assert world.fake.inspect_container(cid).running
    assert world.container(task, "main").runtime_id == cid
    world.stop(task)
    world.reaches(task, TaskStatus.STOPPED)
    main = world.container(task, "main")
    assert (task.stop_code, task.stopped_reason) == ("UserInitiated", "enough")
    assert main.exit_code == 0
    assert ("stop_container", cid, 30) in world.fake.calls  # ECS's default stopTimeout
    wait_for(lambda: [c for c in world.fake.containers.values() if c.spec], lambda left: not left,
             timeout=10)


def test_stop_waits_the_stop_timeout_then_the_container_is_killed(world):
    world.fake.on_start("main", world.fake.ignore_sigterm)
    task = world.run({"name": "main", "stopTimeout": 2})
    world.reaches(task, TaskStatus.RUNNING)
    cid = world.fake.find("main")
    world.stop(task)
    world.reaches(task, TaskStatus.STOPPED)
    assert ("stop_container", cid, 2) in world.fake.calls
    assert [e.action for e in world.fake.history if e.container_id == cid][-3:] == [
        "kill", "die", "destroy"]
    assert world.container(task, "main").exit_code == 137


def test_depends_on_starts_a_container_after_its_dependency_succeeded(world):
    world.fake.exit_on_start("init", 0)
    task = world.run({"name": "init", "essential": False},
                     {"name": "app", "dependsOn": [{"containerName": "init",
                                                   "condition": "SUCCESS"}]})
    world.reaches(task, TaskStatus.RUNNING)
    assert world.started() == ["init", "app"]
    actions = [(e.labels.get("ecs-emulator.container-name"), e.action) for e in world.fake.history]
    assert actions.index(("init", "die")) < actions.index(("app", "start"))
    assert world.container(task, "init").exit_code == 0


def test_a_failed_dependency_keeps_its_dependent_from_starting(world):
    world.fake.exit_on_start("init", 1)
    task = world.run({"name": "init", "essential": False},
                     {"name": "app", "dependsOn": [{"containerName": "init",
                                                   "condition": "SUCCESS"}]})
    world.reaches(task, TaskStatus.STOPPED)
    assert world.started() == ["init"]
    assert world.container(task, "app").exit_code is None


def test_an_essential_containers_exit_stops_the_task_and_its_other_containers(world):
    task = world.run({"name": "main"}, {"name": "side", "essential": False})
    world.reaches(task, TaskStatus.RUNNING)
    side = world.fake.find("side")
    world.fake.exit(world.fake.find("main"), 4)
    world.reaches(task, TaskStatus.STOPPED)
    assert task.stop_code == "EssentialContainerExited"
    assert world.container(task, "main").exit_code == 4
    assert any(call[:2] == ("stop_container", side) for call in world.fake.calls)


def test_a_non_essential_containers_exit_leaves_the_task_running(world):
    task = world.run({"name": "main"}, {"name": "side", "essential": False})
    world.reaches(task, TaskStatus.RUNNING)
    world.fake.exit(world.fake.find("side"), 2)
    wait_for(lambda: world.container(task, "side").exit_code, lambda code: code == 2, timeout=10)
    assert task.known == TaskStatus.RUNNING and task.desired == TaskStatus.RUNNING
    world.stop(task)
    world.reaches(task, TaskStatus.STOPPED)


def test_a_failed_pull_stops_the_task_with_the_pull_error(world):
    world.fake.fail_pull("private/app", "pull access denied")
    task = world.run({"name": "main", "image": "private/app"})
    world.reaches(task, TaskStatus.STOPPED)
    assert task.stop_code == "TaskFailedToStart"
    assert world.container(task, "main").reason.startswith("CannotPullContainerError: ")


def test_a_container_that_dies_before_the_event_stream_opens_stops_its_task():
    # The first clean-up pass (a dead emulator's leftovers) runs before the stream opens;
    # a task's container that dies meanwhile must still be seen.
    made = Engine()
    task = made.run({"name": "main"})

    def slow_clean_up() -> int:
        made.reaches(task, TaskStatus.RUNNING)
        made.fake.exit(made.fake.find("main"), exit_code=3)
        return 0

    made.fake.remove_orphans = slow_clean_up
    made.engine.start()
    try:
        made.reaches(task, TaskStatus.STOPPED)
        assert made.container(task, "main").exit_code == 3
    finally:
        made.engine.stop()
