"""Stopped means stopped: every container of a STOPPED task is STOPPED, with its exit code or
its reason; `ps` shows no address for what no longer answers; imageDigest once the image is
resolved. On real containers."""

import pytest

from emulator.cli_commands.tasks import container_rows
from tests.waiting import wait_for_task

pytestmark = pytest.mark.docker

SERVE = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
AWSVPC = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}


@pytest.fixture
def cluster(ecs):
    ecs.create_cluster(clusterName="stop")
    return "stop"


def fargate(ecs, containers):
    return ecs.register_task_definition(
        family="stopped", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", containerDefinitions=containers)["taskDefinition"]["taskDefinitionArn"]


def test_a_task_whose_pull_failed_has_stopped_containers_and_no_bindings(ecs, cluster,
                                                                         busybox_image):
    definition = fargate(ecs, [
        {"name": "web", "image": "ecs-emulator-test/missing:9", "essential": True,
         "portMappings": [{"containerPort": 80}]},
        {"name": "side", "image": busybox_image, "essential": False, "command": SERVE}])
    arn = ecs.run_task(cluster=cluster, taskDefinition=definition, launchType="FARGATE",
                       networkConfiguration=AWSVPC)["tasks"][0]["taskArn"]
    task = wait_for_task(ecs, cluster, arn, "STOPPED")
    assert task["stopCode"] == "TaskFailedToStart"
    containers = {c["name"]: c for c in task["containers"]}
    assert {c["lastStatus"] for c in containers.values()} == {"STOPPED"}
    assert containers["web"]["reason"].startswith("CannotPullContainerError")
    assert containers["side"]["reason"]  # it never ran: why is the task's reason
    assert all(not c.get("networkBindings") for c in containers.values())
    assert all(row[1] == "STOPPED" and row[2] == "" for row in container_rows([task]))


def test_every_container_of_a_stopped_task_has_an_exit_code_and_a_digest(ecs, cluster,
                                                                         busybox_image):
    definition = fargate(ecs, [
        {"name": "main", "image": busybox_image, "essential": True,
         "command": ["sh", "-c", "sleep 1; exit 4"], "portMappings": [{"containerPort": 80}]},
        {"name": "side", "image": busybox_image, "essential": False, "command": SERVE}])
    arn = ecs.run_task(cluster=cluster, taskDefinition=definition, launchType="FARGATE",
                       networkConfiguration=AWSVPC)["tasks"][0]["taskArn"]
    running = wait_for_task(ecs, cluster, arn, "RUNNING")
    assert all(c["imageDigest"].startswith("sha256:") for c in running["containers"])
    assert all(row[2].startswith("127.0.0.1:") for row in container_rows([running])
               if row[0].endswith("/main"))
    task = wait_for_task(ecs, cluster, arn, "STOPPED")
    containers = {c["name"]: c for c in task["containers"]}
    assert task["stopCode"] == "EssentialContainerExited"
    assert {c["lastStatus"] for c in containers.values()} == {"STOPPED"}
    assert containers["main"]["exitCode"] == 4
    assert containers["side"]["exitCode"] == 0  # it trapped SIGTERM
    assert all(row[2] == "" for row in container_rows([task]))
