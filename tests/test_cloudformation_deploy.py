"""`aws cloudformation deploy` (the AWS CLI) and change sets through boto3, with a template as a
new user writes it (VPC, subnet, log group, role, cluster, Fargate task definition, service);
template URLs at the emulator's own S3."""

import json
import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker

AWS_CLI = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "aws"
SERVE = ["sh", "-c", "trap 'exit 0' TERM; echo up; while true; do sleep 1; done"]


def plain_template(image: str) -> dict:
    return {
        "Parameters": {"DesiredCount": {"Type": "Number", "Default": 2}},
        "Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
            "Subnet": {"Type": "AWS::EC2::Subnet", "Properties": {
                "VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.1.0/24"}},
            "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/cfn/web"}},
            "ExecutionRole": {"Type": "AWS::IAM::Role", "Properties": {
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                    "Action": "sts:AssumeRole"}]}}},
            "Cluster": {"Type": "AWS::ECS::Cluster"},
            "TaskDef": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
                "NetworkMode": "awsvpc", "RequiresCompatibilities": ["FARGATE"],
                "Cpu": "256", "Memory": "512",
                "ExecutionRoleArn": {"Fn::GetAtt": ["ExecutionRole", "Arn"]},
                "ContainerDefinitions": [{
                    "Name": "web", "Image": image, "Command": SERVE, "Essential": True,
                    "LogConfiguration": {"LogDriver": "awslogs", "Options": {
                        "awslogs-group": {"Ref": "Logs"}, "awslogs-region": {"Ref": "AWS::Region"},
                        "awslogs-stream-prefix": "web"}}}]}},
            "Service": {"Type": "AWS::ECS::Service", "Properties": {
                "Cluster": {"Ref": "Cluster"}, "TaskDefinition": {"Ref": "TaskDef"},
                "LaunchType": "FARGATE", "DesiredCount": {"Ref": "DesiredCount"},
                "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": [{"Ref": "Subnet"}]}}}},
        },
        "Outputs": {"ClusterName": {"Value": {"Ref": "Cluster"}},
                    "ServiceName": {"Value": {"Fn::GetAtt": ["Service", "Name"]}}},
    }


def aws(handle, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": handle.endpoint_url}
    return subprocess.run([str(AWS_CLI), *args], env=env, capture_output=True, text=True,
                          timeout=180)


def outputs(cfn, stack):
    found = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}


def running(ecs, cluster, service):
    return ecs.describe_services(cluster=cluster, services=[service])["services"][0]["runningCount"]


def test_aws_cloudformation_deploy_update_and_delete(clean_emulator, busybox_image, tmp_path,
                                                     docker_client):
    cfn, ecs = clean_emulator.client("cloudformation"), clean_emulator.client("ecs")
    path = tmp_path / "template.json"
    path.write_text(json.dumps(plain_template(busybox_image)))
    deployed = aws(clean_emulator, "cloudformation", "deploy", "--stack-name", "plain",
                   "--template-file", str(path), "--capabilities", "CAPABILITY_IAM")
    assert deployed.returncode == 0, deployed.stderr
    out = outputs(cfn, "plain")
    assert running(ecs, out["ClusterName"], out["ServiceName"]) == 2
    task = ecs.describe_tasks(cluster=out["ClusterName"], tasks=ecs.list_tasks(
        cluster=out["ClusterName"])["taskArns"][:1])["tasks"][0]
    assert task["launchType"] == "FARGATE" and task["lastStatus"] == "RUNNING"

    updated = aws(clean_emulator, "cloudformation", "deploy", "--stack-name", "plain",
                  "--template-file", str(path), "--parameter-overrides", "DesiredCount=3")
    assert updated.returncode == 0, updated.stderr
    assert running(ecs, out["ClusterName"], out["ServiceName"]) == 3
    assert outputs(cfn, "plain") == out  # in place: the same service

    tasks = ecs.list_tasks(cluster=out["ClusterName"])["taskArns"]
    deleted = aws(clean_emulator, "cloudformation", "delete-stack", "--stack-name", "plain")
    assert deleted.returncode == 0, deleted.stderr
    assert ecs.list_clusters()["clusterArns"] == []
    assert [c for arn in tasks for c in docker_client.containers.list(
        all=True, filters={"label": f"ecs-emulator.task-arn={arn}"})] == []


def test_change_sets_create_update_and_delete(clean_emulator, busybox_image):
    cfn, ecs = clean_emulator.client("cloudformation"), clean_emulator.client("ecs")
    body = json.dumps(plain_template(busybox_image))
    cfn.create_change_set(StackName="cs", ChangeSetName="first", ChangeSetType="CREATE",
                          TemplateBody=body, Parameters=[
                              {"ParameterKey": "DesiredCount", "ParameterValue": "1"}])
    described = cfn.describe_change_set(StackName="cs", ChangeSetName="first")
    assert {c["ResourceChange"]["LogicalResourceId"] for c in described["Changes"]} >= {
        "Cluster", "TaskDef", "Service"}
    assert ecs.list_clusters()["clusterArns"] == []  # nothing happens before execution
    cfn.execute_change_set(StackName="cs", ChangeSetName="first")
    assert cfn.describe_stacks(StackName="cs")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    out = outputs(cfn, "cs")
    assert running(ecs, out["ClusterName"], out["ServiceName"]) == 1

    cfn.create_change_set(StackName="cs", ChangeSetName="second", ChangeSetType="UPDATE",
                          TemplateBody=body, Parameters=[
                              {"ParameterKey": "DesiredCount", "ParameterValue": "2"}])
    cfn.create_change_set(StackName="cs", ChangeSetName="dropped", ChangeSetType="UPDATE",
                          TemplateBody=body, Parameters=[
                              {"ParameterKey": "DesiredCount", "ParameterValue": "0"}])
    cfn.delete_change_set(StackName="cs", ChangeSetName="dropped")
    cfn.execute_change_set(StackName="cs", ChangeSetName="second")
    assert cfn.describe_stacks(StackName="cs")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    assert running(ecs, out["ClusterName"], out["ServiceName"]) == 2
    cfn.delete_stack(StackName="cs")
    assert ecs.list_clusters()["clusterArns"] == []


def test_failed_update_rolls_back_to_the_previous_template(clean_emulator, busybox_image):
    cfn, ecs = clean_emulator.client("cloudformation"), clean_emulator.client("ecs")
    template = plain_template(busybox_image)
    cfn.create_stack(StackName="upd", TemplateBody=json.dumps(template),
                     Parameters=[{"ParameterKey": "DesiredCount", "ParameterValue": "1"}])
    out = outputs(cfn, "upd")
    template["Resources"]["Service"]["Properties"]["TaskDefinition"] = "no-such-family:7"
    cfn.update_stack(StackName="upd", TemplateBody=json.dumps(template),
                     Parameters=[{"ParameterKey": "DesiredCount", "ParameterValue": "2"}])
    stack = cfn.describe_stacks(StackName="upd")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    events = cfn.describe_stack_events(StackName="upd")["StackEvents"]
    failed = [e for e in events if e["ResourceStatus"] == "UPDATE_FAILED"]
    assert failed and failed[0]["LogicalResourceId"] == "Service"
    assert running(ecs, out["ClusterName"], out["ServiceName"]) == 1
    cfn.delete_stack(StackName="upd")


def test_template_urls_at_the_emulators_own_s3(clean_emulator):
    cfn, s3 = clean_emulator.client("cloudformation"), clean_emulator.client("s3")
    s3.create_bucket(Bucket="templates")
    body = {"Resources": {"Cluster": {"Type": "AWS::ECS::Cluster"},
                          "Unmodelled": {"Type": "AWS::CDK::Metadata"}}}
    s3.put_object(Bucket="templates", Key="dir/t.json", Body=json.dumps(body).encode())
    port = clean_emulator.endpoint_url.rsplit(":", 1)[1]
    urls = {"path": f"{clean_emulator.endpoint_url}/templates/dir/t.json",
            "virtual": f"http://templates.localhost:{port}/dir/t.json",
            "aws": "https://templates.s3.us-east-1.amazonaws.com/dir/t.json"}
    for style, url in urls.items():
        cfn.create_stack(StackName=f"url-{style}", TemplateURL=url)
        assert cfn.describe_stacks(StackName=f"url-{style}")["Stacks"][0][
            "StackStatus"] == "CREATE_COMPLETE"
        found = cfn.describe_stack_resources(StackName=f"url-{style}", LogicalResourceId="Cluster")
        assert len(found["StackResources"]) == 1
        assert cfn.describe_stack_resources(StackName=f"url-{style}",
                                            LogicalResourceId="Unmodelled")["StackResources"] == []
        cfn.delete_stack(StackName=f"url-{style}")
    missing = f"{clean_emulator.endpoint_url}/templates/nothing.json"
    with pytest.raises(cfn.exceptions.ClientError) as error:
        cfn.create_stack(StackName="url-missing", TemplateURL=missing)
    assert error.value.response["Error"]["Code"] == "ValidationError"


def test_change_set_that_does_not_exist_is_change_set_not_found(clean_emulator):
    cfn = clean_emulator.client("cloudformation")
    for call in (cfn.delete_change_set, cfn.describe_change_set):
        with pytest.raises(cfn.exceptions.ChangeSetNotFoundException) as error:
            call(StackName="nothing", ChangeSetName="cdk-diff-change-set")
        assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_a_deploy_again_with_nothing_new_is_no_changes(clean_emulator, tmp_path):
    """The CLI sends UsePreviousValue for each parameter it does not override, and takes only a
    FAILED change set with CloudFormation's "didn't contain changes" reason as nothing to do
    (exit 0 under --no-fail-on-empty-changeset); defaults, a Number and a list included."""
    cfn = clean_emulator.client("cloudformation")
    path = tmp_path / "template.json"
    path.write_text(json.dumps({
        "Parameters": {"Env": {"Type": "String", "Default": "dev"},
                       "Size": {"Type": "Number", "Default": 3},
                       "Zones": {"Type": "CommaDelimitedList", "Default": "a,b"}},
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}))
    deploy = ["cloudformation", "deploy", "--stack-name", "again", "--template-file", str(path),
              "--no-fail-on-empty-changeset"]
    for overrides in ([], [], ["--parameter-overrides", "Size=5"], []):
        done = aws(clean_emulator, *deploy, *overrides)
        assert done.returncode == 0, done.stderr
    assert "No changes to deploy" in done.stdout
    stack = cfn.describe_stacks(StackName="again")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}["Size"] == "5"
    last = cfn.list_change_sets(StackName="again")["Summaries"][-1]
    assert (last["Status"], last["StatusReason"]) == ("FAILED", (
        "The submitted information didn't contain changes. Submit different information to "
        "create a change set."))
