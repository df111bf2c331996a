"""ECS_EMULATOR_TASK_NETWORK=default-bridge through Docker: tasks' namespaces on Docker's default
bridge (docker0), and what tasks need kept there (runtime/docker_network.py, access/callers.py).

One emulator for the module, started with the setting and serving credentials on 169.254.170.2
where the host allows (tests.groups.HOST: it takes that address, and puts containers on docker0).
Real tasks probe with busybox's wget and print what they got; a container of no task's on
docker0 (a stranger, labelled as ours so that the leak check covers it) probes the same.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from emulator.metadata.link_local import ADDRESS as LINK_LOCAL
from emulator.pytest_plugin import running_emulator
from tests.groups import HOST
from tests.test_containment import CLOSED, PROBE, probes
from emulator.engine.sandbox_pool import POOL_NAME
from tests.test_sandbox_pool import _get
from tests.test_task_credentials import make_role
from tests.test_task_metadata import environment_of, output_of, register, run, stop
from tests.waiting import wait_for, wait_for_task

pytestmark = [pytest.mark.docker, HOST]

SERVE = "echo hello > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"
PORT = [{"containerPort": 8080}]  # a dynamic host port on 127.0.0.1


@pytest.fixture(scope="module")
def ecs_emulator(ecs_emulator_settings):
    with running_emulator(replace(ecs_emulator_settings, link_local_credentials=True,
                                  task_network="default-bridge")) as handle:
        yield handle


def _network_mode(docker_client, container_id: str) -> str:
    return docker_client.api.inspect_container(container_id)["HostConfig"]["NetworkMode"]


def _bridge_endpoint(docker_client, container_id: str) -> dict:
    return docker_client.api.inspect_container(container_id)["NetworkSettings"]["Networks"][
        "bridge"]


def _spares(docker_client, runtime) -> list:
    """This emulator's spares (another emulator in this process, the session's, has its own)."""
    return docker_client.containers.list(all=True, filters={"label": [
        f"ecs-emulator.container-name={POOL_NAME}",
        f"ecs-emulator.instance={runtime.instance_id}"]})


def _stranger(docker_client, runtime, image: str, urls: list[str]) -> tuple[str, dict]:
    """A container of no task's on docker0 probes `urls`: its address and what it got."""
    stranger = docker_client.containers.run(
        image, ["sh", "-c", PROBE + "; ".join(f'p "{url}"' for url in urls)],
        network_mode="bridge", detach=True,
        labels=runtime.labels({"ecs-emulator.test": "stranger"}))
    try:
        address = _bridge_endpoint(docker_client, stranger.id)["IPAddress"]
        stranger.wait(timeout=60)
        return address, probes(stranger.logs().decode())
    finally:
        stranger.remove(force=True)


def test_tasks_on_the_default_bridge_reach_what_they_need_and_strangers_nothing(
        ecs, cluster, busybox_image, docker_client, clean_emulator):
    iam = clean_emulator.client("iam")
    emulator = clean_emulator.emulator
    runtime = emulator.engine.runtime
    endpoint = emulator.container_endpoint()
    gateway = runtime.ensure_network()[1]
    assert runtime.ensure_network()[0] == "bridge" and endpoint.startswith(f"http://{gateway}:")

    # A bridge task of two containers: app reaches db by its link, as ECS's bridge mode on EC2.
    role = make_role(iam, "pair-role")
    pair = register(
        ecs, {"name": "db", "image": busybox_image, "memory": 32, "portMappings": PORT,
              "command": ["sh", "-c", SERVE]},
        {"name": "app", "image": busybox_image, "memory": 32, "links": ["db"], "command": [
            "sh", "-c", "until wget -qO- http://db:8080/index.html 2>/dev/null; do sleep 0.2; "
            "done; "
            + PROBE + 'p "$ECS_CONTAINER_METADATA_URI_V4/task"; '
            'p "$AWS_ENDPOINT_URL/_emulator/health"; '
            '[ -n "$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI" ] && '
            f'p "http://{LINK_LOCAL}$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"; '
            "echo END; sleep 300"]},
        family="pair", taskRoleArn=role)
    pair_arn = run(ecs, cluster, pair)
    described = wait_for_task(ecs, cluster, pair_arn, "RUNNING")
    ids = {c["name"]: c["runtimeId"] for c in described["containers"]}
    assert {_network_mode(docker_client, i) for i in ids.values()} == {"bridge"}
    pair_env = environment_of(docker_client, pair_arn, "app")
    assert pair_env["AWS_ENDPOINT_URL"] == endpoint
    seen = probes(output_of(docker_client, pair_arn, "app", "END"))
    assert output_of(docker_client, pair_arn, "app", "END").startswith("hello")  # by its link
    status, body = seen[f"{pair_env['ECS_CONTAINER_METADATA_URI_V4']}/task"]
    assert status == 0 and json.loads(body)["TaskARN"] == pair_arn  # its own metadata
    assert "HTTP/1.1 403" in seen[f"{endpoint}/_emulator/health"][1]  # no control plane
    credentials = pair_env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
    if credentials is not None:  # 169.254.170.2 served here (root, port 80 free)
        status, body = seen[f"http://{LINK_LOCAL}{credentials}"]
        assert status == 0 and json.loads(body)["RoleArn"] == role
    # Its host port, on this host's loopback.
    [binding] = [b for c in described["containers"] if c["name"] == "db"
                 for b in c["networkBindings"]]
    assert binding["bindIP"] == "127.0.0.1"
    assert wait_for(lambda: _get(binding["hostPort"]), lambda text: text == "hello\n")

    # An awsvpc task: its pause sandbox on the default bridge; it reaches the bridge task's db
    # by address, its own metadata and credentials, and not the other task's.
    db_address = _bridge_endpoint(docker_client, ids["db"])["IPAddress"]
    pair_key = pair_env["ECS_CONTAINER_METADATA_URI_V4"].rsplit("/", 1)[1]
    probed = ['"$ECS_CONTAINER_METADATA_URI_V4/task"', f'"http://{db_address}:8080/index.html"',
              f'"$AWS_ENDPOINT_URL/v4/{pair_key}/task"']
    if credentials is not None:
        probed += [f'"http://{LINK_LOCAL}$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"',
                   f'"http://{LINK_LOCAL}{credentials}"']
    vpc_role = make_role(iam, "vpc-role")
    vpc = register(ecs, {"name": "app", "image": busybox_image, "memory": 32, "command": [
        "sh", "-c", PROBE + "".join(f"p {p}; " for p in probed) + "echo END; sleep 300"]},
        family="vpc", networkMode="awsvpc", taskRoleArn=vpc_role)
    vpc_arn = run(ecs, cluster, vpc, networkConfiguration={
        "awsvpcConfiguration": {"subnets": ["subnet-1"]}})
    described = wait_for_task(ecs, cluster, vpc_arn, "RUNNING")
    [vpc_container] = described["containers"]
    sandbox = _network_mode(docker_client, vpc_container["runtimeId"]).split(":", 1)[1]
    assert _network_mode(docker_client, sandbox) == "bridge"
    vpc_address = _bridge_endpoint(docker_client, sandbox)["IPAddress"]
    assert vpc_container["networkInterfaces"][0]["privateIpv4Address"] == vpc_address
    vpc_env = environment_of(docker_client, vpc_arn, "app")
    seen = probes(output_of(docker_client, vpc_arn, "app", "END"))
    status, body = seen[f"{vpc_env['ECS_CONTAINER_METADATA_URI_V4']}/task"]
    assert status == 0 and json.loads(body)["TaskARN"] == vpc_arn
    assert seen[f"http://{db_address}:8080/index.html"] == (0, "hello")
    assert "HTTP/1.1 404" in seen[f"{endpoint}/v4/{pair_key}/task"][1]  # not its task's
    if credentials is not None:
        own = vpc_env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]
        status, body = seen[f"http://{LINK_LOCAL}{own}"]
        assert status == 0 and json.loads(body)["RoleArn"] == vpc_role
        assert "HTTP/1.1 400" in seen[f"http://{LINK_LOCAL}{credentials}"][1]  # not its own

    # A stranger on docker0, after the awsvpc task stopped (Docker gives a freed address to the
    # next container: it may be the task's): closed before any answer, on the gateway's
    # listener and on 169.254.170.2, whatever it asks.
    stop(ecs, cluster, vpc_arn, docker_client)
    urls = [f"{endpoint}/v4/{pair_key}/task", f"{endpoint}/_emulator/health",
            f"{endpoint}/"]
    if credentials is not None:
        urls += [f"http://{LINK_LOCAL}{credentials}", f"{endpoint}{credentials}"]
    address, seen = _stranger(docker_client, runtime, busybox_image, urls)
    assert set(seen) == set(urls)
    for url, (status, said) in seen.items():
        assert status != 0 and any(reason in said for reason in CLOSED), (url, address, said)
    stop(ecs, cluster, pair_arn, docker_client)


def test_a_bridge_spare_on_the_default_bridge_is_used_without_renaming(
        ecs, cluster, busybox_image, docker_client, clean_emulator):
    warm = register(ecs, {"name": "warm", "image": busybox_image, "memory": 32,
                          "portMappings": PORT, "command": ["sleep", "300"]}, family="warm")
    warm_arns = [run(ecs, cluster, warm), run(ecs, cluster, warm)]  # two asks: a spare is kept
    for arn in warm_arns:
        wait_for_task(ecs, cluster, arn, "RUNNING")
    runtime = clean_emulator.emulator.engine.runtime
    [spare] = wait_for(lambda: _spares(docker_client, runtime), lambda found: len(found) == 1)
    wait_for(clean_emulator.emulator.engine.sandboxes.ready_count, lambda n: n == 1)
    before = _bridge_endpoint(docker_client, spare.id)
    assert _network_mode(docker_client, spare.id) == "bridge"

    web = register(ecs, {"name": "web", "image": busybox_image, "memory": 32,
                         "portMappings": PORT, "command": [
                             "sh", "-c", PROBE + 'p "$ECS_CONTAINER_METADATA_URI_V4/task"; '
                             "echo END; " + SERVE]}, family="web")
    arn = run(ecs, cluster, web)
    [container] = wait_for_task(ecs, cluster, arn, "RUNNING")["containers"]
    assert _network_mode(docker_client, container["runtimeId"]) == f"container:{spare.id}"
    # Not taken off the network and joined again under a name: the same endpoint, no aliases.
    after = _bridge_endpoint(docker_client, spare.id)
    assert (after["EndpointID"], after["IPAddress"]) == (before["EndpointID"],
                                                        before["IPAddress"])
    assert not after.get("Aliases")
    env = environment_of(docker_client, arn, "web")
    status, body = probes(output_of(docker_client, arn, "web", "END"))[
        f"{env['ECS_CONTAINER_METADATA_URI_V4']}/task"]
    assert status == 0 and json.loads(body)["TaskARN"] == arn  # known by the spare's address
    [binding] = container["networkBindings"]
    assert binding["bindIP"] == "127.0.0.1"
    assert wait_for(lambda: _get(binding["hostPort"]), lambda text: text == "hello\n")

    # Nothing of the emulator's is left after a reset; docker0 is Docker's and stays.
    clean_emulator.reset()
    assert docker_client.api.containers(all=True, filters={
        "label": [f"ecs-emulator.instance={runtime.instance_id}"]}) == []
    assert docker_client.api.inspect_network("bridge")["Name"] == "bridge"
