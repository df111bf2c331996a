"""The sandbox pool sized by bursts of tasks started at once (engine/sandbox_pool.py).

On the fake runtime: a first burst takes no lone spare and teaches the pool its size, capped;
the next burst starts every task in a spare; the memory fades to `size` and the extra spares
go; a drain leaves nothing. Through Docker: the second burst of bridge tasks runs each in a
spare (named for its container on the emulator's own network), and a reset removes every spare.
"""

from __future__ import annotations

import time

import pytest

from emulator.engine import sandbox_pool
from emulator.engine.sandbox_pool import SandboxPool
from emulator.runtime.fake import FakeRuntime
from tests.test_sandbox_pool import PORT_80, docker_spares, quick_refills, spares  # noqa: F401
from tests.test_task_metadata import register
from tests.waiting import wait_for, wait_for_task


def burst(pool: SandboxPool, count: int, ports=PORT_80) -> list:
    """`count` tasks starting at once, each asking for a spare as a lone bridge task would."""
    for _ in range(count):
        pool.task_starting(+1)
    try:
        return [pool.take(ports, alone=True) for _ in range(count)]
    finally:
        for _ in range(count):
            pool.task_starting(-1)


def test_a_burst_sizes_the_pool_for_the_next_capped_and_it_fades(monkeypatch):
    monkeypatch.setattr(sandbox_pool, "IDLE_CHECK_S", 0.05)
    fake = FakeRuntime()
    pool = SandboxPool(lambda: fake, size=1, burst=5)
    try:
        pool.take(PORT_80), pool.take(PORT_80)  # two lone tasks: one spare is kept
        wait_for(pool.ready_count, lambda n: n == 1)
        assert burst(pool, 3) == [None] * 3  # below BURST_MIN: the lone spare stays lone's
        time.sleep(0.3)
        assert pool.ready_count() == 1
        assert burst(pool, 7) == [None] * 7  # the first burst: a lone spare would be renamed last
        wait_for(pool.ready_count, lambda n: n == 5)  # its size, capped at `burst`
        time.sleep(0.3)
        assert len(spares(fake)) == 5
        taken = burst(pool, 7)
        assert len({t.sandbox.sandbox_id for t in taken[:5]}) == 5 and taken[5:] == [None] * 2
        wait_for(pool.ready_count, lambda n: n == 5)
        monkeypatch.setattr(sandbox_pool, "BURST_MEMORY_S", 0.2)  # no ask for that long
        wait_for(pool.ready_count, lambda n: n == 1)
        assert len(spares(fake)) == 1 + 5  # the five claimed (their tasks remove them) and one
    finally:
        pool.close()
    assert len(spares(fake)) == 5  # the close removed the unclaimed


def test_the_cap_holds_over_shapes_and_a_drain_forgets_bursts():
    fake = FakeRuntime()
    pool = SandboxPool(lambda: fake, size=1, burst=4)
    try:
        for ports in (PORT_80, []):
            pool.take(ports), pool.take(ports)
            burst(pool, 4, ports)
        wait_for(pool.ready_count, lambda n: n == 5)
        time.sleep(0.3)
        assert len(spares(fake)) == 5  # the cap of four, and the other shape's `size` of one
        pool.drain()
        assert spares(fake) == []
        pool.take(PORT_80), pool.take(PORT_80)
        wait_for(pool.ready_count, lambda n: n == 1)
        time.sleep(0.3)
        assert pool.ready_count() == 1  # the burst was forgotten with the demand
    finally:
        pool.close()
    assert spares(fake) == []


def test_a_burst_counts_the_asks_of_its_shape_not_every_task_starting():
    """One awsvpc task starting among ten others (bridge tasks, other shapes) is no burst of
    its shape: the pool keeps `size` of it."""
    fake = FakeRuntime()
    pool = SandboxPool(lambda: fake, size=1, burst=20)
    try:
        pool.take(PORT_80), pool.take(PORT_80)
        wait_for(pool.ready_count, lambda n: n == 1)
        for _ in range(11):
            pool.task_starting(+1)
        assert pool.take(PORT_80) is not None
        for _ in range(11):
            pool.task_starting(-1)
        wait_for(pool.ready_count, lambda n: n >= 1)
        time.sleep(0.3)
        assert len(spares(fake)) == 2  # the claimed one and its refill, no more
    finally:
        pool.close()


@pytest.fixture(scope="module", params=["default-bridge", "emulator"])
def task_network(request):
    """ECS_EMULATOR_TASK_NETWORK of the module's Docker test: spares are named on the emulator's
    own network only."""
    return request.param


@pytest.fixture(scope="module")
def ecs_emulator(request, task_network, ecs_emulator):
    """The session's emulator (Docker's default bridge, the default), or one on its own network."""
    if task_network == "emulator":
        return request.getfixturevalue("emulator_network_emulator")
    return ecs_emulator


@pytest.mark.docker
def test_a_second_burst_of_bridge_tasks_runs_each_in_a_named_spare(
        ecs, cluster, busybox_image, docker_client, clean_emulator, monkeypatch, task_network):
    monkeypatch.setattr(sandbox_pool, "BURST_MIN", 3)
    network = clean_emulator.emulator.engine.runtime.ensure_network()[0]
    assert (network == "bridge") == (task_network == "default-bridge")
    definition = register(ecs, {"name": "app", "image": busybox_image, "memory": 32,
                                "command": ["sleep", "300"]}, family="bursts")
    pool = clean_emulator.emulator.engine.sandboxes

    def run_burst() -> list[str]:
        arns = [t["taskArn"] for t in ecs.run_task(cluster=cluster, taskDefinition=definition,
                                                   count=3)["tasks"]]
        return [wait_for_task(ecs, cluster, arn, "RUNNING")["containers"][0]["runtimeId"]
                for arn in arns]

    def stop_all(arns: list[str]) -> None:
        for arn in arns:
            ecs.stop_task(cluster=cluster, task=arn)
        for arn in arns:
            wait_for_task(ecs, cluster, arn, "STOPPED")

    runtime_ids = run_burst()  # the first: every task attaches itself
    assert all(docker_client.api.inspect_container(i)["HostConfig"]["NetworkMode"] == network
               for i in runtime_ids)
    stop_all(ecs.list_tasks(cluster=cluster)["taskArns"])
    wait_for(pool.ready_count, lambda n: n == 3)
    runtime_ids = run_burst()
    for runtime_id in runtime_ids:
        mode = docker_client.api.inspect_container(runtime_id)["HostConfig"]["NetworkMode"]
        assert mode.startswith("container:")
        spare = docker_client.api.inspect_container(mode.removeprefix("container:"))
        aliases = spare["NetworkSettings"]["Networks"][network]["Aliases"] or []
        # named for its container on the emulator's network; on the default bridge, which takes
        # no names, used as it is (no leave and join again)
        assert ("app" in aliases) == (task_network == "emulator")
    stop_all(ecs.list_tasks(cluster=cluster)["taskArns"])
    clean_emulator.reset()
    assert docker_spares(docker_client) == []
