"""ECS_EMULATOR_ENFORCE_IAM and CloudFormation: a stack acts with its caller's rights
(access/iam_stacks.py), so cloudformation:CreateStack alone makes nothing the caller could not
make by hand. An emulator of its own, with the setting on; no containers run.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

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
    failed = events_of(handle, "team", "DELETE_FAILED")
    assert (f"User: arn:aws:iam::{ACCOUNT}:user/intern is not authorized to perform: "
            f"iam:DeleteAccessKey on resource: arn:aws:iam::{ACCOUNT}:user/boss") in failed["Key"]
    # The user the key refers to is deleted after it, as CloudFormation orders a delete: with
    # the key refused, the user is never tried (and stays).
    assert "Admin" not in failed
    iam = handle.client("iam")
    assert len(iam.list_access_keys(UserName="boss")["AccessKeyMetadata"]) == 1
    assert "boss" in [u["UserName"] for u in iam.list_users()["Users"]]
    root.delete_stack(StackName="team")  # the host's root may
    assert "boss" not in [u["UserName"] for u in iam.list_users()["Users"]]


def test_iam_resources_are_checked_on_the_arns_they_act_on():
    from types import SimpleNamespace

    from emulator.access import iam_stacks

    ctx = SimpleNamespace(partition="aws", account="111122223333", region="us-east-1")
    existing = {("user", "admin"): "arn:aws:iam::111122223333:user/ops/admin"}

    def checks(kind, **properties):
        return iam_stacks.checks(kind, properties, ctx, lambda k, n: existing.get((k, n)))

    def checks_named(kind, name):
        return iam_stacks.checks(kind, {}, ctx, name=name)

    arn = "arn:aws:iam::111122223333:"
    # A name a template can spell never passes for a value the update's check cannot know.
    assert checks("AWS::IAM::User", UserName="ops\x00unknown") == [
        ("iam:CreateUser", f"{arn}user/ops\x00unknown")]
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
    # No name known: `*`.
    assert checks("AWS::IAM::Group") == [("iam:CreateGroup", "*")]
    # Deleting: on the same ARNs, and every other type's delete too, on its ARN.
    deleting = iam_stacks.delete_checks
    assert deleting("AWS::IAM::User", SimpleNamespace(arn=f"{arn}user/u"), ctx) == [
        ("iam:DeleteUser", f"{arn}user/u")]
    assert deleting("AWS::IAM::AccessKey", SimpleNamespace(user_name="admin"), ctx,
                    lambda k, n: existing.get((k, n))) == [
        ("iam:DeleteAccessKey", f"{arn}user/ops/admin")]
    assert deleting("AWS::IAM::Policy", SimpleNamespace(
        user_names=["a"], role_names=["r"], group_names=[]), ctx) == [
        ("iam:DeleteUserPolicy", f"{arn}user/a"), ("iam:DeleteRolePolicy", f"{arn}role/r")]
    queue = "https://sqs.us-east-1.amazonaws.com/111122223333/jobs"
    assert deleting("AWS::SQS::Queue", SimpleNamespace(physical_resource_id=queue), ctx) == [
        ("sqs:DeleteQueue", "arn:aws:sqs:us-east-1:111122223333:jobs")]
    assert deleting("AWS::SSM::Parameter", SimpleNamespace(physical_resource_id="/app/k"),
                    ctx) == [("ssm:DeleteParameter",
                              "arn:aws:ssm:us-east-1:111122223333:parameter/app/k")]
    assert deleting("AWS::ECS::TaskSet", SimpleNamespace(attributes={
        "Cluster": "arn:aws:ecs:us-east-1:111122223333:cluster/c", "Service": "web"}), ctx) == [
        ("ecs:DeleteTaskSet", "arn:aws:ecs:us-east-1:111122223333:service/c/web")]
    assert deleting("AWS::EC2::VPC", SimpleNamespace(physical_resource_id="vpc-1"), ctx) == [
        ("ec2:DeleteVpc", "*")]
    assert deleting("AWS::CDK::Metadata", None, ctx) == []
    assert deleting("AWS::SageMaker::Model", None, ctx) is None  # refused, as its create
    # Other types' creates are on the ARN of their name (given, or made up by the stack).
    assert checks_named("AWS::Logs::LogGroup", "app-Logs-X1") == [
        ("logs:CreateLogGroup", "arn:aws:logs:us-east-1:111122223333:log-group:app-Logs-X1:*")]
    assert checks_named("AWS::IAM::Role", "app-Role-X1") == [
        ("iam:CreateRole", f"{arn}role/app-Role-X1")]
    assert checks_named("AWS::EC2::VPC", None) == [("ec2:CreateVpc", "*")]


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


def events_of(handle, name: str, status: str) -> dict:
    """Logical id -> reason, of the stack's events of that status."""
    events = handle.client("cloudformation").describe_stack_events(StackName=name)["StackEvents"]
    return {e["LogicalResourceId"]: e.get("ResourceStatusReason", "") for e in events
            if e["ResourceStatus"] == status}


def test_deleting_any_stack_resource_needs_the_callers_delete_action(handle):
    """cloudformation:DeleteStack alone deleted a stack's log groups, clusters...: each needs
    its delete action, on its ARN; a refused one stays, DELETE_FAILED, and so does the stack."""
    root = handle.client("cloudformation")
    root.create_stack(StackName="ops", TemplateBody=json.dumps({"Resources": {
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/ops"}},
        "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "ops"}}}}))
    keys = user_with(handle, "intern", allow(*STACK_CALLS, "cloudformation:DeleteStack"))
    handle.client("cloudformation", **keys).delete_stack(StackName="ops")
    assert root.describe_stacks(StackName="ops")["Stacks"][0]["StackStatus"] == "DELETE_FAILED"
    failed = events_of(handle, "ops", "DELETE_FAILED")
    assert failed["ops"] == "The following resource(s) failed to delete: [Cluster, Logs]. "
    assert (f"logs:DeleteLogGroup on resource: arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/ops:*"
            in failed["Logs"])
    assert "AccessDeniedException" in failed["Logs"]
    assert f"ecs:DeleteCluster on resource: arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/ops" in \
        failed["Cluster"]
    logs = handle.client("logs")
    assert [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]] == ["/ops"]
    assert handle.client("ecs").describe_clusters(clusters=["ops"])["clusters"][0][
        "status"] == "ACTIVE"
    # Allowed the deletes (on these ARNs), the caller deletes the stack.
    keys = user_with(handle, "admin", json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": [*STACK_CALLS, "cloudformation:DeleteStack"],
         "Resource": "*"},
        {"Effect": "Allow", "Action": ["logs:DeleteLogGroup", "ecs:DeleteCluster"], "Resource": [
            f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/ops:*",
            f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/ops"]}]}))
    handle.client("cloudformation", **keys).delete_stack(StackName="ops")
    assert logs.describe_log_groups()["logGroups"] == []
    assert "ops" not in [s["StackName"] for s in root.list_stacks(
        StackStatusFilter=["DELETE_FAILED", "CREATE_COMPLETE"])["StackSummaries"]]


def test_an_update_is_checked_as_a_whole_before_it_removes_anything(handle):
    """An update that removes a log group and adds a user the caller may not make: the log
    group was deleted before the user was refused (and the rollback could not make it again).
    Now nothing changes; and a refusal only known when a resource is made (its key names the
    user the update adds) still comes before the removal, which runs last."""
    root = handle.client("cloudformation")
    root.create_stack(StackName="svc", TemplateBody=json.dumps({"Resources": {
        "Old": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/old"}}}}))
    keys = user_with(handle, "deployer", allow(
        *STACK_CALLS, "cloudformation:UpdateStack", "logs:DeleteLogGroup", "iam:DeleteUser"))
    cloudformation = handle.client("cloudformation", **keys)

    def update(resources: dict) -> str:
        cloudformation.update_stack(StackName="svc",
                                    TemplateBody=json.dumps({"Resources": resources}))
        return root.describe_stacks(StackName="svc")["Stacks"][0]["StackStatus"]

    assert update({"Bot": {"Type": "AWS::IAM::User", "Properties": {"UserName": "bot"}}}) == \
        "UPDATE_ROLLBACK_COMPLETE"
    assert f"iam:CreateUser on resource: arn:aws:iam::{ACCOUNT}:user/bot" in events_of(
        handle, "svc", "CREATE_FAILED")["Bot"]
    logs = handle.client("logs")
    assert [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]] == ["/old"]
    # Allowed to make the user but not its key, which names the user the update makes.
    handle.client("iam").put_user_policy(UserName="deployer", PolicyName="users",
                                         PolicyDocument=allow("iam:CreateUser"))
    assert update({
        "Bot": {"Type": "AWS::IAM::User", "Properties": {"UserName": "bot"}},
        "Key": {"Type": "AWS::IAM::AccessKey", "Properties": {"UserName": {"Ref": "Bot"}}},
    }) == "UPDATE_ROLLBACK_COMPLETE"
    assert f"iam:CreateAccessKey on resource: arn:aws:iam::{ACCOUNT}:user/bot" in events_of(
        handle, "svc", "CREATE_FAILED")["Key"]
    assert [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]] == ["/old"]
    assert "bot" not in [u["UserName"] for u in handle.client("iam").list_users()["Users"]]
    # Allowed everything it does, the update stands and the log group goes.
    assert update({"Bot": {"Type": "AWS::IAM::User", "Properties": {"UserName": "bot"}}}) == \
        "UPDATE_COMPLETE"
    assert logs.describe_log_groups()["logGroups"] == []


def test_names_a_stack_makes_up_are_checked_on_the_arns_they_will_have(handle):
    """A user, log group and repository the template does not name: allowed on the stack's
    prefix only, the stack stands (checked on `*` before, it was refused); a Deny on the
    prefix holds."""
    resources = {"Bot": {"Type": "AWS::IAM::User", "Properties": {}},
                 "Crew": {"Type": "AWS::IAM::Group", "Properties": {}},  # moto knows no name
                 "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {}},
                 "Repo": {"Type": "AWS::ECR::Repository", "Properties": {}}}
    keys = user_with(handle, "team", json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": STACK_CALLS, "Resource": "*"},
        {"Effect": "Allow", "Action": ["iam:CreateUser", "iam:CreateGroup",
                                       "logs:CreateLogGroup", "ecr:CreateRepository"],
         "Resource": [f"arn:aws:iam::{ACCOUNT}:user/team-*",
                      f"arn:aws:iam::{ACCOUNT}:group/team-*",
                      f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:team-*",
                      f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/team-*"]}]}))
    stack = create(handle, keys, "team", resources)
    assert stack["status"] == "CREATE_COMPLETE", stack["failed"]
    assert [u["UserName"] for u in handle.client("iam").list_users()["Users"]
            if u["UserName"].startswith("team-Bot-")]
    # Out of the prefix: refused on the made-up name's ARN.
    stack = create(handle, keys, "other", {"Bot": resources["Bot"]})
    assert stack["status"] == "ROLLBACK_COMPLETE"
    assert f"iam:CreateUser on resource: arn:aws:iam::{ACCOUNT}:user/other-Bot-" in \
        stack["failed"]["Bot"]
    keys = user_with(handle, "nearly", json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": [*STACK_CALLS, "iam:*"], "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:CreateUser",
         "Resource": f"arn:aws:iam::{ACCOUNT}:user/admins-*"}]}))
    stack = create(handle, keys, "admins", {"Bot": resources["Bot"]})
    assert stack["status"] == "ROLLBACK_COMPLETE"
    assert "with an explicit deny" in stack["failed"]["Bot"]


def test_an_ssm_parameter_the_template_names_none_is_checked_on_the_name_it_gets(handle):
    """Named as AWS's handler names it (CFN-<logical id>-<random>), not after the stack: the
    check is on that name's ARN, so a right on CFN-* makes it, and one on <stack>-* does not."""
    def keys_on(user: str, prefix: str) -> dict:
        return user_with(handle, user, json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": STACK_CALLS, "Resource": "*"},
            {"Effect": "Allow", "Action": "ssm:*",
             "Resource": f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/{prefix}*"}]}))

    resources = {"Secret": {"Type": "AWS::SSM::Parameter",
                            "Properties": {"Type": "String", "Value": "v"}}}
    stack = create(handle, keys_on("cfn", "CFN-Secret-"), "params", resources)
    assert stack["status"] == "CREATE_COMPLETE", stack["failed"]
    (made,) = handle.client("ssm").describe_parameters()["Parameters"]
    assert made["Name"].startswith("CFN-Secret-")
    stack = create(handle, keys_on("stacky", "mine-"), "mine", resources)
    assert stack["status"] == "ROLLBACK_COMPLETE"
    assert (f"ssm:PutParameter on resource: arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/CFN-Secret-"
            in stack["failed"]["Secret"])


def test_an_update_that_replaces_a_resource_needs_its_delete_action(handle):
    """moto updates an access key by making a new one and deleting the old one itself: that
    delete needs iam:DeleteAccessKey like any other."""
    root = handle.client("cloudformation")
    resources = {"Bob": {"Type": "AWS::IAM::User", "Properties": {"UserName": "bob"}},
                 "Key": {"Type": "AWS::IAM::AccessKey", "Properties": {"UserName": "bob"}}}
    root.create_stack(StackName="keys", TemplateBody=json.dumps({"Resources": resources}))
    iam = handle.client("iam")
    (before,) = iam.list_access_keys(UserName="bob")["AccessKeyMetadata"]
    keys = user_with(handle, "rotator", allow(*STACK_CALLS, "cloudformation:UpdateStack",
                                              "iam:CreateUser", "iam:CreateAccessKey"))
    resources["Key"]["Properties"]["Status"] = "Inactive"
    handle.client("cloudformation", **keys).update_stack(
        StackName="keys", TemplateBody=json.dumps({"Resources": resources}))
    assert root.describe_stacks(StackName="keys")["Stacks"][0]["StackStatus"] == \
        "UPDATE_ROLLBACK_COMPLETE"
    assert f"iam:DeleteAccessKey on resource: arn:aws:iam::{ACCOUNT}:user/bob" in events_of(
        handle, "keys", "UPDATE_FAILED")["Key"]
    assert iam.list_access_keys(UserName="bob")["AccessKeyMetadata"] == [before]


def test_an_in_place_update_refused_rolls_back_complete(handle):
    """The caller may not change the cluster: its in-place update is refused before anything
    changed, so the rollback has nothing to undo (and is not refused in turn)."""
    root = handle.client("cloudformation")
    resources = {"Ops": {"Type": "AWS::ECS::Cluster", "Properties": {
        "ClusterName": "ops", "ClusterSettings": [{"Name": "containerInsights",
                                                   "Value": "disabled"}]}}}
    root.create_stack(StackName="ops", TemplateBody=json.dumps({"Resources": resources}))
    keys = user_with(handle, "viewer", allow(*STACK_CALLS, "cloudformation:UpdateStack"))
    resources["Ops"]["Properties"]["ClusterSettings"][0]["Value"] = "enabled"
    handle.client("cloudformation", **keys).update_stack(
        StackName="ops", TemplateBody=json.dumps({"Resources": resources}))
    assert root.describe_stacks(StackName="ops")["Stacks"][0]["StackStatus"] == \
        "UPDATE_ROLLBACK_COMPLETE"
    assert "AccessDenied" in events_of(handle, "ops", "UPDATE_FAILED")["Ops"]
    cluster = handle.client("ecs").describe_clusters(clusters=["ops"],
                                                     include=["SETTINGS"])["clusters"][0]
    assert cluster["settings"] == [{"name": "containerInsights", "value": "disabled"}]


def cloudformation_role(handle, name: str, policy: str, service="cloudformation.amazonaws.com"):
    iam = handle.client("iam")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": service}}]}))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=policy)
    return arn


def test_a_stack_with_a_service_role_acts_with_the_roles_rights(handle):
    """RoleARN: the stack's resources are made, changed and deleted with the role's rights, not
    the caller's; naming the role needs iam:PassRole on it, using the stack's does not; a role
    CloudFormation cannot assume fails the call."""
    role = cloudformation_role(handle, "deploy", allow(
        "logs:CreateLogGroup", "logs:DeleteLogGroup", "ecs:CreateCluster", "ecs:DeleteCluster"))
    resources = {
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/roled"}},
        "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "roled"}}}
    template = json.dumps({"Resources": resources})
    # Allowed stack calls only: the role's rights make the log group and the cluster.
    passer = handle.client("cloudformation", **user_with(handle, "passer", json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": list(STACK_CALLS), "Resource": "*"},
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}]})))
    passer.create_stack(StackName="roled", TemplateBody=template, RoleARN=role)
    stack = passer.describe_stacks(StackName="roled")["Stacks"][0]
    assert (stack["StackStatus"], stack["RoleARN"]) == ("CREATE_COMPLETE", role)
    logs = handle.client("logs")
    assert [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]] == ["/roled"]
    # Without iam:PassRole on the role: refused, nothing made.
    stranger = handle.client("cloudformation", **user_with(handle, "stranger", allow(
        *STACK_CALLS)))
    with pytest.raises(ClientError) as refused:
        stranger.create_stack(StackName="other", TemplateBody=template, RoleARN=role)
    error = refused.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (
        "AccessDenied", 403)
    assert (f"User: arn:aws:iam::{ACCOUNT}:user/stranger is not authorized to perform: "
            f"iam:PassRole on resource: {role}") in error["Error"]["Message"]
    # A role CloudFormation cannot assume (it trusts ECS tasks only; none of that name).
    tasks_role = cloudformation_role(handle, "tasks", allow("*"), "ecs-tasks.amazonaws.com")
    for wrong in (tasks_role, f"arn:aws:iam::{ACCOUNT}:role/none"):
        with pytest.raises(ClientError) as invalid:
            passer.create_stack(StackName="other", TemplateBody=template, RoleARN=wrong)
        assert invalid.value.response["Error"]["Code"] == "ValidationError"
        assert invalid.value.response["Error"]["Message"] == (
            f"Role {wrong} is invalid or cannot be assumed")
    # A later update by a caller who may not pass the role uses the stack's: a right the role
    # lacks fails the resource, in the words of the role's session.
    updater = handle.client("cloudformation", **user_with(handle, "updater", allow(
        *STACK_CALLS, "cloudformation:UpdateStack", "cloudformation:DeleteStack",
        "cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet",
        "cloudformation:DescribeChangeSet", "sqs:*")))
    updater.update_stack(StackName="roled", TemplateBody=json.dumps({"Resources": {
        **resources, "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "q"}}}}))
    stack = updater.describe_stacks(StackName="roled")["Stacks"][0]
    assert (stack["StackStatus"], stack["RoleARN"]) == ("UPDATE_ROLLBACK_COMPLETE", role)
    assert (f"User: arn:aws:sts::{ACCOUNT}:assumed-role/deploy/AWSCloudFormation is not "
            "authorized to perform: sqs:CreateQueue") in events_of(
        handle, "roled", "CREATE_FAILED")["Queue"]
    # A change set executed uses it too.
    more = {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/more"}}
    updater.create_change_set(StackName="roled", ChangeSetName="more", ChangeSetType="UPDATE",
                              TemplateBody=json.dumps({"Resources": {**resources, "More": more}}))
    updater.execute_change_set(StackName="roled", ChangeSetName="more")
    assert updater.describe_stacks(StackName="roled")["Stacks"][0][
        "StackStatus"] == "UPDATE_COMPLETE"
    assert [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]] == [
        "/more", "/roled"]
    # Its delete too: the role's rights delete what the caller could not.
    updater.delete_stack(StackName="roled")
    assert logs.describe_log_groups()["logGroups"] == []
    assert handle.client("ecs").describe_clusters(clusters=["roled"])["clusters"][0][
        "status"] == "INACTIVE"


def test_a_refused_delete_is_told_for_each_physical_resource_of_a_logical_id(handle):
    """An update replaces a creation template (its prefix changed): the clean-up's delete of
    the old one is refused; so is the new one's at DeleteStack, in the same words (the action
    is on `*`). Each is its own DELETE_FAILED event, under its own physical id."""
    def body(prefix):
        return json.dumps({"Resources": {"Template": {
            "Type": "AWS::ECR::RepositoryCreationTemplate",
            "Properties": {"Prefix": prefix, "AppliedFor": ["REPLICATION"]}}}})

    cloudformation = handle.client("cloudformation", **user_with(handle, "keeper", allow(
        *STACK_CALLS, "cloudformation:UpdateStack", "cloudformation:DeleteStack",
        "ecr:CreateRepositoryCreationTemplate")))
    cloudformation.create_stack(StackName="keep", TemplateBody=body("one"))
    cloudformation.update_stack(StackName="keep", TemplateBody=body("two"))
    assert cloudformation.describe_stacks(StackName="keep")["Stacks"][0][
        "StackStatus"] == "UPDATE_COMPLETE"
    cloudformation.delete_stack(StackName="keep")
    events = cloudformation.describe_stack_events(StackName="keep")["StackEvents"]
    failed = [(e["PhysicalResourceId"], e["ResourceStatusReason"]) for e in reversed(events)
              if e["ResourceStatus"] == "DELETE_FAILED"]
    refusal = "ecr:DeleteRepositoryCreationTemplate on resource: *"
    assert [physical.split(":")[0] for physical, _ in failed] == ["one", "two", "arn"]
    assert refusal in failed[0][1] and refusal in failed[1][1]
    assert failed[2][1] == "The following resource(s) failed to delete: [Template]. "


def test_every_type_the_emulator_makes_has_its_delete_actions():
    """A type missing from DELETE makes its stack undeletable under IAM enforcement, even for a
    user allowed everything (delete_checks answers None: refused). Every type the emulator
    implements, or fails honestly, must be there."""
    from emulator.access.iam_stack_actions import DELETE
    from emulator.cloudformation import (cloud_map, ecr_resources, ecs_clusters, ecs_services,
                                         not_emulated)

    types = [t.TYPE for module in (ecs_clusters, ecs_services, ecr_resources, not_emulated,
                                   cloud_map)
             for t in module.TYPES]
    assert [t for t in types if t not in DELETE] == []


def test_every_cloud_map_type_has_its_create_actions():
    """Cloud Map's types are moto's kind: their create is checked on CREATE's actions alone (and
    an update's too), so one missing there is refused to everyone under enforcement."""
    from emulator.access.iam_stack_actions import CREATE
    from emulator.cloudformation import cloud_map

    assert [t.TYPE for t in cloud_map.TYPES if not CREATE.get(t.TYPE)] == []
