"""Which resources a stack update touches (update_scope.py), with templates that have a
DependsOn that is not a resource's: an ECS container definition's names containers."""

import json

import pytest

from tests.test_cloudformation_ecs import containers_of, status, template

pytestmark = pytest.mark.docker


def ordered_containers(image: str, environment: str) -> dict:
    """The ECS template of test_cloudformation_ecs, its task made of two containers: `side`
    starts once `main` has started (a container DependsOn, a list of objects)."""
    body = template(image, desired=1)
    containers = body["Resources"]["TaskDef"]["Properties"]["ContainerDefinitions"]
    containers[0]["Environment"] = [{"Name": "STAGE", "Value": environment}]
    containers.append({"Name": "side", "Image": image, "Memory": 64, "Essential": False,
                       "Command": containers[0]["Command"],
                       "DependsOn": [{"ContainerName": "main", "Condition": "START"}]})
    return body


def test_a_task_definition_whose_containers_depend_on_each_other_is_updated(
        clean_emulator, busybox_image, docker_client):
    cfn, ecs = clean_emulator.client("cloudformation"), clean_emulator.client("ecs")
    cfn.create_stack(StackName="dep", TemplateBody=json.dumps(
        ordered_containers(busybox_image, "one")))
    assert status(cfn, "dep") == "CREATE_COMPLETE"

    cfn.update_stack(StackName="dep", TemplateBody=json.dumps(
        ordered_containers(busybox_image, "two")))

    stack = cfn.describe_stacks(StackName="dep")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE", stack.get("StackStatusReason")
    service_arn = next(r["PhysicalResourceId"] for r in cfn.describe_stack_resources(
        StackName="dep")["StackResources"] if r["LogicalResourceId"] == "Service")
    service = ecs.describe_services(cluster="cfn", services=[service_arn])["services"][0]
    assert service["taskDefinition"].endswith("cfn-web:2")
    assert service["runningCount"] == 1
    definition = ecs.describe_task_definition(taskDefinition="cfn-web:2")["taskDefinition"]
    assert definition["containerDefinitions"][0]["environment"] == [
        {"name": "STAGE", "value": "two"}]
    assert definition["containerDefinitions"][1]["dependsOn"] == [
        {"containerName": "main", "condition": "START"}]
    tasks = ecs.list_tasks(cluster="cfn", serviceName=service_arn)["taskArns"]
    described = ecs.describe_tasks(cluster="cfn", tasks=tasks)["tasks"]
    assert [t["taskDefinitionArn"] for t in described] == [service["taskDefinition"]]
    assert len(containers_of(docker_client, tasks)) == 1
    cfn.delete_stack(StackName="dep")
