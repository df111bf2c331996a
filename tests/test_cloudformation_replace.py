"""Stack updates that replace resources, in CloudFormation's order: the replacement is made and
what refers to it is pointed at it; the old physical resource goes only in the clean-up phase
after the update succeeded (or stays, with UpdateReplacePolicy Retain); a failed update rolls
back to the old resource, still ACTIVE and in use, and deletes the new one."""

import json

import pytest

from tests.test_cloudformation_deploy import outputs
from tests.test_cloudformation_ecs import status, template

pytestmark = pytest.mark.docker

ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/cfn-web:"


def events(cfn, stack):
    """(logical id, status, physical id) of the stack's events, oldest first."""
    found = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    return [(e["LogicalResourceId"], e["ResourceStatus"], e.get("PhysicalResourceId", ""))
            for e in reversed(found)]


def revisions(ecs):
    """Revision number -> status of the cfn-web family."""
    found = {}
    for state in ("ACTIVE", "INACTIVE"):
        for arn in ecs.list_task_definitions(familyPrefix="cfn-web", status=state)[
                "taskDefinitionArns"]:
            found[int(arn.rsplit(":", 1)[1])] = state
    return found


def task_definition_only(image, memory=64, policy=None, extra=False):
    """The cfn-web task definition; with `extra`, a second one (family cfn-extra)."""
    body = template(image, memory=memory)
    del body["Resources"]["Service"], body["Resources"]["Cluster"]
    body["Outputs"] = {"TaskDefRef": {"Value": {"Ref": "TaskDef"}}}
    if policy:
        body["Resources"]["TaskDef"]["UpdateReplacePolicy"] = policy
    if extra:
        body["Resources"]["Extra"] = {"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "Family": "cfn-extra", "ContainerDefinitions": [
                {"Name": "main", "Image": image, "Memory": 64}]}}
    return body


def extra_status(ecs):
    return ecs.describe_task_definition(taskDefinition="cfn-extra:1")["taskDefinition"]["status"]


def test_replaced_revision_goes_in_the_clean_up_phase_after_the_service_moved(
        clean_emulator, busybox_image):
    cfn, ecs = clean_emulator.client("cloudformation"), clean_emulator.client("ecs")
    cfn.create_stack(StackName="swap", TemplateBody=json.dumps(template(busybox_image, desired=1)))
    assert status(cfn, "swap") == "CREATE_COMPLETE"
    before = len(events(cfn, "swap"))

    cfn.update_stack(StackName="swap", TemplateBody=json.dumps(
        template(busybox_image, desired=1, memory=96)))
    assert status(cfn, "swap") == "UPDATE_COMPLETE"
    name = outputs(cfn, "swap")["ServiceName"]
    service = ecs.describe_services(cluster="cfn", services=[name])["services"][0]
    assert service["taskDefinition"] == ARN + "2" and service["runningCount"] == 1
    assert revisions(ecs) == {1: "INACTIVE", 2: "ACTIVE"}

    # CloudFormation's order, as waiters and the CDK read it: the new revision, the service
    # moved to it, then the clean-up phase deletes the old revision, then UPDATE_COMPLETE.
    update = [(logical, state, physical) for logical, state, physical
              in events(cfn, "swap")[before:] if logical != "Cluster"]
    assert [(logical, state) for logical, state, _ in update] == [
        ("swap", "UPDATE_IN_PROGRESS"),
        ("TaskDef", "UPDATE_IN_PROGRESS"),
        ("TaskDef", "UPDATE_IN_PROGRESS"),  # requires a new physical resource
        ("TaskDef", "UPDATE_IN_PROGRESS"),  # resource creation initiated
        ("TaskDef", "UPDATE_COMPLETE"),
        ("Service", "UPDATE_IN_PROGRESS"),
        ("Service", "UPDATE_COMPLETE"),
        ("swap", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
        ("TaskDef", "DELETE_IN_PROGRESS"),
        ("TaskDef", "DELETE_COMPLETE"),
        ("swap", "UPDATE_COMPLETE"),
    ]
    assert [physical for _, state, physical in update if state.startswith("DELETE")] == [
        ARN + "1", ARN + "1"]
    assert update[4][2] == ARN + "2"
    cfn.delete_stack(StackName="swap")


def test_update_replace_policy_retain_keeps_the_old_revision(clean_emulator, busybox_image):
    cfn, ecs = clean_emulator.client("cloudformation"), clean_emulator.client("ecs")
    cfn.create_stack(StackName="keep", TemplateBody=json.dumps(
        task_definition_only(busybox_image, policy="Retain", extra=True)))
    # The update also takes Extra out of the template: it goes in the clean-up phase.
    cfn.update_stack(StackName="keep", TemplateBody=json.dumps(
        task_definition_only(busybox_image, memory=96, policy="Retain")))
    assert status(cfn, "keep") == "UPDATE_COMPLETE"
    assert outputs(cfn, "keep")["TaskDefRef"] == ARN + "2"
    assert revisions(ecs) == {1: "ACTIVE", 2: "ACTIVE"}
    assert extra_status(ecs) == "INACTIVE"
    history = events(cfn, "keep")
    cleanup = history.index(("keep", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", history[-1][2]))
    assert [(logical, state) for logical, state, _ in history[cleanup + 1:]] == [
        ("TaskDef", "DELETE_SKIPPED"), ("Extra", "DELETE_IN_PROGRESS"),
        ("Extra", "DELETE_COMPLETE"), ("keep", "UPDATE_COMPLETE")]
    assert history[cleanup + 1][2] == ARN + "1"
    assert [r["LogicalResourceId"] for r in cfn.describe_stack_resources(
        StackName="keep")["StackResources"]] == ["TaskDef"]
    cfn.delete_stack(StackName="keep")
    assert revisions(ecs) == {1: "ACTIVE", 2: "INACTIVE"}  # retained: no longer the stack's
    ecs.deregister_task_definition(taskDefinition=ARN + "1")


def test_a_later_resource_failing_rolls_back_to_the_old_revision(clean_emulator, busybox_image):
    cfn, ecs = clean_emulator.client("cloudformation"), clean_emulator.client("ecs")
    cfn.create_stack(StackName="later", TemplateBody=json.dumps(
        task_definition_only(busybox_image, extra=True)))
    body = task_definition_only(busybox_image, memory=96)  # and Extra out of the template
    # Added, and made after the new revision it refers to: its cluster does not exist.
    body["Resources"]["Service"] = {"Type": "AWS::ECS::Service", "Properties": {
        "Cluster": "no-such-cluster", "TaskDefinition": {"Ref": "TaskDef"}, "DesiredCount": 0}}
    cfn.update_stack(StackName="later", TemplateBody=json.dumps(body))
    assert status(cfn, "later") == "UPDATE_ROLLBACK_COMPLETE"
    assert outputs(cfn, "later")["TaskDefRef"] == ARN + "1"
    assert revisions(ecs) == {1: "ACTIVE", 2: "INACTIVE"}  # no third revision
    assert extra_status(ecs) == "ACTIVE"  # still the stack's
    tail = [(logical, state) for logical, state, _ in events(cfn, "later")][-4:]
    assert tail == [("later", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"),
                    ("TaskDef", "DELETE_IN_PROGRESS"), ("TaskDef", "DELETE_COMPLETE"),
                    ("later", "UPDATE_ROLLBACK_COMPLETE")]
    cfn.delete_stack(StackName="later")
    assert revisions(ecs) == {1: "INACTIVE", 2: "INACTIVE"}
    assert extra_status(ecs) == "INACTIVE"


def test_a_failed_deployment_rolls_the_service_back_to_the_old_revision(clean_emulator,
                                                                        busybox_image):
    cfn, ecs = clean_emulator.client("cloudformation"), clean_emulator.client("ecs")
    cfn.create_stack(StackName="crash", TemplateBody=json.dumps(template(busybox_image, desired=1)))
    name = outputs(cfn, "crash")["ServiceName"]
    # The new revision's tasks exit at once: the circuit breaker fails the deployment.
    cfn.update_stack(StackName="crash", TemplateBody=json.dumps(
        template(busybox_image, desired=1, command=["sh", "-c", "exit 3"])))
    assert status(cfn, "crash") == "UPDATE_ROLLBACK_COMPLETE"
    service = ecs.describe_services(cluster="cfn", services=[name])["services"][0]
    assert service["taskDefinition"] == ARN + "1"
    assert service["runningCount"] == 1 and len(service["deployments"]) == 1
    assert revisions(ecs) == {1: "ACTIVE", 2: "INACTIVE"}  # no third revision
    assert outputs(cfn, "crash")["TaskDefRef"] == ARN + "1"
    # The circuit breaker rolls the service back itself: when the stack rolls back, the service
    # has its old properties already, and the stack's rollback starts no deployment of its own.
    breaker = {"DeploymentConfiguration": {"MaximumPercent": 200, "MinimumHealthyPercent": 50,
                                           "DeploymentCircuitBreaker": {"Enable": True,
                                                                        "Rollback": True}}}
    cfn.update_stack(StackName="crash", TemplateBody=json.dumps(template(
        busybox_image, desired=1, command=["sh", "-c", "exit 3"], extra_service=breaker)))
    assert status(cfn, "crash") == "UPDATE_ROLLBACK_COMPLETE"
    service = ecs.describe_services(cluster="cfn", services=[name])["services"][0]
    messages = [e["message"] for e in reversed(service["events"])]
    rolled = max(i for i, m in enumerate(messages) if "rolling back to deployment" in m)
    assert len([m for m in messages[rolled:] if "has started 1 tasks" in m]) == 1
    assert service["taskDefinition"] == ARN + "1" and len(service["deployments"]) == 1
    cfn.delete_stack(StackName="crash")
