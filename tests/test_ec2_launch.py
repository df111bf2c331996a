"""The EC2 launch type through boto3 with real tasks: the local Docker host as a container
instance, what tasks reserve of it, placement failures, constraints and strategies over
registered (fake) instances, and StartTask."""

import json
import socket

import pytest
from botocore.exceptions import ClientError

from tests.busybox import SERVE
from tests.waiting import wait_for, wait_for_task

pytestmark = pytest.mark.docker


@pytest.fixture
def no_local_instance(clean_emulator, monkeypatch):
    """The emulator with ECS_EMULATOR_AUTO_CONTAINER_INSTANCE off, for this test."""
    monkeypatch.setattr(clean_emulator.emulator.ecs.local_host, "enabled", False)


def register(ecs, image, family="app", memory=64, port_mappings=(), **extra):
    return ecs.register_task_definition(
        family=family,
        containerDefinitions=[{"name": "main", "image": image, "memory": memory,
                               "command": SERVE, "portMappings": list(port_mappings)}],
        **extra,
    )["taskDefinition"]["taskDefinitionArn"]


def fake_instance(ecs, cluster, name, attributes=(), memory=2048):
    """A registered instance with no agent behind it (its tasks still run on local Docker)."""
    return ecs.register_container_instance(
        cluster=cluster,
        instanceIdentityDocument=json.dumps({"instanceId": f"i-{name}", "instanceType": "t3.small",
                                             "availabilityZone": "us-east-1b"}),
        totalResources=[{"name": "CPU", "type": "INTEGER", "integerValue": 2048},
                        {"name": "MEMORY", "type": "INTEGER", "integerValue": memory}],
        attributes=list(attributes),
    )["containerInstance"]["containerInstanceArn"]


def describe(ecs, cluster, arn):
    return ecs.describe_container_instances(cluster=cluster, containerInstances=[arn])[
        "containerInstances"][0]


def resources(items):
    return {r["name"]: r for r in items}


def stop_all(ecs, cluster, arns):
    for arn in arns:
        ecs.stop_task(cluster=cluster, task=arn)
    for arn in arns:
        wait_for_task(ecs, cluster, arn, "STOPPED")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ec2_task_runs_on_the_local_host_instance(ecs, cluster, busybox_image, docker_client):
    assert ecs.list_container_instances(cluster=cluster)["containerInstanceArns"] == []
    response = ecs.run_task(cluster=cluster, taskDefinition=register(ecs, busybox_image))
    assert response["failures"] == []
    task = response["tasks"][0]
    assert task["launchType"] == "EC2"
    instance_arn = task["containerInstanceArn"]
    assert ecs.list_container_instances(cluster=cluster)["containerInstanceArns"] == [instance_arn]

    wait_for_task(ecs, cluster, task["taskArn"], "RUNNING")
    instance = describe(ecs, cluster, instance_arn)
    info = docker_client.info()
    registered = resources(instance["registeredResources"])
    assert registered["CPU"]["integerValue"] == info["NCPU"] * 1024
    assert registered["MEMORY"]["integerValue"] == info["MemTotal"] // (1024 * 1024)
    left = resources(instance["remainingResources"])
    assert left["MEMORY"]["integerValue"] == registered["MEMORY"]["integerValue"] - 64
    assert instance["runningTasksCount"] == 1 and instance["pendingTasksCount"] == 0
    assert instance["ec2InstanceId"].startswith("i-")
    attributes = {a["name"]: a.get("value") for a in instance["attributes"]}
    assert attributes["ecs.os-type"] == "linux"
    assert attributes["ecs.availability-zone"] == "us-east-1a"
    assert "ecs.capability.task-eni" in attributes
    assert ecs.list_tasks(cluster=cluster, containerInstance=instance_arn)["taskArns"] == [
        task["taskArn"]]

    with pytest.raises(ClientError) as excinfo:  # it has a running task
        ecs.deregister_container_instance(cluster=cluster, containerInstance=instance_arn)
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException"
    stop_all(ecs, cluster, [task["taskArn"]])
    instance = describe(ecs, cluster, instance_arn)
    assert instance["remainingResources"] == instance["registeredResources"]
    assert instance["runningTasksCount"] == 0


def test_task_bigger_than_the_host_fails_with_resource_memory(ecs, cluster, busybox_image):
    # One run registers the local instance; then a task asking for more than it has.
    first = ecs.run_task(cluster=cluster, taskDefinition=register(ecs, busybox_image))["tasks"][0]
    instance_arn = first["containerInstanceArn"]
    host_memory = resources(describe(ecs, cluster, instance_arn)["registeredResources"])[
        "MEMORY"]["integerValue"]
    huge = register(ecs, busybox_image, family="huge", memory=host_memory + 1)
    response = ecs.run_task(cluster=cluster, taskDefinition=huge)
    assert response["tasks"] == []
    assert response["failures"] == [{"arn": instance_arn, "reason": "RESOURCE:MEMORY"}]
    stop_all(ecs, cluster, [first["taskArn"]])


def test_static_host_port_conflict_in_bridge_mode(ecs, cluster, busybox_image):
    port = free_port()
    task_definition = register(ecs, busybox_image, family="web", port_mappings=[
        {"containerPort": 8080, "hostPort": port}])
    response = ecs.run_task(cluster=cluster, taskDefinition=task_definition, count=2)
    assert len(response["tasks"]) == 1
    instance_arn = response["tasks"][0]["containerInstanceArn"]
    assert response["failures"] == [{"arn": instance_arn, "reason": "RESOURCE:PORTS"}]
    running = wait_for_task(ecs, cluster, response["tasks"][0]["taskArn"], "RUNNING")
    assert running["containers"][0]["networkBindings"][0]["hostPort"] == port
    ports = resources(describe(ecs, cluster, instance_arn)["remainingResources"])["PORTS"]
    assert str(port) in ports["stringSetValue"]
    again = ecs.run_task(cluster=cluster, taskDefinition=task_definition)
    assert again["tasks"] == [] and again["failures"][0]["reason"] == "RESOURCE:PORTS"
    stop_all(ecs, cluster, [response["tasks"][0]["taskArn"]])


def test_without_the_local_instance_a_cluster_needs_registered_ones(
        ecs, cluster, busybox_image, no_local_instance):
    task_definition = register(ecs, busybox_image)
    with pytest.raises(ClientError) as excinfo:
        ecs.run_task(cluster=cluster, taskDefinition=task_definition)
    error = excinfo.value.response["Error"]
    assert error["Code"] == "InvalidParameterException"
    assert error["Message"] == "No Container Instances were found in your cluster."

    prod = fake_instance(ecs, cluster, "prod", [{"name": "stack", "value": "prod"}])
    test = fake_instance(ecs, cluster, "test", [{"name": "stack", "value": "test"}])
    response = ecs.run_task(cluster=cluster, taskDefinition=task_definition, placementConstraints=[
        {"type": "memberOf", "expression": "attribute:stack == prod"}])
    task = response["tasks"][0]
    assert task["containerInstanceArn"] == prod and task["availabilityZone"] == "us-east-1b"
    wait_for_task(ecs, cluster, task["taskArn"], "RUNNING")  # a real container, on local Docker
    assert describe(ecs, cluster, prod)["runningTasksCount"] == 1

    refused = ecs.run_task(cluster=cluster, taskDefinition=task_definition, placementConstraints=[
        {"type": "memberOf", "expression": "attribute:stack == staging"},
    ])
    assert refused["tasks"] == []
    assert sorted(refused["failures"], key=lambda f: f["arn"]) == sorted([
        {"arn": prod, "reason": "MemberOf placement constraint unsatisfied."},
        {"arn": test, "reason": "MemberOf placement constraint unsatisfied."},
    ], key=lambda f: f["arn"])

    distinct = ecs.run_task(cluster=cluster, taskDefinition=task_definition, count=2,
                            placementConstraints=[{"type": "distinctInstance"}])
    assert [t["containerInstanceArn"] for t in distinct["tasks"]] == [test]
    assert distinct["failures"] == [  # prod already runs a task of the group family:app
        {"arn": prod, "reason": "DistinctInstance placement constraint unsatisfied."},
        {"arn": test, "reason": "DistinctInstance placement constraint unsatisfied."},
    ]
    stop_all(ecs, cluster, [task["taskArn"]] + [t["taskArn"] for t in distinct["tasks"]])


def test_binpack_and_spread_over_registered_instances(ecs, cluster, busybox_image,
                                                      no_local_instance):
    small = fake_instance(ecs, cluster, "small", memory=512)
    big = fake_instance(ecs, cluster, "big", memory=4096)
    task_definition = register(ecs, busybox_image, memory=200)
    packed = ecs.run_task(cluster=cluster, taskDefinition=task_definition,
                          placementStrategy=[{"type": "binpack", "field": "memory"}])
    assert packed["tasks"][0]["containerInstanceArn"] == small
    wait_for_task(ecs, cluster, packed["tasks"][0]["taskArn"], "RUNNING")

    spread = register(ecs, busybox_image, family="spread", memory=64)
    response = ecs.run_task(cluster=cluster, taskDefinition=spread, count=2,
                            placementStrategy=[{"type": "spread", "field": "instanceId"}])
    assert sorted(t["containerInstanceArn"] for t in response["tasks"]) == sorted([small, big])
    arns = [packed["tasks"][0]["taskArn"]] + [t["taskArn"] for t in response["tasks"]]
    wait_for(lambda: describe(ecs, cluster, small)["runningTasksCount"], lambda n: n == 2)
    stop_all(ecs, cluster, arns)


def test_draining_instances_get_no_new_tasks(ecs, cluster, busybox_image, no_local_instance):
    first = fake_instance(ecs, cluster, "first")
    second = fake_instance(ecs, cluster, "second")
    ecs.update_container_instances_state(cluster=cluster, containerInstances=[first],
                                         status="DRAINING")
    task_definition = register(ecs, busybox_image)
    response = ecs.run_task(cluster=cluster, taskDefinition=task_definition, count=2)
    assert [t["containerInstanceArn"] for t in response["tasks"]] == [second, second]
    started = ecs.start_task(cluster=cluster, taskDefinition=task_definition,
                             containerInstances=[first])
    assert started["tasks"] == [] and started["failures"] == [{"arn": first, "reason": "DRAINING"}]
    stop_all(ecs, cluster, [t["taskArn"] for t in response["tasks"]])


def test_start_task_on_chosen_instances(ecs, cluster, busybox_image, no_local_instance):
    roomy = fake_instance(ecs, cluster, "roomy")
    tight = fake_instance(ecs, cluster, "tight", memory=32)
    missing = roomy.rsplit("/", 1)[0] + "/" + "0" * 32
    # StartTask's model names SERVICE among propagateTags' sources (RunTask's calls it an
    # error): with no service there is nothing to propagate, and the caller's tags stay.
    response = ecs.start_task(cluster=cluster, taskDefinition=register(ecs, busybox_image),
                              containerInstances=[roomy, tight.rsplit("/", 1)[-1], missing],
                              propagateTags="SERVICE", tags=[{"key": "team", "value": "a"}])
    assert [t["containerInstanceArn"] for t in response["tasks"]] == [roomy]
    assert response["tasks"][0]["tags"] == [{"key": "team", "value": "a"}]
    assert response["failures"] == [{"arn": missing, "reason": "MISSING"},
                                    {"arn": tight, "reason": "RESOURCE:MEMORY"}]
    arn = response["tasks"][0]["taskArn"]
    wait_for_task(ecs, cluster, arn, "RUNNING")
    assert ecs.list_tasks(cluster=cluster, containerInstance=roomy)["taskArns"] == [arn]
    assert ecs.list_tasks(cluster=cluster, containerInstance=tight)["taskArns"] == []
    stop_all(ecs, cluster, [arn])


def test_fargate_tasks_take_no_instance_and_no_placement(ecs, cluster, busybox_image):
    task_definition = ecs.register_task_definition(
        family="f", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512",
        containerDefinitions=[{"name": "main", "image": busybox_image, "command": SERVE}],
    )["taskDefinition"]["taskDefinitionArn"]
    network = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
    for extra in ({"placementConstraints": [{"type": "distinctInstance"}]},
                  {"placementStrategy": [{"type": "random"}]}):
        with pytest.raises(ClientError) as excinfo:
            ecs.run_task(cluster=cluster, taskDefinition=task_definition, launchType="FARGATE",
                         networkConfiguration=network, **extra)
        assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException"
    response = ecs.run_task(cluster=cluster, taskDefinition=task_definition, launchType="FARGATE",
                            networkConfiguration=network)
    assert "containerInstanceArn" not in response["tasks"][0]
    assert ecs.list_container_instances(cluster=cluster)["containerInstanceArns"] == []
    stop_all(ecs, cluster, [response["tasks"][0]["taskArn"]])
