"""ECS_EMULATOR_ENFORCE_IAM and CloudFormation: a stack acts with its caller's rights
(access/iam_stacks.py), so cloudformation:CreateStack alone makes nothing the caller could not
make by hand. An emulator of its own, with the setting on; no containers run.
"""

from __future__ import annotations

import json

import pytest

from emulator.config import Settings
from emulator.pytest_plugin import running_emulator
from tests.test_iam_enforcement import ACCOUNT, allow, user_with

STACK_CALLS = ("cloudformation:CreateStack", "cloudformation:DescribeStacks",
               "cloudformation:DescribeStackEvents")
ADMIN = {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
EXECUTION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/exec"


@pytest.fixture(scope="module")
def enforced():
    with running_emulator(Settings(host="127.0.0.1", port=0, strict_responses=True,
                                   enforce_iam=True)) as handle:
        yield handle


@pytest.fixture
def handle(enforced):
    enforced.reset()
    return enforced


def create(handle, keys, name: str, resources: dict, outputs: dict | None = None) -> dict:
    """Create a stack as the user of `keys`; the stack as DescribeStacks tells it, and its
    failed resources' reasons by logical id."""
    cloudformation = handle.client("cloudformation", **keys)
    template = {"Resources": resources, "Outputs": outputs or {}}
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    events = cloudformation.describe_stack_events(StackName=name)["StackEvents"]
    failed = {e["LogicalResourceId"]: e.get("ResourceStatusReason", "") for e in events
              if e["ResourceStatus"] == "CREATE_FAILED"}
    return {"status": stack["StackStatus"], "outputs": stack.get("Outputs", []),
            "failed": failed}


def test_create_stack_alone_is_not_iam_admin(handle):
    """The reviewer's attack: a user allowed only to create and read stacks makes an IAM user
    with every right, and its access key, and reads the secret from the outputs."""
    keys = user_with(handle, "low", allow(*STACK_CALLS))
    stack = create(handle, keys, "pwn", {
        "Pwn": {"Type": "AWS::IAM::User", "Properties": {
            "UserName": "pwn", "Policies": [{"PolicyName": "all", "PolicyDocument": ADMIN}]}},
        "Key": {"Type": "AWS::IAM::AccessKey", "Properties": {"UserName": {"Ref": "Pwn"}}},
    }, outputs={"Secret": {"Value": {"Fn::GetAtt": ["Key", "SecretAccessKey"]}}})
    assert stack["status"] == "ROLLBACK_COMPLETE" and stack["outputs"] == []
    (reason,) = stack["failed"].values()
    assert (f"User: arn:aws:iam::{ACCOUNT}:user/low is not authorized to perform: "
            f"iam:CreateUser on resource: arn:aws:iam::{ACCOUNT}:user/pwn") in reason
    assert "AccessDeniedException" in reason
    iam = handle.client("iam")  # the host's root view
    assert [u["UserName"] for u in iam.list_users()["Users"]] == ["low"]
    # Allowed to make a user but not to give it a policy: still refused.
    keys = user_with(handle, "half", allow(*STACK_CALLS, "iam:CreateUser"))
    stack = create(handle, keys, "half", {"Pwn": {"Type": "AWS::IAM::User", "Properties": {
        "UserName": "pwn", "Policies": [{"PolicyName": "all", "PolicyDocument": ADMIN}]}}})
    assert "iam:PutUserPolicy" in stack["failed"]["Pwn"]
    assert sorted(u["UserName"] for u in iam.list_users()["Users"]) == ["half", "low"]


def test_a_stacks_ecs_resources_and_passed_roles_need_the_callers_rights(handle):
    handle.client("iam").create_role(RoleName="exec", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "ecs-tasks.amazonaws.com"}}]}))
    resources = {
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/app"}},
        "Definition": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "Family": "app", "ExecutionRoleArn": EXECUTION_ROLE, "ContainerDefinitions": [
                {"Name": "app", "Image": "busybox", "Memory": 32}]}},
    }
    # Without iam:PassRole the definition (checked as the caller's own
    # RegisterTaskDefinition) fails, and the log group made before it is rolled back.
    keys = user_with(handle, "deployer", allow(*STACK_CALLS, "logs:CreateLogGroup",
                                               "logs:DeleteLogGroup", "ecs:*"))
    stack = create(handle, keys, "app", resources)
    assert stack["status"] == "ROLLBACK_COMPLETE"
    assert f"iam:PassRole on resource: {EXECUTION_ROLE}" in stack["failed"]["Definition"]
    assert handle.client("ecs").list_task_definitions()["taskDefinitionArns"] == []
    assert handle.client("logs").describe_log_groups()["logGroups"] == []
    # With it, the same stack stands.
    keys = user_with(handle, "trusted", allow(*STACK_CALLS, "logs:CreateLogGroup", "ecs:*",
                                              "iam:PassRole"))
    assert create(handle, keys, "app2", resources)["status"] == "CREATE_COMPLETE"
    assert [g["logGroupName"] for g in handle.client("logs").describe_log_groups()[
        "logGroups"]] == ["/app"]
    # A Lambda function hands its role to Lambda: iam:PassRole on it too.
    keys = user_with(handle, "coder", allow(*STACK_CALLS, "lambda:CreateFunction"))
    stack = create(handle, keys, "fn", {"Fn": {"Type": "AWS::Lambda::Function", "Properties": {
        "FunctionName": "fn", "Runtime": "python3.12", "Handler": "index.handler",
        "Role": EXECUTION_ROLE, "Code": {"ZipFile": "def handler(e, c): return e"}}}})
    assert f"iam:PassRole on resource: {EXECUTION_ROLE}" in stack["failed"]["Fn"]


def test_a_deny_on_one_iam_user_holds_in_a_stack(handle):
    """The reviewer's case: allowed iam:* but denied admin's keys, a caller made them in a stack
    (AWS::IAM::AccessKey checked on `*`). Now on the user's ARN, its path included."""
    handle.client("iam").create_user(UserName="admin", Path="/ops/")
    admin = f"arn:aws:iam::{ACCOUNT}:user/ops/admin"
    keys = user_with(handle, "dev", json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": [*STACK_CALLS, "iam:*"], "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:CreateAccessKey", "Resource": admin}]}))
    stack = create(handle, keys, "keys", {
        "Key": {"Type": "AWS::IAM::AccessKey", "Properties": {"UserName": "admin"}}})
    assert stack["status"] == "ROLLBACK_COMPLETE"
    assert f"iam:CreateAccessKey on resource: {admin}" in stack["failed"]["Key"]
    assert handle.client("iam").list_access_keys(UserName="admin")["AccessKeyMetadata"] == []
    # Another user's keys are the caller's to make.
    stack = create(handle, keys, "own", {
        "Bot": {"Type": "AWS::IAM::User", "Properties": {"UserName": "bot"}},
        "Key": {"Type": "AWS::IAM::AccessKey", "Properties": {"UserName": {"Ref": "Bot"}}}})
    assert stack["status"] == "CREATE_COMPLETE"


def test_deleting_a_stacks_iam_resources_needs_the_callers_rights(handle):
    """cloudformation:DeleteStack alone deleted the IAM users (and keys) a stack had made."""
    root = handle.client("cloudformation")
    root.create_stack(StackName="team", TemplateBody=json.dumps({"Resources": {
        "Admin": {"Type": "AWS::IAM::User", "Properties": {"UserName": "boss"}},
        "Key": {"Type": "AWS::IAM::AccessKey", "Properties": {"UserName": {"Ref": "Admin"}}}}}))
    keys = user_with(handle, "intern", allow(*STACK_CALLS, "cloudformation:DeleteStack"))
    handle.client("cloudformation", **keys).delete_stack(StackName="team")
    stack = root.describe_stacks(StackName="team")["Stacks"][0]
    assert stack["StackStatus"] == "DELETE_FAILED"
    (reason,) = [e["ResourceStatusReason"] for e in root.describe_stack_events(
        StackName="team")["StackEvents"] if e["ResourceStatus"] == "DELETE_FAILED"]
    assert (f"User: arn:aws:iam::{ACCOUNT}:user/intern is not authorized to perform: "
            "iam:Delete") in reason
    iam = handle.client("iam")
    assert len(iam.list_access_keys(UserName="boss")["AccessKeyMetadata"]) == 1
    root.delete_stack(StackName="team")  # the host's root may
    assert "boss" not in [u["UserName"] for u in iam.list_users()["Users"]]


def test_iam_resources_are_checked_on_the_arns_they_act_on():
    from types import SimpleNamespace

    from emulator.access import iam_stacks

    ctx = SimpleNamespace(partition="aws", account="111122223333")
    existing = {("user", "admin"): "arn:aws:iam::111122223333:user/ops/admin"}

    def checks(kind, **properties):
        return iam_stacks.checks(kind, properties, ctx, lambda k, n: existing.get((k, n)))

    arn = "arn:aws:iam::111122223333:"
    assert checks("AWS::IAM::AccessKey", UserName="admin") == [
        ("iam:CreateAccessKey", f"{arn}user/ops/admin")]
    assert checks("AWS::IAM::UserToGroupAddition", GroupName="admins", Users=["dev"]) == [
        ("iam:AddUserToGroup", f"{arn}group/admins")]
    assert checks("AWS::IAM::User", UserName="u", Path="/x/", Groups=["admins"],
                  Policies=[{}]) == [
        ("iam:CreateUser", f"{arn}user/x/u"), ("iam:PutUserPolicy", f"{arn}user/x/u"),
        ("iam:AddUserToGroup", f"{arn}group/admins")]
    assert checks("AWS::IAM::Policy", Roles=["r"], Users=["admin"], Groups=["g"]) == [
        ("iam:PutUserPolicy", f"{arn}user/ops/admin"), ("iam:PutRolePolicy", f"{arn}role/r"),
        ("iam:PutGroupPolicy", f"{arn}group/g")]
    assert checks("AWS::IAM::ManagedPolicy", ManagedPolicyName="p", Roles=[f"{arn}role/r"]) == [
        ("iam:CreatePolicy", f"{arn}policy/p"), ("iam:AttachRolePolicy", f"{arn}role/r")]
    assert checks("AWS::IAM::Role", RoleName="r", ManagedPolicyArns=["x"]) == [
        ("iam:CreateRole", f"{arn}role/r"), ("iam:AttachRolePolicy", f"{arn}role/r")]
    assert checks("AWS::IAM::InstanceProfile", InstanceProfileName="ip", Roles=["r"]) == [
        ("iam:CreateInstanceProfile", f"{arn}instance-profile/ip"),
        ("iam:AddRoleToInstanceProfile", f"{arn}instance-profile/ip"),
        ("iam:PassRole", f"{arn}role/r")]
    # A name the stack makes up is a new resource: `*`, as before.
    assert checks("AWS::IAM::Group") == [("iam:CreateGroup", "*")]
    # Deleting (moto's resources): on the same ARNs; other types' deletes are not checked.
    deleting = iam_stacks.delete_checks
    assert deleting("AWS::IAM::User", SimpleNamespace(arn=f"{arn}user/u"), ctx) == [
        ("iam:DeleteUser", f"{arn}user/u")]
    assert deleting("AWS::IAM::AccessKey", SimpleNamespace(user_name="admin"), ctx,
                    lambda k, n: existing.get((k, n))) == [
        ("iam:DeleteAccessKey", f"{arn}user/ops/admin")]
    assert deleting("AWS::IAM::Policy", SimpleNamespace(
        user_names=["a"], role_names=["r"], group_names=[]), ctx) == [
        ("iam:DeleteUserPolicy", f"{arn}user/a"), ("iam:DeleteRolePolicy", f"{arn}role/r")]
    assert deleting("AWS::SQS::Queue", SimpleNamespace(), ctx) == []


def test_a_resource_type_with_no_known_actions_is_refused(handle):
    keys = user_with(handle, "anything", json.dumps(ADMIN))
    stack = create(handle, keys, "odd", {"Model": {"Type": "AWS::SageMaker::Model", "Properties": {
        "ExecutionRoleArn": EXECUTION_ROLE, "PrimaryContainer": {"Image": "busybox"}}}})
    assert stack["status"] == "ROLLBACK_COMPLETE"
    assert ("The resource type AWS::SageMaker::Model has no IAM actions known to this emulator"
            in stack["failed"]["Model"])
    # The host's root (keys IAM does not know) is not checked, as for its own calls.
    root = handle.client("cloudformation")
    root.create_stack(StackName="root", TemplateBody=json.dumps({"Resources": {
        "Pwn": {"Type": "AWS::IAM::User", "Properties": {"UserName": "made-by-root"}}}}))
    assert root.describe_stacks(StackName="root")["Stacks"][0]["StackStatus"] == \
        "CREATE_COMPLETE"
