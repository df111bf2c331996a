"""Bridge tasks in sandboxes made ahead of time (engine/sandbox_pool.py, engine/task_runner.py).

A bridge task of one container joins a ready pause container's namespace instead of attaching
to the emulator's network itself; the spare takes the container's name on the network first.
What must survive that: the task is known by its address (its own metadata, no control plane),
others reach it by its container's name, its hostPort is published on 127.0.0.1, DescribeTasks
shows what it shows for any bridge task, and nothing of it is left once it is STOPPED.
Names are the emulator's network's (ECS_EMULATOR_TASK_NETWORK=emulator): on Docker's default
bridge, the default, a spare keeps its name (tests/test_task_network_bridge.py).
"""

from __future__ import annotations

import json

import pytest

from emulator.engine.sandbox_pool import POOL_NAME
from emulator.runtime.status import TaskStatus
from tests.test_containment import PROBE, probes
from tests.test_engine_units import Engine
from tests.test_sandbox_pool import _get, docker_spares, quick_refills, spares  # noqa: F401
from tests.test_task_metadata import environment_of, output_of, register, run, stop
from tests.ecs_requests import ecs_request
from tests.waiting import wait_for, wait_for_task


@pytest.fixture(scope="module")
def ecs_emulator(emulator_network_emulator):
    return emulator_network_emulator


# -- on the fake runtime -----------------------------------------------------------------------

def _run_bridge(world, *containers):
    from emulator.aws.context import RequestContext
    from emulator.ecs import task_definitions, tasks

    with world.state.lock:
        arn = task_definitions.register(
            world.store, RequestContext("123456789012", "us-east-1"),
            ecs_request("RegisterTaskDefinition", {
                "family": "br", "networkMode": "bridge", "containerDefinitions": [
                    {"image": "app", "memory": 64, **c} for c in containers]})).arn
        ran, failures = tasks.run(world.store, ecs_request("RunTask", {
            "cluster": "c", "taskDefinition": arn}))
    assert not failures
    return ran[0]


def test_a_one_container_bridge_task_takes_a_named_spare_others_attach_themselves():
    world = Engine()
    world.engine.start()
    try:
        for _ in range(2):  # none ready: each attaches itself; after two, a spare is wanted
            world.reaches(_run_bridge(world, {"name": "web"}), TaskStatus.RUNNING)
        [spare] = wait_for(lambda: spares(world.fake), lambda found: len(found) == 1)
        wait_for(world.engine.sandboxes.ready_count, lambda n: n == 1)
        # What cannot live in another's namespace, and tasks of two containers, take none.
        for containers in ([{"name": "web", "hostname": "box"}],
                           [{"name": "web", "links": ["db"]}, {"name": "db"}]):
            task = _run_bridge(world, *containers)
            world.reaches(task, TaskStatus.RUNNING)
            assert world.fake.containers[world.container(task, "web").runtime_id].network \
                == world.fake.ensure_network()[0]
        task = _run_bridge(world, {"name": "web"})
        world.reaches(task, TaskStatus.RUNNING)
        main = world.fake.containers[world.container(task, "web").runtime_id]
        assert main.network == f"container:{spare.id}"
        assert spare.aliases == ("web",)  # named as the container, before it joined
        assert (task.sandbox_id, task.private_ip, task.attachments) == (spare.id, None, [])
        world.stop(task)
        world.reaches(task, TaskStatus.STOPPED)
        wait_for(lambda: spare.id in world.fake.containers, lambda present: not present)
    finally:
        world.engine.stop()
    assert world.fake.containers == {}


# -- through Docker ------------------------------------------------------------------------------

SERVE = ('p "$ECS_CONTAINER_METADATA_URI_V4/task"; p "$AWS_ENDPOINT_URL/_emulator/health"; '
         'echo END; echo hello > /tmp/index.html; exec httpd -f -p 8080 -h /tmp')


@pytest.mark.docker
def test_a_bridge_task_on_a_spare_keeps_what_a_bridge_task_has(
        ecs, cluster, busybox_image, docker_client, clean_emulator):
    port = [{"containerPort": 8080}]  # a dynamic host port: the spare's shape
    warm = register(ecs, {"name": "warm", "image": busybox_image, "memory": 32,
                          "portMappings": port, "command": ["sleep", "300"]}, family="warm")
    warm_arns = [run(ecs, cluster, warm), run(ecs, cluster, warm)]  # two asks: a spare is kept
    for arn in warm_arns:
        wait_for_task(ecs, cluster, arn, "RUNNING")
    wait_for(lambda: docker_spares(docker_client), lambda found: len(found) == 1)
    pool = clean_emulator.emulator.engine.sandboxes
    wait_for(pool.ready_count, lambda n: n == 1)  # made, and in the pool

    web = register(ecs, {"name": "web", "image": busybox_image, "memory": 32,
                         "portMappings": port, "command": ["sh", "-c", PROBE + SERVE]},
                   family="web")
    arn = run(ecs, cluster, web)
    described = wait_for_task(ecs, cluster, arn, "RUNNING")
    [container] = described["containers"]
    # Held by a spare the pool made (under load the pool may have made the next one meanwhile,
    # and trimmed or handed out the one seen above: which spare is the pool's to choose).
    mode = docker_client.api.inspect_container(container["runtimeId"])["HostConfig"][
        "NetworkMode"]
    assert mode.startswith("container:")
    spare = docker_client.containers.get(mode.partition(":")[2])
    assert spare.labels["ecs-emulator.container-name"] == POOL_NAME
    # What DescribeTasks shows is a bridge task's, as for one that attached itself.
    other = wait_for_task(ecs, cluster, warm_arns[0], "RUNNING")
    assert set(described) == set(other) and set(container) == set(other["containers"][0])
    assert described["attachments"] == [] and container["networkInterfaces"] == []
    [binding] = container["networkBindings"]
    assert (binding["containerPort"], binding["bindIP"]) == (8080, "127.0.0.1")
    # Its host name is the spare's (Docker gives a container in another's namespace that one's),
    # not its own short id, which one that attached itself has (as `docker run`); the README
    # says so under "Networking".
    assert _hostname(docker_client, container["runtimeId"]) == spare.id[:12]
    warm_id = other["containers"][0]["runtimeId"]
    assert _hostname(docker_client, warm_id) == warm_id[:12]

    # Known by its address: its own metadata; the control plane refused.
    env = environment_of(docker_client, arn, "web")
    seen = probes(output_of(docker_client, arn, "web", "END"))
    status, body = seen[f"{env['ECS_CONTAINER_METADATA_URI_V4']}/task"]
    assert status == 0 and json.loads(body)["TaskARN"] == arn
    assert "HTTP/1.1 403" in seen[f"{env['AWS_ENDPOINT_URL']}/_emulator/health"][1]
    # Published on this host's loopback, and reached by its container's name from another task.
    assert wait_for(lambda: _get(binding["hostPort"]), lambda text: text == "hello\n")
    prober = register(ecs, {"name": "prober", "image": busybox_image, "memory": 32, "command": [
        "sh", "-c", "until wget -qO- http://web:8080/index.html; do sleep 0.2; done; echo END; "
                    "sleep 300"]}, family="prober")
    probing = run(ecs, cluster, prober)
    assert "hello" in output_of(docker_client, probing, "prober", "END", timeout=30)

    stop(ecs, cluster, arn, docker_client)  # its container is gone once STOPPED
    # (removed between the list and its inspect is removed too, not a 404)
    wait_for(lambda: docker_client.containers.list(all=True, ignore_removed=True,
                                                   filters={"id": spare.id}),
             lambda found: found == [], timeout=10)
    for other_arn in (probing, *warm_arns):
        stop(ecs, cluster, other_arn, docker_client)
    clean_emulator.reset()
    assert docker_spares(docker_client) == []


def _hostname(docker_client, container_id: str) -> str:
    """What `hostname` prints in the container. On a loaded machine Docker's exec stream may end
    before the command's output reaches it (seen at a load of 44: an empty answer from a command
    that always prints): asked again until it says something."""
    def ask() -> str:
        run = docker_client.api.exec_create(container_id, ["hostname"])
        return docker_client.api.exec_start(run["Id"]).decode().strip()
    return wait_for(ask, bool, timeout=10, interval=0.5)
