"""ECS_EMULATOR_PERSIST with a stack update under way: what is answered while the update waits on
its service is written before its answer, and survives `kill -9`; what the update kept for its
clean-up phase is deleted with its stack after the restart."""

from __future__ import annotations

import json
import signal
import threading

import pytest

from tests.test_cli import free_port, start  # noqa: F401  (start is a fixture)
from tests.test_persistence import Emulator, remove_everything
from tests.waiting import wait_for

pytestmark = pytest.mark.docker

SERVE = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]


def service_template(image: str, desired: int) -> str:
    return json.dumps({"Resources": {
        "Cluster": {"Type": "AWS::ECS::Cluster"},
        "TaskDef": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "NetworkMode": "awsvpc", "Cpu": "256", "Memory": "512",
            "RequiresCompatibilities": ["FARGATE"],
            "ContainerDefinitions": [{"Name": "main", "Image": image, "Command": SERVE}]}},
        "Service": {"Type": "AWS::ECS::Service", "Properties": {
            "Cluster": {"Ref": "Cluster"}, "TaskDefinition": {"Ref": "TaskDef"},
            "DesiredCount": desired, "LaunchType": "FARGATE",
            "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-1"]}}}}}})


@pytest.fixture
def patient(start, tmp_path, docker_client):  # noqa: F811
    """A persisting emulator whose stack updates wait on tasks that cannot start for as long as
    a test needs."""
    emulator = Emulator(start, tmp_path, free_port())
    emulator.env["ECS_EMULATOR_CFN_STABILIZE_TIMEOUT"] = "600"
    emulator.up()
    emulator.instance = (tmp_path / "state" / "instance").read_text()
    try:
        yield emulator
    finally:
        if emulator.running is not None:
            emulator.running.kill()
        remove_everything(docker_client, emulator.instance)


def test_a_stack_made_while_another_updates_survives_kill_9(patient, busybox_image):
    emulator = patient
    cfn = emulator.client("cloudformation")
    cfn.create_stack(StackName="app", TemplateBody=service_template(busybox_image, 0))
    assert cfn.describe_stacks(StackName="app")["Stacks"][0]["StackStatus"] == \
        "CREATE_COMPLETE"
    updating = update_waiting_on_its_service(emulator, cfn)

    cfn.create_stack(StackName="other", TemplateBody=json.dumps({"Resources": {
        "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "other"}}}}))
    assert updating.is_alive()  # answered while the update still waits on its service
    emulator.running.stop(signal.SIGKILL)

    emulator.up()
    cfn = emulator.client("cloudformation")
    other = cfn.describe_stacks(StackName="other")["Stacks"][0]
    assert other["StackStatus"] == "CREATE_COMPLETE"
    assert emulator.client("ecs").describe_clusters(
        clusters=["other"])["clusters"][0]["status"] == "ACTIVE"
    assert emulator.running.stop() == 0


def update_waiting_on_its_service(emulator, cfn) -> threading.Thread:
    """Stack "app" updated, in a thread, to a service whose tasks cannot start (the update
    waits on it for the stabilize timeout): returns once the service's update is under way."""
    updating = threading.Thread(target=lambda: _quietly(
        lambda: emulator.client("cloudformation").update_stack(
            StackName="app",
            TemplateBody=service_template("ecs-emulator-test/nosuch:1", 1))), daemon=True)
    updating.start()
    wait_for(lambda: cfn.describe_stack_events(StackName="app")["StackEvents"],
             lambda events: any(e["LogicalResourceId"] == "Service"
                                and e["ResourceStatus"] == "UPDATE_IN_PROGRESS"
                                for e in events))
    return updating


def _quietly(call) -> None:
    try:
        call()
    except Exception:  # the kill cuts the update's call short: its answer never comes
        pass


def with_extra_cluster(template: str) -> str:
    body = json.loads(template)
    body["Resources"]["Extra"] = {"Type": "AWS::ECS::Cluster"}
    return json.dumps(body)


def test_what_an_update_cut_short_kept_for_its_clean_up_is_deleted_with_its_stack(
        patient, busybox_image):
    """An update keeps the resource its template drops until its clean-up phase; a kill -9
    before then, and its stack's DeleteStack after the restart, deletes that one too (the
    update's template, which moto's delete reads, no longer has it)."""
    emulator = patient
    cfn = emulator.client("cloudformation")
    cfn.create_stack(StackName="app",
                     TemplateBody=with_extra_cluster(service_template(busybox_image, 0)))
    extra = cfn.describe_stack_resource(StackName="app", LogicalResourceId="Extra")[
        "StackResourceDetail"]["PhysicalResourceId"]
    update_waiting_on_its_service(emulator, cfn)
    # a write, so the state with the update under way is on disk before the kill
    cfn.create_stack(StackName="other", TemplateBody=json.dumps({"Resources": {
        "Q": {"Type": "AWS::SQS::Queue"}}}))
    emulator.running.stop(signal.SIGKILL)

    emulator.up()
    cfn, ecs = emulator.client("cloudformation"), emulator.client("ecs")
    assert cfn.describe_stacks(StackName="app")["Stacks"][0]["StackStatus"] == \
        "UPDATE_ROLLBACK_FAILED"
    assert ecs.describe_clusters(clusters=[extra])["clusters"][0]["status"] == "ACTIVE"
    cfn.delete_stack(StackName="app")
    assert ecs.describe_clusters(clusters=[extra])["clusters"][0]["status"] == "INACTIVE"
    events = [(e["LogicalResourceId"], e["ResourceStatus"]) for e in reversed(
        cfn.describe_stack_events(StackName="app")["StackEvents"])]
    deleting = events.index(("app", "DELETE_IN_PROGRESS"))
    assert ("Extra", "DELETE_COMPLETE") in events[deleting:]
    assert ecs.list_clusters()["clusterArns"] == []
    assert emulator.running.stop() == 0
