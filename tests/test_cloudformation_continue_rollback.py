"""ContinueUpdateRollback through boto3: a stack whose update's rollback failed (its service's
old task definition was deregistered meanwhile, and UpdateService refuses an INACTIVE one) is
refused updates, fails again when continued as it is, fails with the reason when told to skip
what it cannot, and ends UPDATE_ROLLBACK_COMPLETE, its template and parameters back, when the
failed service is skipped; and an update a kill -9 cut short is rolled back whole after the
restart."""

import json
import signal
import threading

import pytest

from tests.test_cli import free_port, start  # noqa: F401  (start is a fixture)
from tests.test_persistence import Emulator, remove_everything
from tests.test_cloudformation_stack_calls import refused
from tests.test_persistence_stacks import _quietly, service_template
from tests.waiting import wait_for

pytestmark = pytest.mark.docker

SKIPPED = "Resource skipped during UpdateRollback"
USER_INITIATED = "User Initiated"
TEMPLATE = json.dumps({
    "Parameters": {"WebDef": {"Type": "String"}, "OtherDef": {"Type": "String"}},
    "Resources": {
        "Cluster": {"Type": "AWS::ECS::Cluster"},
        "Web": {"Type": "AWS::ECS::Service", "Properties": {
            "Cluster": {"Ref": "Cluster"}, "TaskDefinition": {"Ref": "WebDef"}, "DesiredCount": 0}},
        "Other": {"Type": "AWS::ECS::Service", "Properties": {
            "Cluster": {"Ref": "Cluster"}, "TaskDefinition": {"Ref": "OtherDef"},
            "DesiredCount": 0}}}})


def parameters(web, other):
    return [{"ParameterKey": "WebDef", "ParameterValue": web},
            {"ParameterKey": "OtherDef", "ParameterValue": other}]


@pytest.fixture
def failed_rollback(clean_emulator, busybox_image):
    """A stack in UPDATE_ROLLBACK_FAILED, its Web service UPDATE_FAILED (web:2 where the
    template says web:1), and its ECS client."""
    return roll_back_failing(clean_emulator, busybox_image, "stuck")


def roll_back_failing(emulator, image, name):
    cfn, ecs = emulator.client("cloudformation"), emulator.client("ecs")
    for family in ("web", "web", "other"):
        ecs.register_task_definition(family=family, containerDefinitions=[
            {"name": "main", "image": image, "memory": 64}])
    stack_id = cfn.create_stack(StackName=name, TemplateBody=TEMPLATE,
                                Parameters=parameters("web:1", "other:1"))["StackId"]
    assert status(cfn, name) == "CREATE_COMPLETE"
    ecs.deregister_task_definition(taskDefinition="web:1")
    # Web moves to web:2, Other fails (no such revision); Web's way back to web:1 is refused.
    cfn.update_stack(StackName=name, TemplateBody=TEMPLATE,
                     Parameters=parameters("web:2", "nothing:9"))
    assert status(cfn, name) == "UPDATE_ROLLBACK_FAILED"
    assert resource_statuses(cfn, name)["Web"] == "UPDATE_FAILED"
    return cfn, ecs, stack_id


def status(cfn, name="stuck"):
    return cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]


def resource_statuses(cfn, name="stuck"):
    """Logical id -> the status of its latest event (DescribeStackResources shows the stack's
    status for each: moto's, not modelled here)."""
    statuses = {}
    for event in cfn.describe_stack_events(StackName=name)["StackEvents"]:  # newest first
        if event["PhysicalResourceId"] != event["StackId"]:  # not the stack's own
            statuses.setdefault(event["LogicalResourceId"], event["ResourceStatus"])
    return statuses


def stack_events_since_continue(cfn):
    """The stack's own events from the latest UPDATE_ROLLBACK_IN_PROGRESS on, oldest first."""
    events = cfn.describe_stack_events(StackName="stuck")["StackEvents"]
    mine = []
    for event in events:
        mine.append(event)
        if event["LogicalResourceId"] == "stuck" and \
                event["ResourceStatus"] == "UPDATE_ROLLBACK_IN_PROGRESS":
            break
    return list(reversed(mine))


def service_task_definition(ecs, cfn, logical_id, name="stuck"):
    resource = cfn.describe_stack_resource(StackName=name, LogicalResourceId=logical_id)
    arn = resource["StackResourceDetail"]["PhysicalResourceId"]
    cluster = cfn.describe_stack_resource(StackName=name, LogicalResourceId="Cluster")[
        "StackResourceDetail"]["PhysicalResourceId"]
    found = ecs.describe_services(cluster=cluster, services=[arn])["services"][0]
    return found["taskDefinition"].rsplit("/", 1)[1]


def test_continue_as_it_is_fails_again_and_bad_skips_touch_nothing(failed_rollback):
    cfn, ecs, stack_id = failed_rollback
    assert refused(cfn.update_stack, StackName="stuck", TemplateBody=TEMPLATE,
                   Parameters=parameters("web:2", "other:1")) == (
        f"Stack:{stack_id} is in UPDATE_ROLLBACK_FAILED state and can not be updated.")
    cfn.continue_update_rollback(StackName="stuck")
    assert status(cfn) == "UPDATE_ROLLBACK_FAILED"
    events = stack_events_since_continue(cfn)
    assert (events[0]["ResourceStatus"], events[0]["ResourceStatusReason"]) == (
        "UPDATE_ROLLBACK_IN_PROGRESS", USER_INITIATED)
    assert [(e["LogicalResourceId"], e["ResourceStatus"]) for e in events[1:]] == [
        ("Web", "UPDATE_IN_PROGRESS"), ("Web", "UPDATE_FAILED"),
        ("stuck", "UPDATE_ROLLBACK_FAILED")]
    assert "Web" in events[-1]["ResourceStatusReason"]
    assert service_task_definition(ecs, cfn, "Web") == "web:2"

    for skip, reason in (
            (["Missing"], "Resources with logicalIds [Missing] do not belong to stack stuck"),
            (["Other"], "Only the resources in UPDATE_FAILED state are allowed to be skipped")):
        cfn.continue_update_rollback(StackName="stuck", ResourcesToSkip=skip)
        assert status(cfn) == "UPDATE_ROLLBACK_FAILED"
        events = stack_events_since_continue(cfn)
        assert [(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason"))
                for e in events] == [("stuck", "UPDATE_ROLLBACK_IN_PROGRESS", USER_INITIATED),
                                     ("stuck", "UPDATE_ROLLBACK_FAILED", reason)]
    assert resource_statuses(cfn)["Web"] == "UPDATE_FAILED"
    # Web's rollback failed (in the continued rollback above): the refused calls since leave it
    # one that may be skipped.
    cfn.continue_update_rollback(StackName="stuck", ResourcesToSkip=["Web"])
    assert status(cfn) == "UPDATE_ROLLBACK_COMPLETE"


def test_skipping_the_failed_resource_completes_the_rollback(failed_rollback):
    cfn, ecs, stack_id = failed_rollback
    cfn.continue_update_rollback(StackName=stack_id, ResourcesToSkip=["Web"],
                                 ClientRequestToken="continue-1")
    assert status(cfn) == "UPDATE_ROLLBACK_COMPLETE"
    events = stack_events_since_continue(cfn)
    assert [(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason"))
            for e in events] == [
        ("stuck", "UPDATE_ROLLBACK_IN_PROGRESS", USER_INITIATED),
        ("Web", "UPDATE_COMPLETE", SKIPPED),
        ("stuck", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", None),
        ("stuck", "UPDATE_ROLLBACK_COMPLETE", None)]
    assert {e.get("ClientRequestToken") for e in events} == {"continue-1"}
    assert resource_statuses(cfn)["Web"] == "UPDATE_COMPLETE"
    # The skipped service stays as it is; the stack's template and parameters are the old ones.
    assert service_task_definition(ecs, cfn, "Web") == "web:2"
    assert service_task_definition(ecs, cfn, "Other") == "other:1"
    stack = cfn.describe_stacks(StackName="stuck")["Stacks"][0]
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]} == {
        "WebDef": "web:1", "OtherDef": "other:1"}
    assert cfn.get_template(StackName="stuck")["TemplateBody"] == json.loads(TEMPLATE)
    # A retry with the token is the same call; any other is refused in AWS's words.
    cfn.continue_update_rollback(StackName="stuck", ClientRequestToken="continue-1")
    assert refused(cfn.continue_update_rollback, StackName="stuck") == (
        "RollbackUpdatedStack cannot be called from current stack status")
    # Updatable again.
    cfn.update_stack(StackName="stuck", TemplateBody=TEMPLATE,
                     Parameters=parameters("web:2", "other:1"))
    assert status(cfn) == "UPDATE_COMPLETE"
    assert refused(cfn.continue_update_rollback, StackName="nothing") == (
        "Stack [nothing] does not exist")


def test_a_resource_named_as_its_stack_is_told_from_the_stack(clean_emulator, busybox_image):
    """The stack's own events are told by its id, not its name: a Web service in a stack
    named Web is the resource whose rollback failed, and may be skipped."""
    cfn, ecs, stack_id = roll_back_failing(clean_emulator, busybox_image, "Web")
    cfn.continue_update_rollback(StackName="Web", ResourcesToSkip=["Web"])
    assert status(cfn, "Web") == "UPDATE_ROLLBACK_COMPLETE"
    assert service_task_definition(ecs, cfn, "Web", "Web") == "web:2"
    assert service_task_definition(ecs, cfn, "Other", "Web") == "other:1"


def test_an_update_a_kill_cut_short_is_rolled_back_whole(start, tmp_path,  # noqa: F811
                                                          busybox_image, docker_client):
    """kill -9 in an update leaves the stack UPDATE_ROLLBACK_FAILED after the restart, with the
    update's template in; continuing puts the template from before the update back, and its
    resources (what it goes back to is persisted with the stack)."""
    emulator = Emulator(start, tmp_path, free_port())
    emulator.env["ECS_EMULATOR_CFN_STABILIZE_TIMEOUT"] = "600"  # the update waits until killed
    emulator.up()
    emulator.instance = (tmp_path / "state" / "instance").read_text()
    try:
        cfn = emulator.client("cloudformation")
        before = service_template(busybox_image, 0)
        cfn.create_stack(StackName="app", TemplateBody=before)
        updating = threading.Thread(target=lambda: _quietly(
            lambda: emulator.client("cloudformation").update_stack(
                StackName="app", TemplateBody=service_template("ecs-emulator-test/nosuch:1", 1))),
            daemon=True)
        updating.start()
        wait_for(lambda: cfn.describe_stack_events(StackName="app")["StackEvents"],
                 lambda events: any(e["LogicalResourceId"] == "Service"
                                    and e["ResourceStatus"] == "UPDATE_IN_PROGRESS"
                                    for e in events))
        cfn.create_stack(StackName="written", TemplateBody=json.dumps(
            {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}))  # its answer waits for a write
        emulator.running.stop(signal.SIGKILL)

        emulator.up()
        cfn, ecs = emulator.client("cloudformation"), emulator.client("ecs")
        assert cfn.describe_stacks(StackName="app")["Stacks"][0]["StackStatus"] == \
            "UPDATE_ROLLBACK_FAILED"
        cfn.continue_update_rollback(StackName="app")
        assert cfn.describe_stacks(StackName="app")["Stacks"][0]["StackStatus"] == \
            "UPDATE_ROLLBACK_COMPLETE"
        assert cfn.get_template(StackName="app")["TemplateBody"] == json.loads(before)
        resources = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in
                     cfn.describe_stack_resources(StackName="app")["StackResources"]}
        service = ecs.describe_services(cluster=resources["Cluster"],
                                        services=[resources["Service"]])["services"][0]
        assert service["desiredCount"] == 0
        image = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])[
            "taskDefinition"]["containerDefinitions"][0]["image"]
        assert image == busybox_image
        assert emulator.running.stop() == 0
    finally:
        if emulator.running is not None:
            emulator.running.kill()
        remove_everything(docker_client, emulator.instance)
