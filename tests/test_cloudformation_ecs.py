"""CloudFormation stacks make our ECS resources: clusters, task definitions and services whose
tasks run as containers; updates in place and by replacement; delete; rollback; one world with
the API."""

import json
import threading
import time

import pytest

from tests.test_task_credentials import python_image  # noqa: F401  (a fixture)
from tests.test_cloudformation_deploy import outputs
from botocore.exceptions import ClientError

pytestmark = pytest.mark.docker

SERVE = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]


def template(image, desired=2, command=SERVE, cluster_name="cfn", extra_service=None,
             memory=64):
    service = {"Cluster": {"Ref": "Cluster"}, "TaskDefinition": {"Ref": "TaskDef"},
               "DesiredCount": desired, "LaunchType": "FARGATE", "EnableExecuteCommand": True,
               "NetworkConfiguration": {"AwsvpcConfiguration": {
                   "Subnets": ["subnet-12345678"], "AssignPublicIp": "ENABLED"}},
               "DeploymentConfiguration": {"MaximumPercent": 200, "MinimumHealthyPercent": 50,
                                           "DeploymentCircuitBreaker": {"Enable": True,
                                                                        "Rollback": False}},
               "Tags": [{"Key": "team", "Value": "a"}]}
    service.update(extra_service or {})
    return {
        "Resources": {
            "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {
                "ClusterName": cluster_name,
                "ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}]}},
            "TaskDef": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
                "Family": "cfn-web", "NetworkMode": "awsvpc", "Cpu": "256", "Memory": "512",
                "RequiresCompatibilities": ["FARGATE"],
                "ContainerDefinitions": [{"Name": "main", "Image": image, "Memory": memory,
                                          "Command": command,
                                          "DockerLabels": {"My.Label": "x"}}]}},
            "Service": {"Type": "AWS::ECS::Service", "Properties": service},
        },
        "Outputs": {
            "ClusterArn": {"Value": {"Fn::GetAtt": ["Cluster", "Arn"]}},
            "ServiceName": {"Value": {"Fn::GetAtt": ["Service", "Name"]}},
            "ServiceRef": {"Value": {"Ref": "Service"}},
            "TaskDefRef": {"Value": {"Ref": "TaskDef"}},
        },
    }


def status(cfn, stack):
    return cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]


def containers_of(docker_client, task_arns):
    """The running `main` containers of these tasks (awsvpc tasks also have a pause container)."""
    return [c for arn in task_arns for c in docker_client.containers.list(
        filters={"label": [f"ecs-emulator.task-arn={arn}", "ecs-emulator.container-name=main"]})]


def test_stack_creates_updates_and_deletes_a_running_service(clean_emulator, busybox_image,
                                                             docker_client):
    cfn, ecs = clean_emulator.client("cloudformation"), clean_emulator.client("ecs")
    cfn.create_stack(StackName="web", TemplateBody=json.dumps(template(busybox_image)))
    assert status(cfn, "web") == "CREATE_COMPLETE"
    out = outputs(cfn, "web")
    assert out["ClusterArn"] == "arn:aws:ecs:us-east-1:123456789012:cluster/cfn"
    assert out["ServiceRef"] == "arn:aws:ecs:us-east-1:123456789012:service/cfn/" + out["ServiceName"]
    assert out["TaskDefRef"] == "arn:aws:ecs:us-east-1:123456789012:task-definition/cfn-web:1"

    # The API sees what the stack made: the service is steady with its tasks running.
    cluster = ecs.describe_clusters(clusters=["cfn"], include=["SETTINGS"])["clusters"][0]
    assert cluster["settings"] == [{"name": "containerInsights", "value": "enabled"}]
    service = ecs.describe_services(cluster="cfn", services=[out["ServiceName"]],
                                    include=["TAGS"])["services"][0]
    assert service["runningCount"] == 2 and service["launchType"] == "FARGATE"
    assert service["enableExecuteCommand"] is True
    assert service["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "ENABLED"
    assert service["deploymentConfiguration"]["minimumHealthyPercent"] == 50
    assert service["tags"] == [{"key": "team", "value": "a"}]
    definition = ecs.describe_task_definition(taskDefinition="cfn-web")["taskDefinition"]
    assert definition["containerDefinitions"][0]["dockerLabels"] == {"My.Label": "x"}
    tasks = ecs.list_tasks(cluster="cfn")["taskArns"]
    assert len(containers_of(docker_client, tasks)) == 2
    events = cfn.describe_stack_events(StackName="web")["StackEvents"]
    assert ("Service", "CREATE_COMPLETE") in [(e["LogicalResourceId"], e["ResourceStatus"])
                                              for e in events]
    resources = cfn.describe_stack_resources(StackName="web", LogicalResourceId="Cluster")
    assert [r["PhysicalResourceId"] for r in resources["StackResources"]] == ["cfn"]

    # Desired count updates in place: the same service, three tasks.
    cfn.update_stack(StackName="web", TemplateBody=json.dumps(template(busybox_image, desired=3)))
    assert status(cfn, "web") == "UPDATE_COMPLETE"
    assert outputs(cfn, "web")["ServiceRef"] == out["ServiceRef"]
    assert ecs.describe_services(cluster="cfn", services=[out["ServiceName"]])[
        "services"][0]["runningCount"] == 3

    # A task definition change is a new revision, rolled out to the same service.
    cfn.update_stack(StackName="web", TemplateBody=json.dumps(
        template(busybox_image, desired=3, memory=96)))
    assert status(cfn, "web") == "UPDATE_COMPLETE"
    service = ecs.describe_services(cluster="cfn", services=[out["ServiceName"]])["services"][0]
    assert service["taskDefinition"].endswith("cfn-web:2") and service["runningCount"] == 3
    old = ecs.describe_task_definition(taskDefinition="cfn-web:1")["taskDefinition"]
    assert old["status"] == "INACTIVE"

    tasks = ecs.list_tasks(cluster="cfn")["taskArns"]
    stack_id = cfn.describe_stacks(StackName="web")["Stacks"][0]["StackId"]
    cfn.delete_stack(StackName="web")
    assert ecs.describe_clusters(clusters=["cfn"])["clusters"][0]["status"] == "INACTIVE"
    # A delete that moto tried again in another order (the cluster before its service) and
    # that succeeded shows no DELETE_FAILED, as on AWS.
    events = cfn.describe_stack_events(StackName=stack_id)["StackEvents"]
    assert [e["LogicalResourceId"] for e in events if e["ResourceStatus"] == "DELETE_FAILED"] == []
    assert containers_of(docker_client, tasks) == []
    assert ecs.list_task_definitions(familyPrefix="cfn-web", status="ACTIVE")["taskDefinitionArns"] == []


def test_a_service_whose_tasks_cannot_start_fails_and_rolls_back(clean_emulator, busybox_image):
    cfn, ecs = clean_emulator.client("cloudformation"), clean_emulator.client("ecs")
    body = template("ecs-emulator-test/no-such-image:latest", desired=1)
    cfn.create_stack(StackName="bad", TemplateBody=json.dumps(body))
    assert status(cfn, "bad") == "ROLLBACK_COMPLETE"
    events = cfn.describe_stack_events(StackName="bad")["StackEvents"]
    failed = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert [e["LogicalResourceId"] for e in failed] == ["Service"]
    assert failed[0]["ResourceStatusReason"] == (  # AWS's handler's words, as users quote them
        'Resource handler returned message: "Error occurred during operation \'ECS Deployment '
        'Circuit Breaker was triggered\'." (HandlerErrorCode: GeneralServiceException)')
    assert ecs.describe_clusters(clusters=["cfn"])["clusters"][0]["status"] == "INACTIVE"


def holding(emulator, stack: str, shown: str, call):
    """Start `call(client)` in its own thread, with its own client, and return (thread, the list
    its answer goes to) once the stack shows `shown` (the call holds it)."""
    first, done = emulator.client("cloudformation"), []
    worker = threading.Thread(target=lambda: done.append(call(first)))
    worker.start()
    cfn, deadline = emulator.client("cloudformation"), time.monotonic() + 30
    while status(cfn, stack) != shown:
        assert time.monotonic() < deadline and not done, status(cfn, stack)
        time.sleep(0.05)
    return worker, done


def slow_template(image) -> dict:
    """A template whose new revision is healthy only at its second health check (10 s: ready
    after 6 s, the first check's failure falls in the start period): its update waits that long,
    holding the stack."""
    slow = template(image, desired=1,
                    command=["sh", "-c", "(sleep 6; touch /tmp/ready) & " + SERVE[2]])
    slow["Resources"]["TaskDef"]["Properties"]["ContainerDefinitions"][0]["HealthCheck"] = {
        "Command": ["CMD-SHELL", "test -f /tmp/ready"], "Interval": 5, "Retries": 3,
        "StartPeriod": 20}
    return slow


def assert_refused(refusals) -> None:
    """Each (call, code, words): refused with that code, HTTP 400, in those words."""
    for call, code, words in refusals:
        with pytest.raises(ClientError) as excinfo:
            call()
        error = excinfo.value.response
        assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (
            code, 400), error
        assert words in error["Error"]["Message"]


def test_a_stack_being_updated_refuses_another_update(clean_emulator, busybox_image):
    """One operation on a stack at a time: while an ExecuteChangeSet waits for its service to
    be steady the stack is UPDATE_IN_PROGRESS, and another change set (InvalidChangeSetStatus),
    an UpdateStack, a CreateChangeSet or a DeleteStack (ValidationError) is refused; the same
    change set again (a retry) is accepted at once, the first run going on; then the stack
    takes updates again."""
    cfn = clean_emulator.client("cloudformation")
    cfn.create_stack(StackName="busy", TemplateBody=json.dumps(template(busybox_image, desired=1)))
    assert status(cfn, "busy") == "CREATE_COMPLETE"
    slow = slow_template(busybox_image)
    for name, body in (("slow", slow), ("other", template(busybox_image, desired=2))):
        cfn.create_change_set(StackName="busy", ChangeSetName=name, ChangeSetType="UPDATE",
                              TemplateBody=json.dumps(body))
        assert cfn.describe_change_set(StackName="busy", ChangeSetName=name)[
            "ExecutionStatus"] == "AVAILABLE"

    worker, done = holding(clean_emulator, "busy", "UPDATE_IN_PROGRESS", lambda first: (
        first.execute_change_set(StackName="busy", ChangeSetName="slow")))
    try:
        assert cfn.describe_change_set(StackName="busy", ChangeSetName="slow")[
            "ExecutionStatus"] == "EXECUTE_IN_PROGRESS"
        # the same change set again is a retry of the running call (an SDK's, after a read
        # timeout): accepted at once (200), not refused, and not held until that run ends
        again = cfn.execute_change_set(StackName="busy", ChangeSetName="slow")
        assert again["ResponseMetadata"]["HTTPStatusCode"] == 200 and not done
        assert status(cfn, "busy") == "UPDATE_IN_PROGRESS"
        refusals = [
            (lambda: cfn.execute_change_set(StackName="busy", ChangeSetName="other"),
             "InvalidChangeSetStatus", "is in UPDATE_IN_PROGRESS state and can not be updated"),
            (lambda: cfn.update_stack(StackName="busy", TemplateBody=json.dumps(
                template(busybox_image, desired=3))),
             "ValidationError", "is in UPDATE_IN_PROGRESS state and can not be updated"),
            # the template being applied, again: refused for the hold, not "No updates are
            # to be performed" (moto's handler compared it with the running update's)
            (lambda: cfn.update_stack(StackName="busy", TemplateBody=json.dumps(slow)),
             "ValidationError", "is in UPDATE_IN_PROGRESS state and can not be updated"),
            (lambda: cfn.delete_change_set(StackName="busy", ChangeSetName="slow"),
             "InvalidChangeSetStatus", "currently in progress"),
            (lambda: cfn.create_change_set(StackName="busy", ChangeSetName="third",
                                           TemplateBody=json.dumps(
                                               template(busybox_image, desired=3))),
             "ValidationError", "is in UPDATE_IN_PROGRESS state and can not be updated"),
            (lambda: cfn.delete_stack(StackName="busy"),
             "ValidationError", "cannot be deleted while in status UPDATE_IN_PROGRESS"),
        ]
        assert_refused(refusals)
        assert not done  # each refusal came while the first update still ran
        with pytest.raises(ClientError) as excinfo:  # the refused CreateChangeSet made none
            cfn.describe_change_set(StackName="busy", ChangeSetName="third")
        assert excinfo.value.response["Error"]["Code"] == "ChangeSetNotFound"
    finally:
        worker.join(60)
    assert done and status(cfn, "busy") == "UPDATE_COMPLETE"
    assert cfn.describe_change_set(StackName="busy", ChangeSetName="slow")[
        "ExecutionStatus"] == "EXECUTE_COMPLETE"
    # the refused ones changed nothing; now the stack is free: an update runs
    cfn.update_stack(StackName="busy", TemplateBody=json.dumps(template(busybox_image, desired=2)))
    assert status(cfn, "busy") == "UPDATE_COMPLETE"
    cfn.delete_stack(StackName="busy")


def test_an_update_retried_with_its_token_while_it_runs_is_answered_at_once(
        clean_emulator, busybox_image):
    """An SDK whose read timeout ran out sends UpdateStack again: with the first call's
    ClientRequestToken that is the same call, answered with the stack's id at once (the first
    run going on); another token is another update, refused while the stack is held."""
    cfn = clean_emulator.client("cloudformation")
    stack_id = cfn.create_stack(StackName="retry", TemplateBody=json.dumps(
        template(busybox_image, desired=1)))["StackId"]
    body = json.dumps(slow_template(busybox_image))
    worker, done = holding(clean_emulator, "retry", "UPDATE_IN_PROGRESS", lambda first: (
        first.update_stack(StackName="retry", TemplateBody=body, ClientRequestToken="deploy-7")))
    try:
        again = cfn.update_stack(StackName="retry", TemplateBody=body,
                                 ClientRequestToken="deploy-7")
        assert again["StackId"] == stack_id and not done
        assert_refused([(lambda: cfn.update_stack(StackName="retry", TemplateBody=body,
                                                  ClientRequestToken="deploy-8"),
                         "ValidationError",
                         "is in UPDATE_IN_PROGRESS state and can not be updated")])
    finally:
        worker.join(60)
    assert done and done[0]["StackId"] == stack_id and status(cfn, "retry") == "UPDATE_COMPLETE"
    updates = [e for e in cfn.describe_stack_events(StackName="retry")["StackEvents"]
               if e["LogicalResourceId"] == "retry" and e["ResourceStatus"] == "UPDATE_IN_PROGRESS"]
    assert [e.get("ClientRequestToken") for e in updates] == ["deploy-7"]  # one update ran
    cfn.delete_stack(StackName="retry")


def test_a_stack_being_deleted_stays_visible_and_held(clean_emulator, busybox_image):
    """While DeleteStack waits for its service's task to stop (it ignores SIGTERM; StopTimeout
    8 s) the stack is there, DELETE_IN_PROGRESS: updates are refused in that status, its name is
    taken (AlreadyExistsException), a second DeleteStack succeeds, and DescribeStacks shows the
    exported outputs it had, making nothing again (moto's map made a resource on read: a deleted
    cluster or task definition came back); once deleted, its name is free, nothing is left, and
    its change sets are gone with it (ChangeSetNotFound, not a 500)."""
    cfn = clean_emulator.client("cloudformation")
    stubborn = template(busybox_image, desired=1,
                        command=["sh", "-c", "trap '' TERM; while true; do sleep 1; done"])
    stubborn["Resources"]["TaskDef"]["Properties"]["ContainerDefinitions"][0]["StopTimeout"] = 8
    for output in ("ClusterArn", "ServiceRef", "TaskDefRef"):
        stubborn["Outputs"][output]["Export"] = {"Name": f"going-{output}"}
    stack_id = cfn.create_stack(StackName="going", TemplateBody=json.dumps(stubborn))["StackId"]
    shown = outputs(cfn, "going")
    assert status(cfn, "going") == "CREATE_COMPLETE"
    old = cfn.create_change_set(StackName="going", ChangeSetName="old", ChangeSetType="UPDATE",
                                TemplateBody=json.dumps(template(busybox_image, desired=2)))

    worker, done = holding(clean_emulator, "going", "DELETE_IN_PROGRESS",
                           lambda first: first.delete_stack(StackName="going"))
    try:
        assert status(cfn, stack_id) == "DELETE_IN_PROGRESS"
        refusals = [
            (lambda: cfn.update_stack(StackName="going", TemplateBody=json.dumps(
                template(busybox_image, desired=3))),
             "ValidationError", "is in DELETE_IN_PROGRESS state and can not be updated"),
            (lambda: cfn.create_change_set(StackName="going", ChangeSetName="new",
                                           TemplateBody=json.dumps(
                                               template(busybox_image, desired=3))),
             "ValidationError", "is in DELETE_IN_PROGRESS state and can not be updated"),
            (lambda: cfn.execute_change_set(ChangeSetName=old["Id"]),
             "InvalidChangeSetStatus", "is in DELETE_IN_PROGRESS state"),
            (lambda: cfn.create_stack(StackName="going", TemplateBody=json.dumps(stubborn)),
             "AlreadyExistsException", "going already exists"),
        ]
        assert_refused(refusals)
        again = cfn.delete_stack(StackName="going")  # AWS: retrying DeleteStack is fine
        assert again["ResponseMetadata"]["HTTPStatusCode"] == 200
        while not done:  # as the CDK's destroy polls it: the outputs it had, made again never
            found = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
            if found["StackStatus"] == "DELETE_COMPLETE":
                break  # deleted after `done` was read: the delete's answer is on its way
            assert {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])} == shown
            time.sleep(0.2)
    finally:
        worker.join(60)
    assert done and status(cfn, stack_id) == "DELETE_COMPLETE"
    statuses = [e["ResourceStatus"] for e in reversed(
        cfn.describe_stack_events(StackName=stack_id)["StackEvents"])]
    after = statuses[statuses.index("DELETE_IN_PROGRESS"):]
    assert not [s for s in after if s.startswith("CREATE")], after
    ecs = clean_emulator.client("ecs")
    assert ecs.list_clusters()["clusterArns"] == []
    assert ecs.list_task_definitions(status="ACTIVE")["taskDefinitionArns"] == []
    assert cfn.list_exports()["Exports"] == []
    for listing in (lambda: cfn.describe_change_set(ChangeSetName=old["Id"]),
                    lambda: cfn.delete_change_set(ChangeSetName=old["Id"])):
        with pytest.raises(ClientError) as excinfo:
            listing()
        assert excinfo.value.response["Error"]["Code"] == "ChangeSetNotFound"
    assert [s["StackName"] for s in cfn.list_stacks()["StackSummaries"]
            if s["StackStatus"] != "DELETE_COMPLETE" and s["StackName"] == "going"] == []
    with pytest.raises(ClientError) as excinfo:
        cfn.describe_stacks(StackName="going")
    assert excinfo.value.response["Error"]["Code"] == "ValidationError"
    with pytest.raises(ClientError) as excinfo:
        cfn.execute_change_set(ChangeSetName=old["Id"])
    error = excinfo.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (
        "ChangeSetNotFound", 404)


def test_invalid_property_fails_the_resource_with_the_api_message(clean_emulator, busybox_image):
    cfn = clean_emulator.client("cloudformation")
    body = template(busybox_image)
    body["Resources"]["TaskDef"]["Properties"]["Cpu"] = "999"
    cfn.create_stack(StackName="invalid", TemplateBody=json.dumps(body))
    assert status(cfn, "invalid") == "ROLLBACK_COMPLETE"
    events = cfn.describe_stack_events(StackName="invalid")["StackEvents"]
    reason = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"][0]
    assert reason["LogicalResourceId"] == "TaskDef"
    assert "ClientException" in reason["ResourceStatusReason"]


def test_stack_uses_api_made_cluster_and_api_sees_stack_service(clean_emulator, busybox_image):
    cfn, ecs = clean_emulator.client("cloudformation"), clean_emulator.client("ecs")
    ecs.create_cluster(clusterName="by-api")
    body = template(busybox_image, desired=1)
    del body["Resources"]["Cluster"]
    body["Resources"]["Service"]["Properties"]["Cluster"] = "by-api"
    body["Outputs"].pop("ClusterArn")
    cfn.create_stack(StackName="uses-api", TemplateBody=json.dumps(body))
    assert status(cfn, "uses-api") == "CREATE_COMPLETE"
    name = outputs(cfn, "uses-api")["ServiceName"]
    assert ecs.list_services(cluster="by-api")["serviceArns"][0].endswith(f"/by-api/{name}")
    cfn.delete_stack(StackName="uses-api")
    assert ecs.list_services(cluster="by-api")["serviceArns"] == []
    assert ecs.describe_clusters(clusters=["by-api"])["clusters"][0]["status"] == "ACTIVE"


def test_cluster_name_change_replaces_the_cluster(clean_emulator, busybox_image):
    cfn, ecs = clean_emulator.client("cloudformation"), clean_emulator.client("ecs")
    body = template(busybox_image, desired=0)
    body["Resources"].pop("Service")
    for key in ("ServiceName", "ServiceRef"):
        body["Outputs"].pop(key)
    cfn.create_stack(StackName="repl", TemplateBody=json.dumps(body))
    body["Resources"]["Cluster"]["Properties"]["ClusterName"] = "cfn-2"
    cfn.update_stack(StackName="repl", TemplateBody=json.dumps(body))
    assert status(cfn, "repl") == "UPDATE_COMPLETE"
    assert outputs(cfn, "repl")["ClusterArn"].endswith(":cluster/cfn-2")
    states = {c["clusterName"]: c["status"] for c in ecs.describe_clusters(
        clusters=["cfn", "cfn-2"])["clusters"]}
    assert states == {"cfn": "INACTIVE", "cfn-2": "ACTIVE"}
    cfn.delete_stack(StackName="repl")


def test_ssm_parameter_that_does_not_exist_is_a_validation_error(clean_emulator):
    cfn = clean_emulator.client("cloudformation")
    body = {"Parameters": {"BootstrapVersion": {
        "Type": "AWS::SSM::Parameter::Value<String>",
        "Default": "/cdk-bootstrap/hnb659fds/version"}},
        "Resources": {"C": {"Type": "AWS::ECS::Cluster"}}}
    with pytest.raises(ClientError) as error:
        cfn.create_stack(StackName="cdk", TemplateBody=json.dumps(body))
    assert error.value.response["Error"]["Code"] == "ValidationError"
    assert "/cdk-bootstrap/hnb659fds/version" in error.value.response["Error"]["Message"]


STACK_ESCAPE = r'''
import json, boto3
cfn = boto3.client("cloudformation")
body = {"Resources": {"Escape": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
    "ContainerDefinitions": [{"Name": "x", "Image": "busybox", "Memory": 32,
                              "Privileged": True}]}}}}
cfn.create_stack(StackName="escape", TemplateBody=json.dumps(body))
status = cfn.describe_stacks(StackName="escape")["Stacks"][0]["StackStatus"]
failed = [e["ResourceStatusReason"] for e in cfn.describe_stack_events(StackName="escape")[
    "StackEvents"] if e["ResourceStatus"] == "CREATE_FAILED"]
print("STACK", status, failed, flush=True)
'''


def test_a_tasks_stack_may_not_reach_the_host_either(clean_emulator, python_image,
                                                     docker_client):
    """The host-access rule of calls from containers holds for the resources of their stacks."""
    from tests.test_task_metadata import output_of, register, run, stop

    ecs = clean_emulator.client("ecs")
    ecs.create_cluster(clusterName="work")
    definition = register(ecs, {
        "name": "app", "image": python_image, "memory": 128,
        "command": ["sh", "-c", 'python3 -c "$SCRIPT"; sleep 300'],
        "environment": [{"name": "SCRIPT", "value": STACK_ESCAPE},
                        {"name": "AWS_ACCESS_KEY_ID", "value": "test"},
                        {"name": "AWS_SECRET_ACCESS_KEY", "value": "test"}]}, family="attacker")
    arn = run(ecs, "work", definition)
    printed = output_of(docker_client, arn, "app", "STACK", timeout=120)
    assert "STACK ROLLBACK_COMPLETE" in printed, printed
    assert "AccessDeniedException" in printed and "privileged" in printed, printed
    assert ecs.list_task_definition_families()["families"] == ["attacker"]
    stop(ecs, "work", arn, docker_client)
