"""A failed stack update rolled back as CloudFormation does it: the previous parameters (their
defaults too) and the resources made from them put back, and the failed resource's reason saying
what went wrong with the new deployment."""

import json

import pytest

from tests.test_cloudformation_ecs import SERVE, status

pytestmark = pytest.mark.docker


def image_template(default_image: str) -> dict:
    """A Fargate service whose image is a parameter with a default; the circuit breaker fails a
    deployment whose tasks cannot start, so a bad image fails the update at once."""
    return {
        "Parameters": {"Image": {"Type": "String", "Default": default_image}},
        "Resources": {
            "Cluster": {"Type": "AWS::ECS::Cluster"},
            "TaskDef": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
                "Family": "rb", "NetworkMode": "awsvpc", "Cpu": "256", "Memory": "512",
                "RequiresCompatibilities": ["FARGATE"],
                "ContainerDefinitions": [{"Name": "main", "Image": {"Ref": "Image"},
                                          "Command": SERVE}]}},
            "Service": {"Type": "AWS::ECS::Service", "Properties": {
                "Cluster": {"Ref": "Cluster"}, "TaskDefinition": {"Ref": "TaskDef"},
                "DesiredCount": 1, "LaunchType": "FARGATE",
                "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-1"]}},
                "DeploymentConfiguration": {"DeploymentCircuitBreaker": {
                    "Enable": True, "Rollback": False}}}},
        },
    }


def primary(ecs, cluster: str, service: str) -> dict:
    found = ecs.describe_services(cluster=cluster, services=[service])["services"][0]
    return next(d for d in found["deployments"] if d["status"] == "PRIMARY")


@pytest.mark.parametrize("created_with", ["defaults", "explicit"])
def test_a_failed_update_puts_back_the_parameters_the_stack_was_created_with(
        clean_emulator, busybox_image, created_with):
    cfn, ecs = clean_emulator.client("cloudformation"), clean_emulator.client("ecs")
    body = json.dumps(image_template(busybox_image))
    given = ([] if created_with == "defaults"
             else [{"ParameterKey": "Image", "ParameterValue": busybox_image}])
    cfn.create_stack(StackName="rb", TemplateBody=body, Parameters=given)
    assert status(cfn, "rb") == "CREATE_COMPLETE"
    resources = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in
                 cfn.describe_stack_resources(StackName="rb")["StackResources"]}
    first = resources["TaskDef"]
    assert first.endswith(":1")

    cfn.update_stack(StackName="rb", TemplateBody=body, Parameters=[
        {"ParameterKey": "Image", "ParameterValue": "ecs-emulator-test/nosuch:1"}])

    stack = cfn.describe_stacks(StackName="rb")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert stack["Parameters"] == [{"ParameterKey": "Image", "ParameterValue": busybox_image}]
    after = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in
             cfn.describe_stack_resources(StackName="rb")["StackResources"]}
    assert after["TaskDef"] == first
    # the service is back on the task definition the stack names, not the failed one
    deployment = primary(ecs, resources["Cluster"], after["Service"])
    assert deployment["taskDefinition"] == first
    events = cfn.describe_stack_events(StackName="rb")["StackEvents"]
    rolled_back = [e["LogicalResourceId"] for e in events
                   if e["ResourceStatus"] == "UPDATE_COMPLETE"]
    assert "Service" in rolled_back and "TaskDef" in rolled_back
    cfn.delete_stack(StackName="rb")
    assert ecs.list_task_definitions(familyPrefix="rb", status="ACTIVE")["taskDefinitionArns"] == []
