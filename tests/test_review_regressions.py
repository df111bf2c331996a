"""Regressions found in review: each asserts what real ECS does, where the emulator once did not."""

import socket
import time

import pytest
from botocore.exceptions import ClientError

from tests.busybox import SERVE
from tests.waiting import wait_for, wait_for_task

pytestmark = pytest.mark.docker

ASG = ("arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:"
       "0a1b2c3d-0000-0000-0000-000000000000:autoScalingGroupName/asg")


def register(ecs, image, family, command=SERVE, **container):
    return ecs.register_task_definition(
        family=family, containerDefinitions=[{"name": "main", "image": image, "memory": 32,
                                              "command": command, **container}],
    )["taskDefinition"]["taskDefinitionArn"]


CLUSTER = "r"  # the name the `cluster` fixture (conftest.py) gives the cluster


def test_a_cluster_that_ran_an_ec2_task_can_be_deleted(ecs, cluster, busybox_image):
    arn = ecs.run_task(cluster=cluster, taskDefinition=register(ecs, busybox_image, "d", ["true"]))
    wait_for_task(ecs, cluster, arn["tasks"][0]["taskArn"], "STOPPED")
    assert ecs.delete_cluster(cluster=cluster)["cluster"]["status"] == "INACTIVE"


def test_a_refused_update_changes_nothing(ecs, cluster, busybox_image):
    first = register(ecs, busybox_image, "a")
    second = register(ecs, busybox_image, "b")
    ecs.create_service(cluster=cluster, serviceName="s", desiredCount=0, taskDefinition=first)
    with pytest.raises(ClientError) as excinfo:
        ecs.update_service(cluster=cluster, service="s", taskDefinition=second,
                           networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-1"]}})
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException"
    service = ecs.describe_services(cluster=cluster, services=["s"])["services"][0]
    assert service["taskDefinition"] == first and len(service["deployments"]) == 1
    with pytest.raises(ClientError) as excinfo:
        ecs.update_service(cluster=cluster, service="s",
                           capacityProviderStrategy=[{"capacityProvider": "nope", "weight": 1}])
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:
        ecs.create_service(cluster=cluster, serviceName="f", desiredCount=0, taskDefinition=first,
                           launchType="FARGATE", platformVersion="9.9.9")
    assert excinfo.value.response["Error"]["Code"] in ("PlatformUnknownException",
                                                       "InvalidParameterException")


def test_a_service_on_an_auto_scaling_group_provider_is_ec2(ecs, cluster, busybox_image):
    ecs.create_capacity_provider(name="cp", autoScalingGroupProvider={"autoScalingGroupArn": ASG})
    ecs.put_cluster_capacity_providers(cluster=cluster, capacityProviders=["cp"],
                                       defaultCapacityProviderStrategy=[{"capacityProvider": "cp", "weight": 1}])
    service = ecs.create_service(cluster=cluster, serviceName="s", desiredCount=0,
                                 taskDefinition=register(ecs, busybox_image, "e"))["service"]
    assert "platformVersion" not in service
    assert service["capacityProviderStrategy"][0]["capacityProvider"] == "cp"


def test_a_container_that_cannot_start_says_why(ecs, cluster, busybox_image):
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        arn = ecs.run_task(cluster=cluster, taskDefinition=register(
            ecs, busybox_image, "p", portMappings=[{"containerPort": 80, "hostPort": port}]))["tasks"][0]["taskArn"]
        stopped = wait_for_task(ecs, cluster, arn, "STOPPED")
    finally:
        holder.close()
    assert stopped["stopCode"] == "TaskFailedToStart"
    assert stopped["stoppedReason"].startswith("CannotStartContainerError")
    assert stopped["containers"][0]["reason"].startswith("CannotStartContainerError")


def test_failed_tasks_are_counted_once_each(ecs, cluster, busybox_image):
    definition = ecs.register_task_definition(family="dep", containerDefinitions=[
        {"name": "init", "image": busybox_image, "memory": 32, "essential": False,
         "command": ["sh", "-c", "exit 1"]},
        {"name": "main", "image": busybox_image, "memory": 32, "command": SERVE,
         "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}]},
    ])["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster=cluster, serviceName="s", desiredCount=1, taskDefinition=definition)

    def stopped():
        arns = ecs.list_tasks(cluster=cluster, serviceName="s", desiredStatus="STOPPED")["taskArns"]
        return [t for t in ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"]
                if t["lastStatus"] == "STOPPED"] if arns else []

    wait_for(stopped, lambda tasks: len(tasks) >= 2, timeout=60)
    ecs.update_service(cluster=cluster, service="s", desiredCount=0)

    # Every task of the service has stopped (and so was counted, or not) before the count is read.
    def unsettled():
        live = ecs.list_tasks(cluster=cluster, serviceName="s")["taskArns"]
        arns = ecs.list_tasks(cluster=cluster, serviceName="s", desiredStatus="STOPPED")["taskArns"]
        return live + [t["taskArn"] for t in ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"]
                       if t["lastStatus"] != "STOPPED"] if arns else live

    wait_for(unsettled, lambda tasks: tasks == [], timeout=60)
    failed = ecs.describe_services(cluster=cluster, services=["s"])["services"][0]["deployments"][0]["failedTasks"]
    assert 2 <= failed <= len(stopped())


def test_an_unplaceable_service_does_not_flood_its_events(ecs, cluster, busybox_image):
    ecs.create_service(cluster=cluster, serviceName="s", desiredCount=1, launchType="EC2",
                       taskDefinition=register(ecs, busybox_image, "u"),
                       placementConstraints=[{"type": "memberOf",
                                              "expression": "attribute:ecs.instance-type == t2.micro"}])
    time.sleep(6)
    events = ecs.describe_services(cluster=cluster, services=["s"])["services"][0]["events"]
    assert 1 <= len(events) <= 3
    assert "unable to place a task" in events[-1]["message"]
