"""A task torn down while its runner is still starting it, on real Docker: by a reset, or by its
engine going away (a forced engine removal whose wait ran out: the emulator removes what it made
there with force and closes the engine's client under the runner). The runner ends the start as
expected, with one line in the log and no traceback, the task STOPPED with the teardown's
reason, its containers without a made-up start failure, and nothing of it left on Docker.

Without HTTP: the task engine of one cluster (as tests/test_engine_units.py builds it) on a
DockerRuntime of its own instance."""

from __future__ import annotations

import dataclasses
import logging
import threading

import pytest

from emulator.aws.context import RequestContext
from emulator.config import Settings
from emulator.ecs import clusters, task_definitions, tasks
from emulator.ecs.local_instance import LocalHost
from emulator.ecs.store import EcsState
from emulator.engine.task_engine import TaskEngine
from emulator.runtime.docker_runtime import DockerRuntime
from emulator.runtime.labels import new_instance_id
from emulator.runtime.status import TaskStatus
from tests.ecs_requests import ecs_request
from tests.waiting import wait_for

pytestmark = pytest.mark.docker

ACCOUNT, REGION = "123456789012", "us-east-1"


class World:
    def __init__(self, image: str):
        self.image = image
        self.instance = new_instance_id()
        self.runtime = DockerRuntime(instance_id=self.instance)
        self.state = EcsState()
        self.state.local_host = LocalHost(self.runtime.host_resources)
        self.engine = TaskEngine(self.state, lambda: self.runtime,
                                 dataclasses.replace(Settings(), sandbox_pool=0))
        self.store = self.state.store_for(ACCOUNT, REGION)
        with self.state.lock:
            clusters.create(self.store, ecs_request("CreateCluster", {"clusterName": "c"}))

    def run(self, network_mode: str):
        with self.state.lock:
            arn = task_definitions.register(
                self.store, RequestContext(ACCOUNT, REGION),
                ecs_request("RegisterTaskDefinition", {
                    "family": "torn", "networkMode": network_mode, "containerDefinitions": [
                        {"name": "main", "image": self.image, "memory": 16,
                         "command": ["sleep", "30"]}]})).arn
            ran, failures = tasks.run(self.store, ecs_request(
                "RunTask", {"cluster": "c", "taskDefinition": arn, **(
                    {"networkConfiguration": {"awsvpcConfiguration": {"subnets": ["s"]}}}
                    if network_mode == "awsvpc" else {})}))
        assert not failures
        return ran[0]

    def left(self) -> list[dict]:
        """What of this world's instance is on Docker (asked through a client of its own: the
        world's may be closed)."""
        other = DockerRuntime(instance_id=self.instance)
        try:
            return other.listed_containers()
        finally:
            other.close()


@pytest.fixture
def world(busybox_image):
    made = World(busybox_image)
    made.engine.start()
    yield made
    made.engine.stop(remove_everything=False)
    sweep = DockerRuntime(instance_id=made.instance)  # the world's own client may be closed
    try:
        sweep.remove_labelled({})
    finally:
        sweep.close()


def noise(caplog, world) -> list[str]:
    """What a user would take for a fault: a traceback, a warning or an error. Not the orphan
    sweep's word on what other emulators (other sessions on this shared engine) left, e.g. a
    network Docker will not remove (moby/moby#42119): that is not this world's doing."""
    return [f"{r.levelname} {r.name}: {r.getMessage()}" for r in caplog.records
            if (r.exc_info or r.levelno >= logging.WARNING)
            and not (r.name == "emulator.runtime.docker_cleanup"
                     and world.instance not in r.getMessage())]


def during_start(world, then) -> None:
    """Run `then(task)` as the runner asks Docker to start the task's container, before it
    does."""
    real = world.runtime.start_container

    def start(container_id):
        then()
        return real(container_id)

    world.runtime.start_container = start


@pytest.mark.parametrize("network_mode", ["bridge", "awsvpc"])
def test_an_engine_taken_away_during_a_start_ends_it_quietly(world, caplog, network_mode):
    def take_the_engine_away():  # as engine_removal.remove does once its wait has run out
        with world.state.lock:
            for task in world.store.tasks.values():
                task.stop_grace_s = 0
                world.store.door.stop(world.store, task, "TerminationNotice", "engine gone")
            world.state.changed.notify_all()
        world.runtime.remove_labelled({})
        world.runtime.close(why="its engine b was removed from the emulator")

    during_start(world, take_the_engine_away)
    with caplog.at_level(logging.DEBUG, logger="emulator"):
        task = world.run(network_mode)
        wait_for(lambda: task.known, lambda known: known == TaskStatus.STOPPED, timeout=30)
    assert (task.stop_code, task.stopped_reason) == ("TerminationNotice", "engine gone")
    assert [c.reason for c in task.containers] == ["engine gone"]
    assert noise(caplog, world) == []
    assert world.left() == []


def test_a_reset_during_a_start_ends_it_quietly(world, caplog):
    resets = []

    def reset():  # from another thread, as a control call would; it waits for the runner
        resets.append(threading.Thread(target=world.engine.reset))
        resets[-1].start()
        wait_for(lambda: all(t.stop_requested for t in world.store.tasks.values()),
                 lambda stopped: stopped, timeout=10)

    during_start(world, reset)
    with caplog.at_level(logging.DEBUG, logger="emulator"):
        task = world.run("awsvpc")
        wait_for(lambda: task.known, lambda known: known == TaskStatus.STOPPED, timeout=30)
        resets[0].join(timeout=30)
    assert (task.stop_code, task.stopped_reason) == ("TerminationNotice", "Emulator reset")
    assert noise(caplog, world) == []
    assert world.left() == []
