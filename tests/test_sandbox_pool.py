"""The pool of awsvpc sandboxes made ahead of demand (engine/sandbox_pool.py).

On the fake runtime: what is made, when, for which port shapes, and that a drain and a stop
leave nothing. Through Docker: a task that claims a spare is known by its address as the task
it is (its own metadata, not its neighbour's), publishes its ports, and its sandbox goes with it.
"""

from __future__ import annotations

import os
import time

import pytest
import requests

from emulator.engine import sandbox_pool
from emulator.engine.sandbox_pool import POOL_NAME, SandboxPool
from emulator.runtime.base import PortBinding
from emulator.runtime.fake import FakeRuntime
from emulator.runtime.status import TaskStatus
from tests.test_engine_units import Engine
from tests.test_task_metadata import environment_of, output_of, register, run
from tests.waiting import wait_for, wait_for_task
from tests.ecs_requests import ecs_request

PORT_80 = [PortBinding(80, "tcp", "127.0.0.1", None)]


@pytest.fixture(autouse=True)
def quick_refills(monkeypatch):
    monkeypatch.setattr(sandbox_pool, "REFILL_QUIET_S", 0.05)


def spares(fake: FakeRuntime) -> list:
    return [c for c in fake.containers.values()
            if c.labels.get("ecs-emulator.container-name") == POOL_NAME]


# -- the pool on the fake runtime ---------------------------------------------------------------

def test_spares_are_made_after_the_first_ask_and_handed_out_once():
    fake = FakeRuntime()
    pool = SandboxPool(lambda: fake, size=2)
    try:
        assert pool.take(PORT_80) is None  # nothing ahead of the first awsvpc task
        time.sleep(0.3)  # more than the quiet period before a refill
        assert spares(fake) == []  # nor after one ask: a test that runs one such task pays none
        assert pool.take(PORT_80) is None
        wait_for(pool.ready_count, lambda n: n == 2)
        assert [[(p.container_port, p.host_ip) for p in c.published] for c in spares(fake)] \
            == [[(80, "127.0.0.1")]] * 2
        first, second = pool.take(PORT_80), pool.take(PORT_80)
        assert first.sandbox.sandbox_id != second.sandbox.sandbox_id
        assert first.sandbox.network == f"container:{first.sandbox.sandbox_id}"
        assert first.state.published[0].container_port == 80  # its host port, known already
        assert pool.take([]) is None and pool.take([]) is None  # another shape, asked twice
        wait_for(pool.ready_count, lambda n: n == 4)  # both shapes refilled
    finally:
        pool.close()
    assert {c.id for c in spares(fake)} == {first.sandbox.sandbox_id, second.sandbox.sandbox_id}


def test_no_spare_is_made_while_a_task_is_starting():
    fake = FakeRuntime()
    pool = SandboxPool(lambda: fake, size=1)
    try:
        pool.task_starting(+1)
        pool.take([]), pool.take([])
        time.sleep(0.3)  # more than the quiet period: still a task starting
        assert spares(fake) == []
        pool.task_starting(-1)
        wait_for(pool.ready_count, lambda n: n == 1)
    finally:
        pool.close()


def test_a_spare_asked_for_alone_is_kept_while_other_tasks_start():
    fake = FakeRuntime()
    pool = SandboxPool(lambda: fake, size=1)
    try:
        pool.take([]), pool.take([])
        wait_for(pool.ready_count, lambda n: n == 1)
        pool.task_starting(+1), pool.task_starting(+1)  # the asker and another task
        assert pool.take([], alone=True) is None and pool.ready_count() == 1
        pool.task_starting(-1)  # the asker alone now
        assert pool.take([], alone=True) is not None
    finally:
        pool.close()


def test_fixed_host_ports_and_size_zero_get_no_spares():
    fake = FakeRuntime()
    pool, off = SandboxPool(lambda: fake, size=1), SandboxPool(lambda: fake, size=0)
    try:
        for _ in range(2):
            assert pool.take([PortBinding(80, "tcp", "127.0.0.1", 8080)]) is None
            assert off.take(PORT_80) is None
        time.sleep(0.3)  # more than the quiet period before a refill
        assert spares(fake) == []
    finally:
        pool.close(), off.close()


def test_a_dead_spare_is_never_handed_out_and_a_drain_removes_the_rest():
    fake = FakeRuntime()
    pool = SandboxPool(lambda: fake, size=1)
    try:
        pool.take([]), pool.take([])
        wait_for(pool.ready_count, lambda n: n == 1)
        [dead] = spares(fake)
        fake.remove_container(dead.id)  # removed outside us; the engine passes on the event
        pool.discard(dead.id)
        assert pool.ready_count() == 0
        [made] = wait_for(lambda: spares(fake), lambda found: len(found) == 1)  # still wanted
        assert made.id != dead.id
        wait_for(pool.ready_count, lambda n: n == 1)
        pool.drain()
        assert spares(fake) == []
        time.sleep(0.3)
        assert spares(fake) == []  # demand was forgotten: nothing made until a task asks again
    finally:
        pool.close()


def test_a_resets_first_step_leaves_no_spare_to_be_made_while_its_tasks_stop():
    fake = FakeRuntime()
    pool = SandboxPool(lambda: fake, size=1)
    try:
        pool.task_starting(+1)
        pool.take([]), pool.take([])  # two tasks of one shape (the pytest plugin's cycle)
        pool.task_starting(-1)  # RUNNING: the pool would fill once it is quiet
        pool.forget_demand()  # TaskEngine.reset, before it kills them
        time.sleep(0.3)  # more than the quiet period before a refill
        assert spares(fake) == []
    finally:
        pool.close()


def test_a_reset_forgets_the_claims_and_the_burst_an_engines_return_keeps_the_claims():
    fake = FakeRuntime()
    pool = SandboxPool(lambda: fake, size=1)
    try:
        pool.take([]), pool.take([])
        wait_for(pool.ready_count, lambda n: n == 1)
        claimed = pool.take([], owner="arn:t").sandbox.sandbox_id
        pool._sized = {()}  # kept for a burst as the current one began
        pool.drain(forget_claims=False)
        assert pool.unowned([claimed], {"arn:t"}, set()) == []  # its runner lives: its own
        pool.drain()
        assert pool._sized == set()
        assert pool.unowned([claimed], {"arn:t"}, set()) == [claimed]  # a reset's task is gone
    finally:
        pool.close()


def test_an_awsvpc_task_takes_a_spare_its_teardown_removes_it_a_reset_drains():
    world = Engine()
    world.engine.start()
    try:
        for _ in range(2):  # none ready: each makes its own; after two, spares are wanted
            world.reaches(_run_awsvpc(world), TaskStatus.RUNNING)
        [spare] = wait_for(lambda: spares(world.fake), lambda found: len(found) == 1)
        wait_for(world.engine.sandboxes.ready_count, lambda n: n == 1)
        task = _run_awsvpc(world)
        world.reaches(task, TaskStatus.RUNNING)
        assert task.private_ip == spare.ip_address  # the address is the task's from the claim
        main = world.fake.containers[world.container(task, "main").runtime_id]
        assert main.network == f"container:{spare.id}"
        world.stop(task)
        world.reaches(task, TaskStatus.STOPPED)
        assert spare.id not in world.fake.containers  # never handed out again
        wait_for(world.engine.sandboxes.ready_count, lambda n: n == 1)
        world.engine.reset()
        assert spares(world.fake) == []
    finally:
        world.engine.stop()
    assert world.fake.containers == {}


def _run_awsvpc(world):
    from emulator.aws.context import RequestContext
    from emulator.ecs import task_definitions, tasks

    with world.state.lock:
        arn = task_definitions.register(
            world.store, RequestContext("123456789012", "us-east-1"),
            ecs_request("RegisterTaskDefinition", {
                "family": "vpc", "networkMode": "awsvpc", "containerDefinitions": [
                    {"name": "main", "image": "app", "memory": 64}]})).arn
        ran, failures = tasks.run(world.store, ecs_request("RunTask", {
            "cluster": "c", "taskDefinition": arn,
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}}))
    assert not failures
    return ran[0]


# -- through Docker ------------------------------------------------------------------------------

def docker_spares(docker_client) -> list:
    # (the pool makes and removes spares meanwhile: one gone between the list and its inspect
    # is no spare, not a 404)
    return docker_client.containers.list(all=True, ignore_removed=True, filters={"label": [
        f"ecs-emulator.container-name={POOL_NAME}", f"ecs-emulator.pid={os.getpid()}"]})


def test_a_task_on_a_spare_is_known_by_its_address_and_publishes_its_ports(
        ecs, cluster, busybox_image, docker_client, clean_emulator):
    definition = register(
        ecs, {"name": "web", "image": busybox_image, "memory": 64, "portMappings": [
            {"containerPort": 8080}], "command": ["sh", "-c", "sleep 300"]},
        family="pooled", networkMode="awsvpc")
    vpc = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
    first = run(ecs, cluster, definition, networkConfiguration=vpc)
    again = run(ecs, cluster, definition, networkConfiguration=vpc)  # asked twice: a spare is kept
    wait_for_task(ecs, cluster, first, "RUNNING")
    wait_for_task(ecs, cluster, again, "RUNNING")  # so the spare seen below is not the one it takes
    [spare] = wait_for(lambda: docker_spares(docker_client), lambda found: len(found) == 1)
    # Listed by Docker before the pool has it ready (it looks at the spare once made): a task
    # run in between makes its own sandbox.
    wait_for(clean_emulator.emulator.engine.sandboxes.ready_count, lambda n: n == 1)
    neighbour = environment_of(docker_client, first, "web")["ECS_CONTAINER_METADATA_URI_V4"]

    serve_and_look = (f'wget -qO- "$ECS_CONTAINER_METADATA_URI_V4/task"; echo; echo MID; '
                      f'wget -qO- "{neighbour}/task" || echo DENIED; echo END; '
                      'echo hello > /tmp/index.html; exec httpd -f -p 8080 -h /tmp')
    looking = register(
        ecs, {"name": "web", "image": busybox_image, "memory": 64, "portMappings": [
            {"containerPort": 8080}], "command": ["sh", "-c", serve_and_look]},
        family="pooled", networkMode="awsvpc")
    second = run(ecs, cluster, looking, networkConfiguration=vpc)
    described = wait_for_task(ecs, cluster, second, "RUNNING")
    web = described["containers"][0]
    assert docker_client.api.inspect_container(web["runtimeId"])["HostConfig"]["NetworkMode"] \
        == f"container:{spare.id}"
    spare.reload()
    [network] = spare.attrs["NetworkSettings"]["Networks"].values()
    assert web["networkInterfaces"][0]["privateIpv4Address"] == network["IPAddress"]

    text = output_of(docker_client, second, "web", "END")
    own, _, other = text.partition("MID")
    assert f'"TaskARN": "{second}"' in own.replace('":"', '": "')
    assert "DENIED" in other and first not in other  # the neighbour's metadata is not its
    [binding] = web["networkBindings"]
    assert (binding["containerPort"], binding["bindIP"]) == (8080, "127.0.0.1")
    assert wait_for(lambda: _get(binding["hostPort"]), lambda body: body == "hello\n")

    ecs.stop_task(cluster=cluster, task=second)
    wait_for_task(ecs, cluster, second, "STOPPED")
    assert not docker_client.containers.list(all=True, ignore_removed=True,
                                             filters={"id": spare.id})
    clean_emulator.reset()
    assert docker_spares(docker_client) == []


def _get(port: int) -> str | None:
    try:
        return requests.get(f"http://127.0.0.1:{port}/index.html", timeout=2).text
    except requests.RequestException:
        return None


def test_adoption_gives_a_task_its_claimed_spare_back_and_removes_the_unclaimed():
    from emulator.persistence import adoption

    class Listing(FakeRuntime):  # Docker's container list, as a restarted emulator reads it
        def owned(self):
            return ([{"Id": c.id, "Labels": c.labels, "HostConfig": {"NetworkMode": c.network}}
                     for c in self.containers.values()], [])

    world = Engine()
    world.fake = Listing()
    world.engine._runtime = world.fake
    world.engine.start()
    try:
        _run_awsvpc(world), _run_awsvpc(world)
        wait_for(world.engine.sandboxes.ready_count, lambda n: n == 1)
        [claimed] = spares(world.fake)
        task = _run_awsvpc(world)
        world.reaches(task, TaskStatus.RUNNING)
        [unclaimed] = wait_for(lambda: [s for s in spares(world.fake) if s.id != claimed.id],
                               lambda found: len(found) == 1)

        class Restarted:  # what adopt() asks of the engine of the next run
            state, runtime, events_since = world.state, world.fake, None
            engines = None  # one engine (TaskEngine.engines without ECS_EMULATOR_ENGINES)
            adopted: dict = {}

            def adopt(self, adopted_task, runner):
                self.adopted[adopted_task.arn] = runner

            def record_exit(self, *_):
                raise AssertionError("every container still runs")

            def runtime_for(self, store, task):  # the task's Docker Engine (engines.py)
                return self.runtime

            def runtime_of(self, task):
                return self.runtime

        restarted = Restarted()
        assert adoption.adopt(restarted, world.state) == 3
        assert restarted.adopted[task.arn].sandbox.sandbox_id == claimed.id
        assert claimed.id in world.fake.containers and unclaimed.id not in world.fake.containers
    finally:
        world.engine.stop()
