"""Nothing leaks: after a reset, and after an emulator stops, no container, network or volume of
it is left on the Docker Engine; and a test session that leaves one fails (the session-end check
in conftest.py, which holds whatever order the files run in)."""

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from emulator.config import Settings
from emulator.pytest_plugin import EmulatorHandle, start_server
from emulator.runtime.labels import INSTANCE
from tests.busybox import SERVE
from tests.waiting import wait_for_task

pytestmark = pytest.mark.docker


def leftovers(docker_client, instance: str) -> dict:
    label = {"label": f"{INSTANCE}={instance}"}
    return {
        "containers": [c.name for c in docker_client.containers.list(  # (gone meanwhile: gone)
            all=True, ignore_removed=True, filters=label)],
        "networks": [n.name for n in docker_client.networks.list(filters=label)],
        "volumes": [v.name for v in docker_client.volumes.list(filters=label)],
    }


def start_tasks(handle, image):
    """An awsvpc task with a task-scoped volume, and a bridge service of two tasks."""
    ecs = handle.client("ecs")
    ecs.create_cluster(clusterName="leak")
    vpc = ecs.register_task_definition(
        family="vpc", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", volumes=[{"name": "scratch"}],
        containerDefinitions=[{"name": "main", "image": image, "command": SERVE,
                               "mountPoints": [{"sourceVolume": "scratch", "containerPath": "/s"}]}],
    )["taskDefinition"]["taskDefinitionArn"]
    arn = ecs.run_task(cluster="leak", taskDefinition=vpc, launchType="FARGATE",
                       networkConfiguration={"awsvpcConfiguration": {"subnets": ["s"]}})["tasks"][0]["taskArn"]
    bridge = ecs.register_task_definition(
        family="bridge", containerDefinitions=[{"name": "main", "image": image, "memory": 32,
                                                "command": SERVE}])["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster="leak", serviceName="s", taskDefinition=bridge, desiredCount=2)
    wait_for_task(ecs, "leak", arn, "RUNNING")
    ecs.get_waiter("services_stable").wait(cluster="leak", services=["s"],
                                           WaiterConfig={"Delay": 1, "MaxAttempts": 60})


def test_reset_removes_every_task_container_and_volume(clean_emulator, busybox_image, docker_client):
    start_tasks(clean_emulator, busybox_image)
    instance = clean_emulator.emulator.engine.runtime.instance_id
    assert leftovers(docker_client, instance)["containers"]
    clean_emulator.reset()
    left = leftovers(docker_client, instance)
    assert left["containers"] == [] and left["volumes"] == []


@pytest.mark.parametrize("task_network", ["default-bridge", "emulator"])
def test_stopping_an_emulator_removes_all_it_made(busybox_image, docker_client, task_network):
    server = start_server(Settings(host="127.0.0.1", port=0, link_local_credentials=False,
                                   task_network=task_network))
    try:
        handle = EmulatorHandle(server)
        start_tasks(handle, busybox_image)
        instance = server.emulator.engine.runtime.instance_id
        # a network of its own only where tasks are not on Docker's default bridge, never made
        assert bool(leftovers(docker_client, instance)["networks"]) == (task_network == "emulator")
    finally:
        server.stop()
    assert leftovers(docker_client, instance) == {"containers": [], "networks": [], "volumes": []}


LEAKY_TEST = """
from emulator.runtime.base import ContainerSpec
from emulator.runtime.docker_runtime import DockerRuntime
from emulator.runtime.labels import STATE_MARK


def test_leaves_a_container_behind(busybox_image):
    runtime = DockerRuntime()
    runtime.create_container(ContainerSpec(name="leaky-{suffix}", image=busybox_image, labels={{}}))


def test_a_persisted_emulator_leaves_a_volume_behind(tmp_path):
    # Its state directory holds the mark a persisted emulator's does: an emulator starting
    # meanwhile (another worker's) must not take the volume for an orphan's and remove it.
    state = tmp_path / "state"
    state.mkdir()
    (state / STATE_MARK).write_text("leaky")
    DockerRuntime(state_dir=str(state)).ensure_volume("leaky-{suffix}", {{}})
"""


# In one process, and in two pytest-xdist workers (the leaky tests spread over them, so the
# controller's check must find what either worker left).
@pytest.mark.parametrize("workers", ["0", "2"])
def test_a_session_that_leaves_a_container_fails_and_the_container_goes(tmp_path, busybox_image,
                                                                         docker_client, workers):
    suffix = uuid.uuid4().hex[:12]  # its own names: the other parametrization may run meanwhile
    (tmp_path / "test_leaky.py").write_text(LEAKY_TEST.format(suffix=suffix))
    root = Path(__file__).resolve().parent.parent
    inner = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:cacheprovider",
         "-n", workers, "--dist", "load", "--rootdir", str(tmp_path),
         str(tmp_path / "test_leaky.py")],
        cwd=root, capture_output=True, text=True, timeout=300)
    assert inner.returncode == pytest.ExitCode.TESTS_FAILED, inner.stdout + inner.stderr
    assert "2 passed" in inner.stdout
    assert ("LEAK: this test session left on the Docker Engine: "
            f"container leaky-{suffix}, volume leaky-{suffix}") in inner.stdout
    assert docker_client.containers.list(all=True, filters={"name": f"leaky-{suffix}"}) == []
    assert [v for v in docker_client.volumes.list() if v.name == f"leaky-{suffix}"] == []


def test_a_network_with_a_stranger_on_it_is_emptied_then_removed(busybox_image, docker_client,
                                                                  caplog):
    """Docker refuses to remove a network with an endpoint on it ("has active endpoints"): one a
    user attached, or one whose container is gone (moby/moby#23302, not made on demand here).
    The sweep force-disconnects each, says so, and removes the network; the stranger lives on."""
    import logging

    from emulator.runtime import docker_cleanup
    from emulator.runtime.docker_runtime import DockerRuntime
    from emulator.runtime.labels import new_instance_id

    runtime = DockerRuntime(instance_id=new_instance_id())
    network, _ = runtime.ensure_network()
    stranger = docker_client.containers.run(busybox_image, ["sleep", "30"], detach=True,
                                            network=network)
    try:
        with caplog.at_level(logging.INFO, logger=docker_cleanup.log.name):
            assert runtime.remove_labelled({}) == 1
        assert docker_client.networks.list(names=[network]) == []
        assert f"force-disconnected {stranger.id}" in caplog.text
        stranger.reload()
        assert stranger.status == "running"
        assert network not in stranger.attrs["NetworkSettings"]["Networks"]
    finally:
        stranger.remove(force=True)
        runtime.close()
