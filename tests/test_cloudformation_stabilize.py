"""A stack's service that does not become steady within the stabilize timeout: its failure
reason says what the new deployment's tasks did, not the old deployment's counts."""

import json
from dataclasses import replace

import pytest

from emulator.pytest_plugin import running_emulator
from tests.test_cloudformation_rollback import image_template, primary

pytestmark = pytest.mark.docker

TIMEOUT_S = 10


@pytest.fixture(scope="module")
def ecs_emulator(ecs_emulator_settings):
    with running_emulator(replace(ecs_emulator_settings,
                                  cfn_stabilize_timeout_s=TIMEOUT_S)) as handle:
        yield handle


def test_the_timeout_reason_names_the_new_deployments_tasks(clean_emulator, busybox_image):
    cfn = clean_emulator.client("cloudformation")
    template = image_template(busybox_image)
    service = template["Resources"]["Service"]["Properties"]
    service["DesiredCount"] = 2
    del service["DeploymentConfiguration"]  # no circuit breaker: only the timeout ends it
    body = json.dumps(template)
    cfn.create_stack(StackName="slow", TemplateBody=body)
    assert cfn.describe_stacks(StackName="slow")["Stacks"][0]["StackStatus"] == \
        "CREATE_COMPLETE"

    cfn.update_stack(StackName="slow", TemplateBody=body, Parameters=[
        {"ParameterKey": "Image", "ParameterValue": "ecs-emulator-test/nosuch:1"}])
    events = cfn.describe_stack_events(StackName="slow")["StackEvents"]
    reason = next(e["ResourceStatusReason"] for e in events
                  if e["ResourceStatus"] == "UPDATE_FAILED" and e["LogicalResourceId"] == "Service")
    assert f"did not stabilize within {TIMEOUT_S} s" in reason, reason
    assert "0 of 2 tasks running" in reason, reason  # the new deployment's, not the old one's
    assert "2 of 2" not in reason, reason
    assert "Last stopped task: CannotPullContainerError" in reason, reason
    # made with the parameter's default: rolled back to it, the service too
    stack = cfn.describe_stacks(StackName="slow")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert stack["Parameters"] == [{"ParameterKey": "Image", "ParameterValue": busybox_image}]
    resources = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in
                 cfn.describe_stack_resources(StackName="slow")["StackResources"]}
    ecs = clean_emulator.client("ecs")
    assert primary(ecs, resources["Cluster"], resources["Service"])["taskDefinition"] == \
        resources["TaskDef"]
    cfn.delete_stack(StackName="slow")
