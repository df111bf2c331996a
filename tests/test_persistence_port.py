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
        assert emulator.client("ecs").describe_tasks(cluster="dev", tasks=[arn])[
            "tasks"][0]["lastStatus"] == "RUNNING"  # adopted, not restarted
        assert emulator.running.stop() == 0
        warned = [line for line in emulator.running.output().splitlines()
                  if "adopted tasks were started on port" in line]
        assert len(warned) == 1, emulator.running.output()
        assert f"1 adopted tasks were started on port {old}, this emulator serves port " \
               f"{emulator.port}: their containers keep AWS_ENDPOINT_URL" in warned[0]
    finally:
        if emulator.running is not None:
            emulator.running.kill()
        remove_everything(docker_client, emulator.instance)


def test_the_same_port_again_is_no_change(tmp_path):
    from emulator.persistence.keeper import Keeper

    keeper = Keeper(tmp_path / "state")
    assert keeper.port_change(4566) is None  # first start: nothing known
    assert keeper.port_change(4566) is None
    assert keeper.port_change(5000) == 4566
    assert Keeper(tmp_path / "state").port_change(5000) is None  # kept across runs
    assert not Keeper(tmp_path / "state").restore()  # the port is not a part of the state
