"""DAEMON services on real containers: one task per eligible container instance (the local
Docker host, and registered fake instances whose tasks also run on local Docker), placement
constraints, draining, and rolling updates that stop before they start."""

import pytest
from botocore.exceptions import ClientError

from tests.busybox import SERVE
from tests.test_ec2_launch import fake_instance
from tests.waiting import wait_for

pytestmark = pytest.mark.docker

FAST_WAITER = {"Delay": 1, "MaxAttempts": 90}


CLUSTER = "daemons"  # the name the `cluster` fixture (conftest.py) gives the cluster


@pytest.fixture
def no_local_instance(clean_emulator, monkeypatch):
    """The emulator with ECS_EMULATOR_AUTO_CONTAINER_INSTANCE off, for this test."""
    monkeypatch.setattr(clean_emulator.emulator.ecs.local_host, "enabled", False)


def register(ecs, image, version="1", memory=64):
    return ecs.register_task_definition(
        family="agent",
        containerDefinitions=[{"name": "main", "image": image, "memory": memory, "command": SERVE,
                               "environment": [{"name": "V", "value": version}]}],
    )["taskDefinition"]["taskDefinitionArn"]


def create_daemon(ecs, cluster, task_definition, **extra):
    return ecs.create_service(cluster=cluster, serviceName="agent", taskDefinition=task_definition,
                              schedulingStrategy="DAEMON", launchType="EC2", **extra)["service"]


def service_of(ecs, cluster):
    return ecs.describe_services(cluster=cluster, services=["agent"])["services"][0]


def live_tasks(ecs, cluster):
    arns = ecs.list_tasks(cluster=cluster, serviceName="agent")["taskArns"]
    return ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []


def steady(ecs, cluster, desired):
    """Wait for `desired` running tasks, one deployment, nothing else; the live tasks."""
    wait_for(lambda: service_of(ecs, cluster),
             lambda s: s["desiredCount"] == desired and s["runningCount"] == desired
             and s["pendingCount"] == 0 and len(s["deployments"]) == 1
             and s["deployments"][0]["rolloutState"] == "COMPLETED", timeout=90)
    return wait_for(lambda: live_tasks(ecs, cluster), lambda tasks: len(tasks) == desired)


def delete_daemon(ecs, cluster):
    ecs.delete_service(cluster=cluster, service="agent")  # no force needed for a daemon
    ecs.get_waiter("services_inactive").wait(cluster=cluster, services=["agent"],
                                             WaiterConfig=FAST_WAITER)
    assert ecs.list_tasks(cluster=cluster, serviceName="agent")["taskArns"] == []


def test_daemon_runs_one_task_per_instance_and_leaves_draining_ones(ecs, cluster, busybox_image):
    first = register(ecs, busybox_image)
    service = create_daemon(ecs, cluster, first, enableECSManagedTags=True)
    assert service["schedulingStrategy"] == "DAEMON"
    assert service["deploymentConfiguration"]["maximumPercent"] == 100
    assert service["deploymentConfiguration"]["minimumHealthyPercent"] == 0
    [task] = steady(ecs, cluster, 1)  # the local Docker host became the cluster's instance
    # ECS's managed tags are on the service's tasks, not on the service
    managed = [{"key": "aws:ecs:clusterName", "value": cluster},
               {"key": "aws:ecs:serviceName", "value": "agent"}]
    assert ecs.describe_tasks(cluster=cluster, tasks=[task["taskArn"]],
                              include=["TAGS"])["tasks"][0]["tags"] == managed
    assert ecs.list_tags_for_resource(resourceArn=task["taskArn"])["tags"] == managed
    assert ecs.list_tags_for_resource(resourceArn=service["serviceArn"])["tags"] == []
    with pytest.raises(ClientError) as excinfo:  # a daemon has nothing to spread or pack
        ecs.update_service(cluster=cluster, service="agent",
                           placementStrategy=[{"type": "spread", "field": "instanceId"}])
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException"
    [local] = ecs.list_container_instances(cluster=cluster)["containerInstanceArns"]
    assert task["containerInstanceArn"] == local and task["launchType"] == "EC2"
    assert task["group"] == "service:agent"
    assert task["startedBy"] == service_of(ecs, cluster)["deployments"][0]["id"]

    # A new instance gets its own task.
    extra = fake_instance(ecs, cluster, "extra")
    tasks = steady(ecs, cluster, 2)
    assert sorted(t["containerInstanceArn"] for t in tasks) == sorted([local, extra])

    # Draining the instance stops its task, and the daemon counts one instance less.
    [on_extra] = [t["taskArn"] for t in tasks if t["containerInstanceArn"] == extra]
    ecs.update_container_instances_state(cluster=cluster, containerInstances=[extra],
                                         status="DRAINING")
    stopped = wait_for(lambda: ecs.describe_tasks(cluster=cluster, tasks=[on_extra])["tasks"][0],
                       lambda t: t["lastStatus"] == "STOPPED")
    assert stopped["stopCode"] == "ServiceSchedulerInitiated"
    [remaining] = steady(ecs, cluster, 1)
    assert remaining["containerInstanceArn"] == local

    # Back to ACTIVE: it gets a task again.
    ecs.update_container_instances_state(cluster=cluster, containerInstances=[extra],
                                         status="ACTIVE")
    steady(ecs, cluster, 2)
    with pytest.raises(ClientError) as excinfo:
        ecs.update_service(cluster=cluster, service="agent", desiredCount=3)
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException"
    delete_daemon(ecs, cluster)


def test_daemon_rolling_update_stops_before_it_starts(ecs, cluster, busybox_image,
                                                      no_local_instance):
    instances = [fake_instance(ecs, cluster, name) for name in ("a", "b")]
    first = register(ecs, busybox_image)
    create_daemon(ecs, cluster, first)
    steady(ecs, cluster, 2)

    def roll_out(task_definition):
        ecs.update_service(cluster=cluster, service="agent", taskDefinition=task_definition)
        seen = {"most_live": 0, "fewest_running": 99}

        def observe():
            service = service_of(ecs, cluster)
            live = len(ecs.list_tasks(cluster=cluster, serviceName="agent")["taskArns"])
            seen["most_live"] = max(seen["most_live"], live)
            seen["fewest_running"] = min(seen["fewest_running"], service["runningCount"])
            return service
        wait_for(observe, lambda s: len(s["deployments"]) == 1 and s["runningCount"] == 2
                 and s["deployments"][0]["taskDefinition"] == task_definition
                 and s["deployments"][0]["rolloutState"] == "COMPLETED", timeout=90, interval=0.1)
        tasks = steady(ecs, cluster, 2)
        assert {t["taskDefinitionArn"] for t in tasks} == {task_definition}
        assert sorted(t["containerInstanceArn"] for t in tasks) == sorted(instances)
        return seen

    # Defaults (0% / 100%): never more than one task per instance, so stop first.
    seen = roll_out(register(ecs, busybox_image, "2"))
    assert seen["most_live"] <= 2

    # minimumHealthyPercent 50: one instance at a time keeps a running task.
    ecs.update_service(cluster=cluster, service="agent", deploymentConfiguration={
        "minimumHealthyPercent": 50, "maximumPercent": 100})
    seen = roll_out(register(ecs, busybox_image, "3"))
    assert seen["most_live"] <= 2 and seen["fewest_running"] >= 1
    delete_daemon(ecs, cluster)


def test_daemon_honours_placement_constraints_and_resources(ecs, cluster, busybox_image,
                                                            no_local_instance):
    role = [{"name": "role", "value": "edge"}]
    edge_a = fake_instance(ecs, cluster, "edge-a", role)
    edge_b = fake_instance(ecs, cluster, "edge-b", role)
    plain = fake_instance(ecs, cluster, "plain")
    create_daemon(ecs, cluster, register(ecs, busybox_image), placementConstraints=[
        {"type": "memberOf", "expression": "attribute:role == edge"}])
    tasks = steady(ecs, cluster, 2)
    assert sorted(t["containerInstanceArn"] for t in tasks) == sorted([edge_a, edge_b])

    # The attribute added to the third instance makes it eligible; removed from one, not.
    ecs.put_attributes(cluster=cluster, attributes=[
        {"name": "role", "value": "edge", "targetType": "container-instance", "targetId": plain}])
    tasks = steady(ecs, cluster, 3)
    assert plain in {t["containerInstanceArn"] for t in tasks}
    ecs.delete_attributes(cluster=cluster, attributes=[
        {"name": "role", "targetType": "container-instance", "targetId": edge_b}])
    tasks = steady(ecs, cluster, 2)
    assert sorted(t["containerInstanceArn"] for t in tasks) == sorted([edge_a, plain])

    # An eligible instance too small for the task counts, but its task cannot be placed.
    tiny = fake_instance(ecs, cluster, "tiny", role, memory=32)
    service = wait_for(lambda: service_of(ecs, cluster),
                       lambda s: any("RESOURCE:MEMORY" in e["message"] for e in s["events"]))
    assert service["desiredCount"] == 3 and service["runningCount"] == 2
    assert tiny not in {t["containerInstanceArn"] for t in live_tasks(ecs, cluster)}
    delete_daemon(ecs, cluster)


def test_daemon_refusals(ecs, cluster, busybox_image):
    task_definition = register(ecs, busybox_image)
    ecs.put_cluster_capacity_providers(
        cluster=cluster, capacityProviders=["FARGATE"],
        defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}])
    for extra in ({"desiredCount": 2}, {"launchType": "FARGATE"},
                  {"placementStrategy": [{"type": "binpack", "field": "memory"}]},
                  {"capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}]},
                  {}):  # {}: the cluster's default capacity provider strategy
        params = (dict(launchType="EC2", **extra)
                  if extra and "launchType" not in extra and "capacityProviderStrategy" not in extra
                  else extra)
        with pytest.raises(ClientError) as excinfo:
            ecs.create_service(cluster=cluster, serviceName="agent", schedulingStrategy="DAEMON",
                               taskDefinition=task_definition, **params)
        assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException", extra
    assert excinfo.value.response["Error"]["Message"] == (  # the last: the cluster's default
        "Specifying a capacity provider strategy is not supported when you create a service "
        "using the DAEMON scheduling strategy.")
