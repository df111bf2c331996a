"""The calls the ECS agent makes, through boto3: DiscoverPollEndpoint, SubmitTaskStateChange,
SubmitContainerStateChange, SubmitAttachmentStateChanges (checked as ECS checks them, and acted
on for the Docker-run tasks they name), and UpdateContainerAgent's walk to the newest agent."""

import pytest
from botocore.exceptions import ClientError

from test_container_instances import register
from waiting import task_of, wait_for, wait_for_task

SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


@pytest.fixture
def running(ecs, busybox_image):
    """Two awsvpc tasks on a registered container instance, RUNNING in Docker."""
    ecs.create_cluster(clusterName="agents")
    register(ecs, "agents", attributes=[{"name": "ecs.capability.task-eni"}])
    ecs.register_task_definition(family="pair", networkMode="awsvpc", containerDefinitions=[
        {"name": "app", "image": busybox_image, "memory": 64, "command": SLEEPER},
        {"name": "side", "image": busybox_image, "memory": 64, "essential": False,
         "command": SLEEPER},
    ])
    ran = ecs.run_task(cluster="agents", taskDefinition="pair", launchType="EC2", count=2,
                       networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-1"]}})
    assert not ran["failures"], ran["failures"]
    arns = [t["taskArn"] for t in ran["tasks"]]
    return [wait_for_task(ecs, "agents", arn, "RUNNING") for arn in arns]


def test_agent_reports_are_checked_and_stop_tasks_for_real(ecs, running, docker_client):
    first, second = running
    app = next(c for c in first["containers"] if c["name"] == "app")
    refusals = [
        ({"cluster": "absent", "task": first["taskArn"], "status": "STOPPED"},
         "ClusterNotFoundException"),
        ({"cluster": "agents", "task": "0" * 32, "status": "STOPPED"}, "InvalidParameterException"),
        ({"cluster": "agents", "task": first["taskArn"], "status": "EXPLODED"},
         "InvalidParameterException"),
        ({"cluster": "agents", "task": first["taskArn"],
          "containers": [{"containerName": "nope", "status": "RUNNING"}]},
         "InvalidParameterException"),
        ({"cluster": "agents", "task": first["taskArn"],
          "containers": [{"containerName": "app", "runtimeId": "f" * 64, "status": "STOPPED"}]},
         "InvalidParameterException"),
    ]
    for params, code in refusals:
        with pytest.raises(ClientError) as excinfo:
            ecs.submit_task_state_change(**params)
        assert error_code(excinfo) == code, params
    assert task_of(ecs, "agents", first["taskArn"])["lastStatus"] == "RUNNING"  # none applied

    # Progress Docker has not shown is acknowledged, not taken as fact; a non-essential
    # container's report changes nothing of the task.
    ack = ecs.submit_container_state_change(cluster="agents", task=first["taskArn"],
                                            containerName="side", status="RUNNING")
    assert ack["acknowledgment"]
    assert task_of(ecs, "agents", first["taskArn"])["lastStatus"] == "RUNNING"

    # A task reported STOPPED is stopped for real, with the agent's reason.
    ecs.submit_task_state_change(cluster="agents", task=first["taskArn"], status="STOPPED",
                                 reason="OutOfMemoryError: container killed")
    stopped = wait_for_task(ecs, "agents", first["taskArn"], "STOPPED")
    assert stopped["stoppedReason"] == "OutOfMemoryError: container killed"
    assert stopped["stopCode"] == "EssentialContainerExited"
    assert not docker_client.containers.list(all=True, filters={"id": app["runtimeId"]})

    # An essential container reported STOPPED stops its task, as ECS's rule has it.
    ecs.submit_container_state_change(cluster="agents", task=second["taskArn"],
                                      containerName="app", status="STOPPED", exitCode=137,
                                      reason="OOMKilled")
    stopped = wait_for_task(ecs, "agents", second["taskArn"], "STOPPED")
    assert stopped["stoppedReason"] == "Essential container in task exited"
    reported = next(c for c in stopped["containers"] if c["name"] == "app")
    assert reported["reason"] == "OOMKilled"


def test_attachment_state_changes(ecs, running):
    task = running[0]
    attachment = task["attachments"][0]
    arn = f"arn:aws:ecs:us-east-1:123456789012:attachment/{attachment['id']}"
    with pytest.raises(ClientError) as excinfo:
        ecs.submit_attachment_state_changes(cluster="agents", attachments=[
            {"attachmentArn": arn, "status": "DETACHING"},
            {"attachmentArn": arn.replace(attachment["id"], "0" * 36), "status": "DETACHING"}])
    assert error_code(excinfo) == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:
        ecs.submit_attachment_state_changes(cluster="agents", attachments=[
            {"attachmentArn": arn, "status": "GONE"}])
    assert error_code(excinfo) == "InvalidParameterException"
    assert task_of(ecs, "agents", task["taskArn"])["attachments"][0]["status"] == "ATTACHED"
    ack = ecs.submit_attachment_state_changes(cluster="agents", attachments=[
        {"attachmentArn": arn, "status": "DETACHING"}])
    assert ack["acknowledgment"]
    assert task_of(ecs, "agents", task["taskArn"])["attachments"][0]["status"] == "DETACHING"


def test_discover_poll_endpoint(ecs, clean_emulator):
    ecs.create_cluster(clusterName="agents")
    found = ecs.discover_poll_endpoint(cluster="agents")
    assert found["endpoint"] == clean_emulator.endpoint_url + "/"
    assert found["telemetryEndpoint"] == found["endpoint"]


def test_update_container_agent(ecs):
    ecs.create_cluster(clusterName="fleet")
    old = register(ecs, "fleet", versionInfo={"agentVersion": "1.70.0", "dockerVersion": "25.0"})
    unknown = register(ecs, "fleet", instance_id="i-0000000000000002")
    arn = old["containerInstanceArn"]

    updating = ecs.update_container_agent(cluster="fleet", containerInstance=arn)
    assert updating["containerInstance"]["agentUpdateStatus"] == "PENDING"
    with pytest.raises(ClientError) as excinfo:
        ecs.update_container_agent(cluster="fleet", containerInstance=arn)
    assert error_code(excinfo) == "UpdateInProgressException"

    def describe():
        return ecs.describe_container_instances(cluster="fleet",
                                                containerInstances=[arn])["containerInstances"][0]
    seen = []
    done = wait_for(describe, lambda i: seen.append(i["agentUpdateStatus"]) or
                    i["agentUpdateStatus"] == "UPDATED", timeout=10, interval=0.1)
    assert done["versionInfo"] == {"agentVersion": "1.89.0", "dockerVersion": "25.0"}
    assert set(seen) <= {"PENDING", "STAGING", "STAGED", "UPDATING", "UPDATED"}
    assert len(set(seen)) >= 3  # it walked through the steps
    # the cluster query language sees the new version
    listed = ecs.list_container_instances(cluster="fleet", filter="agentVersion >= 1.89.0")
    assert listed["containerInstanceArns"] == [arn]

    for ref, code in [(arn, "NoUpdateAvailableException"),
                      (unknown["containerInstanceArn"], "MissingVersionException"),
                      ("0" * 32, "InvalidParameterException")]:
        with pytest.raises(ClientError) as excinfo:
            ecs.update_container_agent(cluster="fleet", containerInstance=ref)
        assert error_code(excinfo) == code
    with pytest.raises(ClientError) as excinfo:
        ecs.update_container_agent(cluster="absent", containerInstance=arn)
    assert error_code(excinfo) == "ClusterNotFoundException"
