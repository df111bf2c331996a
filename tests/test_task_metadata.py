"""The task metadata endpoint (v4 and v3), as real tasks' containers see it.

A busybox container fetches its own metadata with wget and prints it; the test reads the
container's output back from Docker. The same URLs are fetched from the host for the details.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import docker.errors
import pytest

from tests.waiting import wait_for, wait_for_task

pytestmark = pytest.mark.docker

ACCOUNT = "123456789012"
TASK_LABEL = "ecs-emulator.task-arn"
# Waits until the task is RUNNING (the containers start a moment before), then prints documents.
FETCH = ('until wget -qO- "$ECS_CONTAINER_METADATA_URI_V4/task" | grep -q \'"KnownStatus": '
         '"RUNNING", "Containers"\'; do sleep 0.2; done; '
         'echo CONTAINER; wget -qO- "$ECS_CONTAINER_METADATA_URI_V4"; echo; '
         'echo TASK; wget -qO- "$ECS_CONTAINER_METADATA_URI_V4/task"; echo; echo END; sleep 300')


# -- helpers (the other task tests of this area use them too) -----------------------------------

def register(ecs, *containers, family="meta", **extra) -> str:
    for container in containers:
        container.setdefault("stopTimeout", 1)  # busybox as PID 1 ignores SIGTERM: don't wait 30 s
    return ecs.register_task_definition(
        family=family, containerDefinitions=list(containers), **extra
    )["taskDefinition"]["taskDefinitionArn"]


def run(ecs, cluster, task_definition, **extra) -> str:
    response = ecs.run_task(cluster=cluster, taskDefinition=task_definition, **extra)
    assert response["failures"] == []
    return response["tasks"][0]["taskArn"]


def stop(ecs, cluster, arn, docker_client) -> None:
    ecs.stop_task(cluster=cluster, task=arn)
    wait_for_task(ecs, cluster, arn, "STOPPED")
    assert docker_client.containers.list(all=True, filters={"label": f"{TASK_LABEL}={arn}"}) == []


def container_of(docker_client, arn, name: str):
    """The task's container `name` (waiting for the engine to create it)."""
    def find():
        listed = docker_client.api.containers(all=True, filters={"label": [
            f"{TASK_LABEL}={arn}", f"ecs-emulator.container-name={name}"]})
        try:
            return [docker_client.containers.get(c["Id"]) for c in listed]
        except docker.errors.NotFound:  # removed since it was listed: look again
            return []
    return wait_for(find, bool)[0]


def output_of(docker_client, arn, name: str, until: str, timeout: float = 60.0) -> str:
    """The container's stdout and stderr once `until` appears in it."""
    container = container_of(docker_client, arn, name)
    return wait_for(lambda: container.logs().decode(), lambda text: until in text, timeout)


def environment_of(docker_client, arn, name: str) -> dict[str, str]:
    env = container_of(docker_client, arn, name).attrs["Config"]["Env"]
    return dict(item.split("=", 1) for item in env)


def get(url: str) -> tuple[int, object]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def between(text: str, start: str, end: str) -> str:
    return text.split(start + "\n", 1)[1].split("\n" + end, 1)[0]


# -- tests --------------------------------------------------------------------------------------

def test_container_reads_its_own_metadata_and_its_task(ecs, cluster, busybox_image, docker_client):
    definition = register(
        ecs,
        {"name": "app", "image": busybox_image, "memory": 64, "cpu": 128,
         "command": ["sh", "-c", FETCH], "dockerLabels": {"team": "blue"},
         "portMappings": [{"containerPort": 8080, "hostPort": 0}]},
        {"name": "side", "image": busybox_image, "memory": 32, "essential": False,
         "command": ["sleep", "300"]},
        cpu="512", memory="256",
    )
    arn = run(ecs, cluster, definition)
    task_id = arn.rsplit("/", 1)[1]
    printed = output_of(docker_client, arn, "app", "END")
    mine = json.loads(between(printed, "CONTAINER", "TASK"))
    task = json.loads(between(printed, "TASK", "END"))
    app = container_of(docker_client, arn, "app")

    assert mine["Name"] == "app"
    assert mine["DockerId"] == app.id
    assert mine["DockerName"] == app.name
    assert mine["Image"] == busybox_image
    assert mine["ImageID"] == app.attrs["Image"]
    assert mine["Labels"]["team"] == "blue"
    assert mine["Labels"]["com.amazonaws.ecs.task-arn"] == arn
    assert mine["Labels"]["com.amazonaws.ecs.container-name"] == "app"
    assert mine["Labels"]["com.amazonaws.ecs.task-definition-family"] == "meta"
    assert mine["Labels"]["com.amazonaws.ecs.task-definition-version"] == "1"
    assert (mine["DesiredStatus"], mine["KnownStatus"], mine["Type"]) == ("RUNNING", "RUNNING",
                                                                          "NORMAL")
    assert mine["Limits"] == {"CPU": 128, "Memory": 64}
    assert mine["ContainerARN"].startswith(f"arn:aws:ecs:us-east-1:{ACCOUNT}:container/work/")
    ip = app.attrs["NetworkSettings"]["Networks"].popitem()[1]["IPAddress"]
    assert mine["Networks"] == [{"NetworkMode": "bridge", "IPv4Addresses": [ip]}]
    [port] = mine["Ports"]
    assert (port["ContainerPort"], port["Protocol"]) == (8080, "tcp")
    assert port["HostPort"] > 0 and port["HostIp"] == "127.0.0.1"
    assert mine["StartedAt"].endswith("Z") and "ExitCode" not in mine

    assert task["Cluster"] == "work"
    assert task["TaskARN"] == arn
    assert (task["Family"], task["Revision"]) == ("meta", "1")
    assert (task["DesiredStatus"], task["KnownStatus"]) == ("RUNNING", "RUNNING")
    assert task["Limits"] == {"CPU": 0.5, "Memory": 256}
    assert task["LaunchType"] == "EC2"
    assert task["AvailabilityZone"] == "us-east-1a"
    assert task["PullStartedAt"] <= task["PullStoppedAt"]
    assert [c["Name"] for c in task["Containers"]] == ["app", "side"]
    assert task["Containers"][0]["DockerId"] == app.id
    assert task["Containers"][1]["Limits"] == {"CPU": 2, "Memory": 32}
    assert f"/work/{task_id}/" in mine["ContainerARN"]
    stop(ecs, cluster, arn, docker_client)


def test_v3_has_no_v4_fields_and_tags_come_with_task_with_tags(ecs, cluster, busybox_image,
                                                                  docker_client):
    definition = register(ecs, {"name": "app", "image": busybox_image, "memory": 64,
                                "command": ["sleep", "300"]})
    arn = run(ecs, cluster, definition, tags=[{"key": "stage", "value": "test"}])
    wait_for_task(ecs, cluster, arn, "RUNNING")
    env = environment_of(docker_client, arn, "app")
    v4, v3 = env["ECS_CONTAINER_METADATA_URI_V4"], env["ECS_CONTAINER_METADATA_URI"]
    assert v4.endswith(f"/v4/{arn.rsplit('/', 1)[1]}-app")

    status, container_v3 = get(v3)
    assert status == 200 and container_v3["Name"] == "app"
    assert not {"ContainerARN", "LogDriver", "LogOptions"} & set(container_v3)
    status, task_v3 = get(v3 + "/task")
    assert status == 200 and task_v3["TaskARN"] == arn
    assert not {"LaunchType", "FaultInjectionEnabled", "TaskTags"} & set(task_v3)
    assert get(v3 + "/taskWithTags")[0] == 404

    status, tagged = get(v4 + "/taskWithTags")
    assert status == 200 and tagged["TaskTags"] == {"stage": "test"}
    assert "TaskTags" not in get(v4 + "/task")[1]
    stop(ecs, cluster, arn, docker_client)


def test_stats_come_from_docker(ecs, cluster, busybox_image, docker_client):
    definition = register(
        ecs,
        {"name": "app", "image": busybox_image, "memory": 64, "command": ["sleep", "300"]},
        {"name": "side", "image": busybox_image, "memory": 64, "command": ["sleep", "300"]},
    )
    arn = run(ecs, cluster, definition)
    wait_for_task(ecs, cluster, arn, "RUNNING")
    v4 = environment_of(docker_client, arn, "app")["ECS_CONTAINER_METADATA_URI_V4"]
    app = container_of(docker_client, arn, "app")
    side = container_of(docker_client, arn, "side")

    status, first = get(v4 + "/stats")
    assert status == 200
    assert first["id"] == app.id
    assert first["memory_stats"]["limit"] == 64 * 1024 * 1024
    assert "cpu_stats" in first and "networks" in first
    _, second = get(v4 + "/stats")
    # A rate needs two samples: the second answer has one (idle: about zero bytes a second).
    assert set(second["network_rate_stats"]) == {"rx_bytes_per_sec", "tx_bytes_per_sec"}
    assert "network_rate_stats" not in get(v4.replace("/v4/", "/v3/") + "/stats")[1]

    status, both = get(v4 + "/task/stats")
    assert status == 200
    assert set(both) == {app.id, side.id}
    assert both[side.id]["id"] == side.id
    stop(ecs, cluster, arn, docker_client)


def test_awsvpc_fargate_task(ecs, cluster, busybox_image, docker_client):
    definition = register(
        ecs,
        {"name": "web", "image": busybox_image, "command": ["sleep", "300"],
         "portMappings": [{"containerPort": 80}]},
        family="fargate", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
        cpu="256", memory="512",
    )
    arn = run(ecs, cluster, definition, launchType="FARGATE",
              networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-1"]}})
    described = wait_for_task(ecs, cluster, arn, "RUNNING")
    ip = described["containers"][0]["networkInterfaces"][0]["privateIpv4Address"]
    details = {d["name"]: d["value"] for d in described["attachments"][0]["details"]}
    v4 = environment_of(docker_client, arn, "web")["ECS_CONTAINER_METADATA_URI_V4"]

    _, task = get(v4 + "/task")
    assert task["Cluster"] == f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/work"
    assert task["LaunchType"] == "FARGATE"
    assert task["Limits"] == {"CPU": 0.25, "Memory": 512}
    [web] = task["Containers"]
    [network] = web["Networks"]
    assert network["NetworkMode"] == "awsvpc"
    assert network["IPv4Addresses"] == [ip]
    assert network["MACAddress"] == details["macAddress"]
    assert network["PrivateDNSName"] == details["privateDnsName"]
    assert web["Ports"] == [{"ContainerPort": 80, "Protocol": "tcp", "HostPort": 80}]
    stop(ecs, cluster, arn, docker_client)


def test_unknown_paths_and_containers_are_404(ecs, cluster, busybox_image, docker_client):
    definition = register(ecs, {"name": "app", "image": busybox_image, "memory": 64,
                                "command": ["sleep", "300"]})
    arn = run(ecs, cluster, definition)
    wait_for_task(ecs, cluster, arn, "RUNNING")
    v4 = environment_of(docker_client, arn, "app")["ECS_CONTAINER_METADATA_URI_V4"]
    base, key = v4.rsplit("/", 1)
    task_id = key.split("-", 1)[0]

    for url in (f"{base}/{task_id}-nosuch", f"{base}/{'0' * 32}-app", f"{v4}/nothing",
                f"{v4}/task/nothing", f"{base}/{task_id}-nosuch/task",
                f"{base}/{task_id}-nosuch/stats"):
        status, body = get(url)
        assert status == 404, url
        assert isinstance(body, str) and body.startswith("V4 ")
    stop(ecs, cluster, arn, docker_client)
    # Stopped tasks stay describable, and so does their metadata, as on ECS.
    assert get(v4)[0] == 200
