"""Daemons through boto3, on real containers: a daemon task on every container instance of the
cluster (the local Docker host and instances that register later), new revisions rolled out,
deletion draining them; daemon task definitions; AWS's errors."""

import time

import pytest
from botocore.exceptions import ClientError

from test_container_instances import register
from waiting import wait_for

SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
MANAGED = {"infrastructureRoleArn": "arn:aws:iam::123456789012:role/infra",
           "instanceLaunchTemplate": {
               "ec2InstanceProfileArn": "arn:aws:iam::123456789012:instance-profile/ecs",
               "networkConfiguration": {"subnets": ["subnet-1"]}}}


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def daemon_definition(ecs, image, label):
    return ecs.register_daemon_task_definition(
        family="agent", memory="64",
        containerDefinitions=[{"name": "agent", "image": image, "command": SLEEPER,
                               "environment": [{"name": "REVISION", "value": label}]}],
    )["daemonTaskDefinitionArn"]


def daemon_tasks(ecs, cluster="d"):
    arns = ecs.list_tasks(cluster=cluster)["taskArns"]
    if not arns:
        return []
    return [t for t in ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"]
            if t["group"] == "daemon:agent"]


def running(ecs, revision=None):
    return sorted((t["containerInstanceArn"], t["taskDefinitionArn"]) for t in daemon_tasks(ecs)
                  if t["lastStatus"] == "RUNNING"
                  and (revision is None or t["taskDefinitionArn"] == revision))


@pytest.fixture
def provider(ecs):
    ecs.create_cluster(clusterName="d")
    arn = ecs.create_capacity_provider(name="managed", cluster="d",
                                       managedInstancesProvider=MANAGED)["capacityProvider"][
        "capacityProviderArn"]
    return arn


def test_daemon_task_definitions(ecs, busybox_image):
    first = daemon_definition(ecs, busybox_image, "1")
    assert first.endswith(":daemon-task-definition/agent:1")
    second = daemon_definition(ecs, busybox_image, "2")
    described = ecs.describe_daemon_task_definition(daemonTaskDefinition="agent")[
        "daemonTaskDefinition"]
    assert described["daemonTaskDefinitionArn"] == second and described["revision"] == 2
    assert described["containerDefinitions"][0]["environment"] == [
        {"name": "REVISION", "value": "2"}]
    assert described["status"] == "ACTIVE"
    listed = ecs.list_daemon_task_definitions(sort="DESC", maxResults=1)
    assert [d["arn"] for d in listed["daemonTaskDefinitions"]] == [second]
    assert ecs.list_daemon_task_definitions(revision="LAST_REGISTERED")[
        "daemonTaskDefinitions"][0]["arn"] == second
    # a daemon task definition is not a task definition
    with pytest.raises(ClientError) as excinfo:
        ecs.describe_task_definition(taskDefinition=first)
    assert error_code(excinfo) == "ClientException"

    assert ecs.delete_daemon_task_definition(daemonTaskDefinition="agent:1")[
        "daemonTaskDefinitionArn"] == first
    with pytest.raises(ClientError) as excinfo:
        ecs.describe_daemon_task_definition(daemonTaskDefinition=first)
    assert error_code(excinfo) == "ClientException"
    with pytest.raises(ClientError) as excinfo:  # family alone is not enough to delete
        ecs.delete_daemon_task_definition(daemonTaskDefinition="agent")
    assert error_code(excinfo) == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:  # every container must be named
        ecs.register_daemon_task_definition(family="x", memory="64", containerDefinitions=[
            {"image": busybox_image}])
    assert error_code(excinfo) == "ClientException"


def test_a_daemon_runs_on_every_instance_and_rolls_out(ecs, busybox_image, provider):
    v1 = daemon_definition(ecs, busybox_image, "1")
    created = ecs.create_daemon(daemonName="agent", clusterArn="d", daemonTaskDefinitionArn=v1,
                                capacityProviderArns=[provider])
    daemon_arn = created["daemonArn"]
    assert created["status"] == "ACTIVE" and ":daemon/d/agent" in daemon_arn

    # the local Docker host becomes an instance and runs the daemon task
    first = wait_for(lambda: running(ecs), lambda r: len(r) == 1, timeout=60)
    # an instance that joins later gets one too
    later = register(ecs, "d", instance_id="i-0000000000000009")["containerInstanceArn"]
    both = wait_for(lambda: running(ecs), lambda r: len(r) == 2, timeout=60)
    assert {arn for arn, _ in both} == {first[0][0], later}
    # ListTasks' daemonName: that daemon's tasks (by its name or ARN); another name has none
    mine = sorted(t["taskArn"] for t in daemon_tasks(ecs))
    assert len(mine) == 2
    assert sorted(ecs.list_tasks(cluster="d", daemonName="agent")["taskArns"]) == mine
    assert sorted(ecs.list_tasks(cluster="d", daemonName=daemon_arn)["taskArns"]) == mine
    assert ecs.list_tasks(cluster="d", daemonName="other")["taskArns"] == []
    # an ARN is read whole: the same name in another cluster or account is not it; another
    # region's ARN is refused, as ECS refuses one (arns.in_store)
    for elsewhere in (daemon_arn.replace(":daemon/d/", ":daemon/e/"),
                      daemon_arn.replace(":123456789012:", ":210987654321:")):
        assert elsewhere != daemon_arn
        assert ecs.list_tasks(cluster="d", daemonName=elsewhere)["taskArns"] == [], elsewhere
    with pytest.raises(ClientError) as excinfo:
        ecs.list_tasks(cluster="d", daemonName=daemon_arn.replace(":us-east-1:", ":eu-west-1:"))
    assert excinfo.value.response["Error"]["Message"] == "Invalid Region in ARN"
    detail = ecs.describe_daemon(daemonArn=daemon_arn)["daemon"]
    assert detail["currentRevisions"][0]["totalRunningCount"] == 2
    assert detail["currentRevisions"][0]["capacityProviders"][0]["arn"] == provider
    # SUCCESSFUL once its tasks have been steady (ECS_EMULATOR_STEADY_AFTER), not at RUNNING
    wait_for(lambda: ecs.describe_daemon_deployments(
        daemonDeploymentArns=[created["deploymentArn"]])["daemonDeployments"][0],
        lambda d: d["status"] == "SUCCESSFUL", timeout=30)

    # a new revision replaces the task on each instance
    v2 = daemon_definition(ecs, busybox_image, "2")
    updated = ecs.update_daemon(daemonArn=daemon_arn, daemonTaskDefinitionArn=v2,
                                capacityProviderArns=[provider],
                                deploymentConfiguration={"drainPercent": 50.0})
    wait_for(lambda: running(ecs), lambda r: [d for _, d in r] == [v2, v2], timeout=60)
    deployment = wait_for(lambda: ecs.describe_daemon_deployments(
        daemonDeploymentArns=[updated["deploymentArn"]])["daemonDeployments"][0],
        lambda d: d["status"] == "SUCCESSFUL", timeout=30)
    assert deployment["targetDaemonRevision"]["totalRunningInstanceCount"] == 2
    assert len(deployment["sourceDaemonRevisions"]) == 1
    revision = ecs.describe_daemon_revisions(
        daemonRevisionArns=[deployment["targetDaemonRevision"]["arn"], "arn:aws:ecs:us-east-1:"
                            "123456789012:daemon-revision/d/agent/1"])
    assert revision["daemonRevisions"][0]["daemonTaskDefinitionArn"] == v2
    assert revision["failures"][0]["reason"] == "MISSING"
    listed = ecs.list_daemon_deployments(daemonArn=daemon_arn)["daemonDeployments"]
    assert [d["daemonDeploymentArn"] for d in listed] == [updated["deploymentArn"],
                                                          created["deploymentArn"]]
    assert [d["daemonArn"] for d in ecs.list_daemons(clusterArn="d")["daemonSummariesList"]] \
        == [daemon_arn]
    # by its capacity provider's ARN; the same name in another account has no daemon here
    for ref, expected in ((provider, [daemon_arn]),
                          (provider.replace(":123456789012:", ":210987654321:"), [])):
        assert [d["daemonArn"] for d in ecs.list_daemons(
            clusterArn="d", capacityProviderArns=[ref])["daemonSummariesList"]] == expected
    # the task definition in use is only marked for deletion
    ecs.delete_daemon_task_definition(daemonTaskDefinition=v2)
    assert ecs.describe_daemon_task_definition(daemonTaskDefinition=v2)[
        "daemonTaskDefinition"]["status"] == "DELETE_IN_PROGRESS"

    deleted = ecs.delete_daemon(daemonArn=daemon_arn)
    assert deleted["status"] == "DELETE_IN_PROGRESS"
    with pytest.raises(ClientError) as excinfo:
        ecs.update_daemon(daemonArn=daemon_arn, daemonTaskDefinitionArn=v1,
                          capacityProviderArns=[provider])
    assert error_code(excinfo) == "DaemonNotActiveException"
    wait_for(lambda: running(ecs), lambda r: r == [], timeout=60)
    wait_for(lambda: ecs.list_daemons(clusterArn="d")["daemonSummariesList"], lambda d: d == [],
             timeout=10)
    with pytest.raises(ClientError) as excinfo:
        ecs.describe_daemon(daemonArn=daemon_arn)
    assert error_code(excinfo) == "DaemonNotFoundException"
    assert ecs.describe_daemon_deployments(daemonDeploymentArns=[deleted["deploymentArn"]])[
        "daemonDeployments"][0]["status"] == "SUCCESSFUL"
    with pytest.raises(ClientError) as excinfo:  # no daemon uses it now: gone
        ecs.describe_daemon_task_definition(daemonTaskDefinition=v2)
    assert error_code(excinfo) == "ClientException"


def test_create_daemon_errors(ecs, busybox_image, provider):
    v1 = daemon_definition(ecs, busybox_image, "1")
    asg = ecs.create_capacity_provider(name="asg", autoScalingGroupProvider={
        "autoScalingGroupArn": "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:"
                               "x:autoScalingGroupName/asg"})["capacityProvider"]["capacityProviderArn"]
    cases = [
        ({"clusterArn": "absent"}, "ClusterNotFoundException"),
        ({"daemonTaskDefinitionArn": v1.replace(":1", ":9")}, "ClientException"),
        ({"capacityProviderArns": [asg]}, "UnsupportedFeatureException"),
        ({"capacityProviderArns": []}, "InvalidParameterException"),
        ({"capacityProviderArns": ["nope"]}, "InvalidParameterException"),
        ({"daemonName": "bad name"}, "InvalidParameterException"),
    ]
    for change, code in cases:
        params = {"daemonName": "agent", "clusterArn": "d", "daemonTaskDefinitionArn": v1,
                  "capacityProviderArns": [provider], **change}
        with pytest.raises(ClientError) as excinfo:
            ecs.create_daemon(**params)
        assert error_code(excinfo) == code, change
    created = ecs.create_daemon(daemonName="agent", clusterArn="d", daemonTaskDefinitionArn=v1,
                                capacityProviderArns=[provider], clientToken="t1")
    again = ecs.create_daemon(daemonName="agent", clusterArn="d", daemonTaskDefinitionArn=v1,
                              capacityProviderArns=[provider], clientToken="t1")
    assert again["daemonArn"] == created["daemonArn"]
    with pytest.raises(ClientError) as excinfo:
        ecs.create_daemon(daemonName="agent", clusterArn="d", daemonTaskDefinitionArn=v1,
                          capacityProviderArns=[provider])
    assert error_code(excinfo) == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:
        ecs.describe_daemon(daemonArn=created["daemonArn"].replace("/agent", "/other"))
    assert error_code(excinfo) == "DaemonNotFoundException"
    ecs.delete_daemon(daemonArn=created["daemonArn"])


def test_a_critical_daemon_task_that_dies_drains_its_instance(ecs, clean_emulator,
                                                              busybox_image, provider):
    import requests

    instance = register(ecs, "d", instance_id="i-00000000000000c1")["containerInstanceArn"]
    ecs.create_daemon(daemonName="agent", clusterArn="d", critical=True,
                      daemonTaskDefinitionArn=daemon_definition(ecs, busybox_image, "1"),
                      capacityProviderArns=[provider])
    tasks = wait_for(lambda: [t for t in daemon_tasks(ecs) if t["lastStatus"] == "RUNNING"
                              and t["containerInstanceArn"] == instance],
                     lambda found: len(found) == 1, timeout=60)
    killed = requests.post(f"{clean_emulator.endpoint_url}/_emulator/tasks/"
                           f"{tasks[0]['taskArn']}/kill", timeout=10)
    assert killed.status_code == 200, killed.text
    drained = wait_for(lambda: ecs.describe_container_instances(
        cluster="d", containerInstances=[instance])["containerInstances"][0],
        lambda i: i["status"] == "DRAINING", timeout=30)
    assert drained["runningTasksCount"] == 0
    # the drained instance gets no daemon task again
    time.sleep(1.5)
    assert not [t for t in daemon_tasks(ecs) if t["containerInstanceArn"] == instance
                and t["desiredStatus"] == "RUNNING"]
