"""A persisted emulator started again on another port says, in one line, that the tasks it
adopted still call the old one (their containers' environment was set at their start)."""

from __future__ import annotations

import signal

import pytest

from tests.test_cli import free_port, start  # noqa: F401  (start is a fixture)
from tests.test_persistence import NETWORK, SERVE, Emulator, remove_everything, settle_writes
from tests.waiting import wait_for

pytestmark = pytest.mark.docker


def test_a_restart_on_another_port_warns_that_adopted_tasks_keep_the_old_one(
        start, tmp_path, busybox_image, docker_client):  # noqa: F811
    emulator = Emulator(start, tmp_path, free_port()).up()
    emulator.instance = (tmp_path / "state" / "instance").read_text()
    old = emulator.port
    try:
        ecs = emulator.client("ecs")
        ecs.create_cluster(clusterName="dev")
        ecs.register_task_definition(
            family="web", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
            memory="512", containerDefinitions=[{"name": "web", "image": busybox_image,
                                                 "command": SERVE}])
        arn = ecs.run_task(cluster="dev", taskDefinition="web", launchType="FARGATE",
                           networkConfiguration=NETWORK)["tasks"][0]["taskArn"]
        wait_for(lambda: ecs.describe_tasks(cluster="dev", tasks=[arn])["tasks"][0],
                 lambda task: task["lastStatus"] == "RUNNING", timeout=90)
        settle_writes(tmp_path / "state", [arn])
        emulator.running.stop(signal.SIGKILL)
        # (nothing to warn of on a first start)
        assert "adopted tasks were started" not in emulator.running.output()

        emulator.port = free_port()
        emulator.handle = Emulator(start, tmp_path, emulator.port).handle
        emulator.up()
        ecs = emulator.client("ecs")
        assert ecs.describe_tasks(cluster="dev", tasks=[arn])[
            "tasks"][0]["lastStatus"] == "RUNNING"  # adopted, not restarted
        second = ecs.run_task(cluster="dev", taskDefinition="web", launchType="FARGATE",
                              networkConfiguration=NETWORK)["tasks"][0]["taskArn"]  # new port's
        wait_for(lambda: ecs.describe_tasks(cluster="dev", tasks=[second])["tasks"][0],
                 lambda task: task["lastStatus"] == "RUNNING", timeout=90)
        settle_writes(tmp_path / "state", [arn, second])
        emulator.running.stop(signal.SIGKILL)  # (a stop in order would stop the tasks)
        _assert_warned_once(emulator.running.output(), old, emulator.port)

        # the same port again: the first task still calls the old one; the second is fine
        emulator.handle = Emulator(start, tmp_path, emulator.port).handle
        emulator.up()
        assert emulator.running.stop() == 0
        _assert_warned_once(emulator.running.output(), old, emulator.port)
    finally:
        if emulator.running is not None:
            emulator.running.kill()
        remove_everything(docker_client, emulator.instance)


def _assert_warned_once(output: str, old: int, port: int) -> None:
    warned = [line for line in output.splitlines()
              if "adopted tasks were started on port" in line]
    assert len(warned) == 1, output
    assert f"1 adopted tasks were started on port {old}, this emulator serves port " \
           f"{port}: their containers keep AWS_ENDPOINT_URL" in warned[0]


def test_the_last_runs_port_is_kept_for_tasks_that_kept_none(tmp_path):
    from emulator.persistence.keeper import Keeper

    keeper = Keeper(tmp_path / "state")
    assert keeper.port_change(4566) is None  # first start: nothing known
    assert keeper.port_change(4566) is None
    assert keeper.port_change(5000) == 4566
    assert Keeper(tmp_path / "state").port_change(5000) is None
    assert not Keeper(tmp_path / "state").restore()  # the port is not a part of the state


def test_each_task_is_told_by_the_port_it_started_on():
    from types import SimpleNamespace

    from emulator.persistence.start_ports import StartPorts

    port = [4566]
    ports = StartPorts(lambda: port[0])
    first, second, legacy = (SimpleNamespace(arn=name) for name in ("first", "second", "legacy"))
    ports.before_create(None, first)
    port[0] = 5000
    ports.before_create(None, second)
    # 4566 -> 5000 -> 5000: the first task still calls 4566, at every start; the second is home
    for _ in range(2):
        assert ports.elsewhere([first, second], 5000, None) == {4566: 1}
    # a task of a version that kept one port per run: the last run's, and kept so
    assert ports.elsewhere([first, second, legacy], 5000, 4000) == {4566: 1, 4000: 1}
    assert ports.elsewhere([legacy], 5000, None) == {4000: 1}
    ports.on_stopped(None, first)
    assert ports.elsewhere([second], 5000, None) == {}
    assert ports.persistent_fields == ("_by_task",)
