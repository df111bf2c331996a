"""The task engine and its runners on the fake runtime (no Docker): a task's life to RUNNING and
STOPPED, the stop timeout then the kill, dependsOn order, an essential container's exit. The same
paths through Docker are in test_task_lifecycle.py; the fake is held to Docker's behaviour by
test_runtime_contract.py."""

from __future__ import annotations

import dataclasses
import time

import pytest

from emulator.aws.context import RequestContext
from emulator.config import Settings
from emulator.ecs import clusters, task_definitions, tasks
from emulator.ecs.local_instance import LocalHost
from emulator.ecs.store import EcsState
from emulator.engine.service_failures import _killed
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


def test_a_pull_shows_while_it_lasts_and_an_image_at_hand_shows_none(world, monkeypatch):
    """pullStartedAt without pullStoppedAt says images are being pulled (the CLI's "Pulling
    images"): for the task that pulls, while it pulls; for one whose image the engine has, never
    (both appear at once, after the look)."""
    during: list[tuple] = []
    ensure = world.fake.ensure_image

    def looked(image, auth, progress=None):
        ensure(image, auth, progress)  # the fake pulls an image it lacks, saying so, at once
        with world.state.lock:
            during.append([(t.pull_started_at, t.pull_stopped_at)
                           for t in world.store.tasks.values() if t.pull_stopped_at is None])

    monkeypatch.setattr(world.fake, "ensure_image", looked)
    first = world.run({"name": "main"})
    world.reaches(first, TaskStatus.RUNNING)
    second = world.run({"name": "main"})
    world.reaches(second, TaskStatus.RUNNING)
    [(pulling_start, pulling_stop)], [(looking_start, looking_stop)] = during
    assert pulling_start is not None and pulling_stop is None
    assert looking_start is None and looking_stop is None
    for task in (first, second):
        assert task.pull_started_at <= task.pull_stopped_at


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


def test_a_container_killed_through_docker_is_told_from_one_that_exited(world):
    """A kill event before the die marks the container ended from outside (service_failures.py
    does not throttle such a service's replacements, and its 137 needs no second look for an
    OOM verdict); an exit of its own does not."""
    killed, crashed = world.run({"name": "main"}), world.run({"name": "main"})
    world.reaches(crashed, TaskStatus.RUNNING)
    world.reaches(killed, TaskStatus.RUNNING)
    inspect = world.fake.inspect_container  # (the fake does not record its inspects)
    world.fake.inspect_container = lambda cid: (world.fake.calls.append(
        ("inspect_container", cid)), inspect(cid))[1]
    world.fake.kill_container(world.container(killed, "main").runtime_id)
    world.fake.exit(world.container(crashed, "main").runtime_id, 137)
    world.reaches(killed, TaskStatus.STOPPED)
    world.reaches(crashed, TaskStatus.STOPPED)
    assert (killed.stop_code, world.container(killed, "main").exit_code) == (
        "EssentialContainerExited", 137)
    assert world.container(killed, "main").killed
    assert not world.container(crashed, "main").killed
    inspected = [call[1] for call in world.fake.calls if call[0] == "inspect_container"]
    assert inspected.count(world.container(killed, "main").runtime_id) == 1
    assert inspected.count(world.container(crashed, "main").runtime_id) == 2


def test_our_own_stops_and_signals_that_end_nothing_are_no_outside_kill(world):
    """An app and its essential sidecar: the app crashes, the teardown stops the sidecar (Docker
    tells a kill event for that too): the task's exit is a crash, which backs its service off
    (service_failures.py). A HUP (a reload) marks nothing either."""
    crashed = world.run({"name": "app"}, {"name": "side"})
    hupped = world.run({"name": "app"})
    world.reaches(crashed, TaskStatus.RUNNING)
    world.reaches(hupped, TaskStatus.RUNNING)
    world.fake.exit(world.container(crashed, "app").runtime_id, 1)
    world.reaches(crashed, TaskStatus.STOPPED)
    side = world.container(crashed, "side").runtime_id
    assert [e.signal for e in world.fake.history
            if e.container_id == side and e.action == "kill"] == ["15"]
    assert not any(c.killed for c in crashed.containers)
    assert not _killed(crashed)
    world.fake.kill_container(world.container(hupped, "app").runtime_id, "SIGHUP")
    world.fake.exit(world.container(hupped, "app").runtime_id, 1)
    world.reaches(hupped, TaskStatus.STOPPED)
    assert not _killed(hupped)


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


# -- deaths the event stream missed: the reconciliation with the container list ----------------

def _reconciling_engine() -> Engine:
    made = Engine()
    made.engine.reconcile_every_s = 0.1
    made.engine.start()
    return made


def test_a_death_no_event_told_stops_the_task_as_a_die_event_would():
    made = _reconciling_engine()
    try:
        task = made.run({"name": "main"}, {"name": "side", "essential": False})
        made.reaches(task, TaskStatus.RUNNING)
        made.fake.exit_unseen(made.fake.find("main"), exit_code=3)
        made.reaches(task, TaskStatus.STOPPED)
        assert (task.stop_code, task.stopped_reason) == (
            "EssentialContainerExited", "Essential container in task exited")
        assert made.container(task, "main").exit_code == 3
        assert made.container(task, "side").exit_code == 0  # stopped by the teardown
    finally:
        made.engine.stop()


def test_an_unseen_out_of_memory_kill_keeps_its_verdict():
    made = _reconciling_engine()
    try:
        task = made.run({"name": "main"})
        made.reaches(task, TaskStatus.RUNNING)
        made.fake.exit_unseen(made.fake.find("main"), exit_code=137, oom=True)
        made.reaches(task, TaskStatus.STOPPED)
        main = made.container(task, "main")
        assert (main.exit_code, main.reason) == (
            137, "OutOfMemoryError: Container killed due to memory usage")
    finally:
        made.engine.stop()


def test_reconciliation_waits_out_a_new_start_and_leaves_stopping_tasks_and_live_ones_alone():
    from emulator.engine.exit_reconciler import START_SETTLE_S, ExitReconciler

    made = Engine()  # the engine's own passes are slow here: this test makes its own
    made.engine.reconcile_every_s = 3600
    made.engine.start()
    try:
        alive, dying = made.run({"name": "a"}), made.run({"name": "b"})
        made.reaches(alive, TaskStatus.RUNNING)
        made.reaches(dying, TaskStatus.RUNNING)
        reconciler = ExitReconciler(made.engine, made.fake)
        inspect = made.fake.inspect_container  # (the fake does not record its inspects)
        made.fake.inspect_container = lambda cid: (made.fake.calls.append(
            ("inspect_container", cid)), inspect(cid))[1]
        made.fake.exit_unseen(made.fake.find("b"), exit_code=1)
        made.fake.calls.clear()
        assert reconciler.reconcile() == 0  # started just now, for all it knows: not yet
        assert made.fake.calls == []  # nothing due yet: not even a list
        time.sleep(START_SETTLE_S)
        made.fake.calls.clear()
        assert reconciler.reconcile() == 1  # one list, and an inspect of the dead one only
        assert made.fake.calls == [("listed_containers",),
                                   ("inspect_container", made.fake.find("b"))]
        made.reaches(dying, TaskStatus.STOPPED)
        assert made.container(dying, "b").exit_code == 1
        assert alive.known == TaskStatus.RUNNING
        # a task already stopping is its runner's to record (the lock held: its runner
        # cannot begin the teardown meanwhile)
        made.fake.exit_unseen(made.fake.find("a"), exit_code=5)
        with made.state.lock:
            alive.request_stop("UserInitiated", "enough")
            made.fake.calls.clear()
            assert reconciler.reconcile() == 0
            assert made.fake.calls == []  # nothing due: not even a list
            assert made.container(alive, "a").exit_code is None
    finally:
        made.engine.stop()
