"""A task whose image was pushed to this emulator's ECR pulls it from our registry and runs."""

import base64

import pytest

from tests.busybox import SERVE
from tests.waiting import wait_for_task

pytestmark = pytest.mark.docker


@pytest.fixture
def pushed_image(clean_emulator, busybox_image, docker_client):
    """busybox pushed as app:v1, then removed locally so the task must pull it."""
    ecr = clean_emulator.client("ecr")
    uri = ecr.create_repository(repositoryName="app")["repository"]["repositoryUri"]
    token = ecr.get_authorization_token()["authorizationData"][0]
    user, password = base64.b64decode(token["authorizationToken"]).decode().split(":", 1)
    host = uri.split("/", 1)[0]
    docker_client.images.get(busybox_image).tag(uri, tag="v1")
    for line in docker_client.images.push(uri, tag="v1", stream=True, decode=True,
                                          auth_config={"username": user, "password": password}):
        assert "error" not in line, line
    docker_client.images.remove(f"{uri}:v1")
    yield uri
    for tag in (f"{uri}:v1",):
        try:
            docker_client.images.remove(tag, force=True)
        except Exception:
            pass


@pytest.mark.parametrize("spelling", ["aws", "repository-uri"])
def test_task_runs_an_image_from_our_ecr(clean_emulator, pushed_image, spelling, docker_client):
    ecs = clean_emulator.client("ecs")
    ecs.create_cluster(clusterName="c")
    image = (f"123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1" if spelling == "aws"
             else f"{pushed_image}:v1")
    arn = ecs.register_task_definition(
        family="from-ecr",
        containerDefinitions=[{"name": "main", "image": image, "memory": 64, "command": SERVE}],
    )["taskDefinition"]["taskDefinitionArn"]
    task_arn = ecs.run_task(cluster="c", taskDefinition=arn)["tasks"][0]["taskArn"]
    task = wait_for_task(ecs, "c", task_arn, "RUNNING")
    assert task["lastStatus"] == "RUNNING", task
    assert task["containers"][0]["image"] == image
    pushed = clean_emulator.client("ecr").describe_images(repositoryName="app")["imageDetails"]
    assert task["containers"][0]["imageDigest"] == pushed[0]["imageDigest"]
    container = docker_client.containers.list(
        filters={"label": f"ecs-emulator.task-arn={task_arn}"})[0]
    assert container.attrs["Config"]["Image"] == f"{pushed_image}:v1"
    ecs.stop_task(cluster="c", task=task_arn)
    wait_for_task(ecs, "c", task_arn, "STOPPED")


def test_a_task_of_another_account_pulls_only_what_the_repository_policy_grants(
        clean_emulator, pushed_image):
    """The emulator pulls a task's image with the task's own account's token, as ECS does with
    the task execution role: another account's repository needs its policy's grant."""
    other = "210987654321"
    ecs = clean_emulator.client("ecs", account=other)
    ecs.create_cluster(clusterName="c")
    arn = ecs.register_task_definition(family="cross", containerDefinitions=[{
        "name": "main", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1",
        "memory": 64, "command": SERVE}])["taskDefinition"]["taskDefinitionArn"]
    refused = ecs.run_task(cluster="c", taskDefinition=arn)["tasks"][0]["taskArn"]
    task = wait_for_task(ecs, "c", refused, "STOPPED")
    assert "CannotPullContainerError" in task["stoppedReason"], task
    clean_emulator.client("ecr").set_repository_policy(repositoryName="app", policyText=(
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": '
        f'"arn:aws:iam::{other}:root"}}, "Action": ["ecr:BatchGetImage", '
        '"ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]}]}'))
    granted = ecs.run_task(cluster="c", taskDefinition=arn)["tasks"][0]["taskArn"]
    assert wait_for_task(ecs, "c", granted, "RUNNING")["lastStatus"] == "RUNNING"
    ecs.stop_task(cluster="c", task=granted)
    wait_for_task(ecs, "c", granted, "STOPPED")


def test_a_missing_image_is_told_as_the_task_definition_names_it(clean_emulator, pushed_image):
    """ECS's CannotPullContainerError names the image the task asked for, not the emulator's
    registry address it was pulled from."""
    ecs = clean_emulator.client("ecs")
    ecs.create_cluster(clusterName="c")
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:nope"
    arn = ecs.register_task_definition(family="missing", containerDefinitions=[{
        "name": "main", "image": image, "memory": 64, "command": SERVE}])[
        "taskDefinition"]["taskDefinitionArn"]
    task = wait_for_task(ecs, "c", ecs.run_task(cluster="c", taskDefinition=arn)[
        "tasks"][0]["taskArn"], "STOPPED")
    internal = pushed_image.split("/", 1)[0]  # the registry's address as the emulator serves it
    for reason in (task["stoppedReason"], task["containers"][0]["reason"]):
        assert reason.startswith("CannotPullContainerError:"), task
        assert image in reason and internal not in reason and "127.0.0.1" not in reason, reason
