"""ECS_EMULATOR_ENFORCE_IAM: calls are checked against the caller's IAM policies (access/iam.py).

An emulator of its own, with the setting on. From the host, the `test` keys act as the account's
root (they set the scene); an IAM user's keys act as the user. A task whose role allows
ssm:GetParameter and ecs:ListClusters calls from inside with the role's credentials, as its SDK
finds them, and is refused everything else.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from emulator.config import Settings
from emulator.pytest_plugin import EmulatorHandle, start_server
from tests.groups import HOST
from tests.test_task_credentials import TRUST, python_image  # noqa: F401  (a fixture)
from tests.test_task_metadata import output_of, register, run, stop
from tests.waiting import task_of, wait_for_task

# Its task with a role may take 169.254.170.2 while its module runs.
pytestmark = HOST

ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def enforced():
    server = start_server(Settings(host="127.0.0.1", port=0, strict_responses=True,
                                   enforce_iam=True))
    try:
        yield EmulatorHandle(server)
    finally:
        server.stop()


@pytest.fixture
def handle(enforced):
    enforced.reset()
    return enforced


def allow(*actions: str, resource: str = "*") -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": list(actions), "Resource": resource}]})


def user_with(handle, name: str, policy: str | None) -> dict:
    iam = handle.client("iam")
    iam.create_user(UserName=name)
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"aws_access_key_id": key["AccessKeyId"],
            "aws_secret_access_key": key["SecretAccessKey"]}


def code_of(call) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"]


def test_the_hosts_unknown_keys_act_as_root(handle):
    ecs = handle.client("ecs")
    ecs.create_cluster(clusterName="c")
    assert handle.client("s3").list_buckets()["Buckets"] == []
    assert ecs.list_clusters()["clusterArns"] == [f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/c"]


def test_a_users_policy_decides_for_ecs_ecr_and_motos_services(handle):
    keys = user_with(handle, "dev", allow("ecs:ListClusters", "ecs:DescribeClusters",
                                          "ssm:GetParameter"))
    handle.client("ssm").put_parameter(Name="/p", Value="v", Type="String")
    ecs = handle.client("ecs", **keys)
    assert ecs.list_clusters()["clusterArns"] == []
    with pytest.raises(ClientError) as caught:
        ecs.create_cluster(clusterName="c")
    error = caught.value.response
    assert error["Error"]["Code"] == "AccessDeniedException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Message"] == (
        f"User: arn:aws:iam::{ACCOUNT}:user/dev is not authorized to perform: ecs:CreateCluster "
        f"on resource: arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/c because no identity-based "
        "policy allows the ecs:CreateCluster action")
    assert code_of(lambda: handle.client("ecr", **keys).describe_repositories()) == \
        "AccessDeniedException"
    assert handle.client("ssm", **keys).get_parameter(Name="/p")["Parameter"]["Value"] == "v"
    assert code_of(lambda: handle.client("ssm", **keys).put_parameter(
        Name="/q", Value="v", Type="String")) == "AccessDeniedException"
    assert code_of(lambda: handle.client("s3", **keys).list_buckets()) == "AccessDenied"


def test_another_accounts_repository_needs_both_policies(handle):
    """A call on another account's ECR repository needs the caller's identity policy and the
    repository's resource policy (README, Quick start: ECR); a refusal names the IAM user."""
    owner_account = "111111111111"
    owner = handle.client("ecr", account=owner_account)
    owner.create_repository(repositoryName="shared")
    arn = f"arn:aws:ecr:us-east-1:{owner_account}:repository/shared"
    allowed = handle.client("ecr", **user_with(handle, "dev", allow("ecr:DescribeImages")))
    bare = handle.client("ecr", **user_with(handle, "bare", allow("ecr:ListImages")))
    with pytest.raises(ClientError) as caught:
        allowed.describe_images(registryId=owner_account, repositoryName="shared")
    assert caught.value.response["Error"]["Message"] == (
        f"User: arn:aws:iam::{ACCOUNT}:user/dev is not authorized to perform: ecr:DescribeImages "
        f"on resource: {arn} because no resource-based policy allows the ecr:DescribeImages "
        "action")
    owner.set_repository_policy(repositoryName="shared", policyText=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
            "AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "ecr:DescribeImages"}]}))
    assert allowed.describe_images(registryId=owner_account,
                                   repositoryName="shared")["imageDetails"] == []
    with pytest.raises(ClientError) as caught:
        bare.describe_images(registryId=owner_account, repositoryName="shared")
    assert "because no identity-based policy allows" in caught.value.response["Error"]["Message"]


def test_a_bad_signature_and_a_deny_are_refused(handle):
    keys = user_with(handle, "dev", json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ecs:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "ecs:DeleteCluster",
         "Resource": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/keep"}]}))
    ecs = handle.client("ecs", **keys)
    ecs.create_cluster(clusterName="keep")
    ecs.create_cluster(clusterName="scratch")
    ecs.delete_cluster(cluster="scratch")  # only "keep" is denied
    assert code_of(lambda: ecs.delete_cluster(cluster="keep")) == "AccessDeniedException"
    forged = handle.client("ecs", aws_access_key_id=keys["aws_access_key_id"],
                           aws_secret_access_key="not-the-secret")
    assert code_of(forged.list_clusters) == "InvalidSignatureException"
    stolen = handle.client("ecs", aws_session_token="not-a-session", **keys)
    assert code_of(stolen.list_clusters) == "UnrecognizedClientException"


def test_run_task_needs_pass_role_on_the_task_role(handle):
    keys = user_with(handle, "deployer", allow("ecs:RunTask", "ecs:RegisterTaskDefinition"))
    root = handle.client("ecs")
    root.create_cluster(clusterName="c")
    root.register_task_definition(
        family="f", taskRoleArn=f"arn:aws:iam::{ACCOUNT}:role/app",
        containerDefinitions=[{"name": "x", "image": "busybox", "memory": 32}])
    ecs = handle.client("ecs", **keys)
    with pytest.raises(ClientError) as caught:
        ecs.run_task(cluster="c", taskDefinition="f")
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    assert f"iam:PassRole on resource: arn:aws:iam::{ACCOUNT}:role/app" in str(caught.value)
    assert root.list_tasks(cluster="c")["taskArns"] == []


def test_a_deny_on_a_definition_holds_whatever_its_reference_spells(handle):
    """IAM checks the revision that will run: an ARN without its revision, or in another
    partition, must not slip past a Deny written on `admin:*`."""
    keys = user_with(handle, "ops", json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ecs:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "ecs:RunTask",
         "Resource": f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/admin:*"}]}))
    root = handle.client("ecs")
    root.create_cluster(clusterName="c")
    root.register_task_definition(
        family="admin", containerDefinitions=[{"name": "x", "image": "busybox", "memory": 32}])
    ecs = handle.client("ecs", **keys)
    for ref in ("admin", "admin:1", f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/admin",
                f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/admin:1"):
        assert code_of(lambda: ecs.run_task(cluster="c", taskDefinition=ref)) == \
            "AccessDeniedException", ref
    other = f"arn:aws-cn:ecs:us-east-1:{ACCOUNT}:task-definition/admin:1"
    assert code_of(lambda: ecs.run_task(cluster="c", taskDefinition=other)) in (
        "AccessDeniedException", "ClientException", "InvalidParameterException")
    assert root.list_tasks(cluster="c")["taskArns"] == []


CALLS = r'''
import boto3
def attempt(name, call):
    try:
        print(name, "OK", call(), flush=True)
    except Exception as error:
        print(name, getattr(error, "response", {}).get("Error", {}).get("Code", repr(error)),
              flush=True)
attempt("ssm", lambda: boto3.client("ssm").get_parameter(Name="/app/p")["Parameter"]["Value"])
attempt("ecs-list", lambda: len(boto3.client("ecs").list_clusters()["clusterArns"]))
attempt("s3", lambda: boto3.client("s3").list_buckets())
attempt("ecs-create", lambda: boto3.client("ecs").create_cluster(clusterName="x"))
attempt("iam", lambda: boto3.client("iam").create_user(UserName="intruder"))
attempt("dummy-keys", lambda: boto3.client("ecs", aws_access_key_id="test",
                                           aws_secret_access_key="test").list_clusters())
print("END", flush=True)
'''


def test_a_task_has_exactly_its_roles_permissions(handle, python_image, docker_client):
    iam = handle.client("iam")
    role = iam.create_role(RoleName="app", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    iam.put_role_policy(RoleName="app", PolicyName="p",
                        PolicyDocument=allow("ssm:GetParameter", "ecs:ListClusters"))
    handle.client("ssm").put_parameter(Name="/app/p", Value="secret", Type="String")
    ecs = handle.client("ecs")
    ecs.create_cluster(clusterName="work")
    definition = register(ecs, {"name": "app", "image": python_image, "memory": 128,
                                "command": ["sh", "-c", 'python3 -c "$SCRIPT"; sleep 300'],
                                "environment": [{"name": "SCRIPT", "value": CALLS}]},
                          taskRoleArn=role)
    arn = run(ecs, "work", definition)
    printed = output_of(docker_client, arn, "app", "END", timeout=120)
    lines = {line.split(" ", 1)[0]: line for line in printed.splitlines() if " " in line}
    assert lines["ssm"] == "ssm OK secret", printed
    assert lines["ecs-list"] == "ecs-list OK 1", printed
    assert lines["s3"] == "s3 AccessDenied", printed
    assert lines["ecs-create"] == "ecs-create AccessDeniedException", printed
    assert lines["iam"] == "iam AccessDenied", printed
    # The host's root keys are no root keys in a container.
    assert lines["dummy-keys"] == "dummy-keys UnrecognizedClientException", printed
    assert handle.client("iam").list_users()["Users"] == []
    stop(ecs, "work", arn, docker_client)


def test_secrets_and_environment_files_need_the_execution_roles_permissions(
        handle, busybox_image, docker_client):
    """The agent reads a task's secrets and environment files with its execution role's
    credentials: what the role does not allow fails the task before it starts."""
    iam = handle.client("iam")
    role = iam.create_role(RoleName="exec", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    iam.put_role_policy(RoleName="exec", PolicyName="p", PolicyDocument=allow(
        "ssm:GetParameters", resource=f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/app/ok"))
    ssm = handle.client("ssm")
    for name in ("/app/ok", "/app/other"):
        ssm.put_parameter(Name=name, Value="v", Type="String")
    secret = handle.client("secretsmanager").create_secret(Name="db", SecretString="pw")["ARN"]
    s3 = handle.client("s3")
    s3.create_bucket(Bucket="conf")
    s3.put_object(Bucket="conf", Key="app.env", Body=b"A=1\n")
    ecs = handle.client("ecs")
    ecs.create_cluster(clusterName="work")

    def started(family, execution_role=role, **container):
        definition = register(ecs, {"name": "app", "image": busybox_image, "memory": 32,
                                    "command": ["sleep", "300"], **container},
                              family=family, executionRoleArn=execution_role)
        return run(ecs, "work", definition)

    allowed = started("allowed", secrets=[{"name": "S", "valueFrom": "/app/ok"}])
    # The role by its name, a parameter by version: IAM checks the role's ARN and the
    # parameter's own ARN.
    by_name = started("by-name", execution_role="exec",
                      secrets=[{"name": "S", "valueFrom": "/app/ok:1"}])
    # A secret the role may not read fails as refused, not as missing.
    absent = started("absent", secrets=[{"name": "S", "valueFrom": secret.replace(
        ":secret:db", ":secret:nope")}])
    refused = {
        "ssm:GetParameters": started("ssm", secrets=[{"name": "S", "valueFrom": "/app/other"}]),
        "secretsmanager:GetSecretValue": started("asm", secrets=[{"name": "S",
                                                                  "valueFrom": secret}]),
        "AccessDenied: Access Denied": started("files", environmentFiles=[
            {"type": "s3", "value": "arn:aws:s3:::conf/app.env"}]),
    }
    for said, arn in refused.items():
        task = wait_for_task(ecs, "work", arn, "STOPPED")
        assert task["stoppedReason"].startswith("ResourceInitializationError: "), task
        assert said in task["stoppedReason"], task["stoppedReason"]
    assert "assumed-role/exec/" in task_of(ecs, "work", refused["ssm:GetParameters"])[
        "stoppedReason"]
    said = wait_for_task(ecs, "work", absent, "STOPPED")["stoppedReason"]
    assert "AccessDeniedException" in said and "ResourceNotFound" not in said, said
    for arn in (allowed, by_name):
        assert wait_for_task(ecs, "work", arn, "RUNNING")["lastStatus"] == "RUNNING"
        stop(ecs, "work", arn, docker_client)


OTHER = "222233334444"


def test_another_accounts_secrets_and_files_need_its_consent(handle, busybox_image,
                                                            docker_client):
    """A task's execution role may allow everything, yet another account's parameter, secret or
    file is read only where that account's resource policy says so (the reviewer's attack: any
    task reading any account's secrets by ARN)."""
    iam = handle.client("iam")
    role = iam.create_role(RoleName="exec", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    iam.put_role_policy(RoleName="exec", PolicyName="p", PolicyDocument=allow(
        "ssm:GetParameters", "secretsmanager:GetSecretValue", "s3:GetObject"))
    consent = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}
    handle.client("ssm", account=OTHER).put_parameter(Name="/b/p", Value="v", Type="String")
    manager = handle.client("secretsmanager", account=OTHER)
    closed = manager.create_secret(Name="closed", SecretString="pw")["ARN"]
    shared = manager.create_secret(Name="shared", SecretString="pw")["ARN"]
    manager.put_resource_policy(SecretId="shared", ResourcePolicy=json.dumps({
        "Version": "2012-10-17", "Statement": [{**consent, "Action":
                                                "secretsmanager:GetSecretValue", "Resource": "*"}]}))
    s3 = handle.client("s3", account=OTHER)
    for bucket in ("b-closed", "b-shared"):
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="app.env", Body=b"A=1\n")
    s3.put_bucket_policy(Bucket="b-shared", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{**consent, "Action": "s3:GetObject",
                                                "Resource": "arn:aws:s3:::b-shared/*"}]}))
    ecs = handle.client("ecs")
    ecs.create_cluster(clusterName="work")

    def started(family, **container):
        definition = register(ecs, {"name": "app", "image": busybox_image, "memory": 32,
                                    "command": ["sleep", "300"], **container},
                              family=family, executionRoleArn=role)
        return run(ecs, "work", definition)

    refused = {
        "ssm:GetParameters": started("ssm", secrets=[
            {"name": "S", "valueFrom": f"arn:aws:ssm:us-east-1:{OTHER}:parameter/b/p"}]),
        "secretsmanager:GetSecretValue": started("asm", secrets=[
            {"name": "S", "valueFrom": closed}]),
        "AccessDenied: Access Denied": started("files", environmentFiles=[
            {"type": "s3", "value": "arn:aws:s3:::b-closed/app.env"}]),
    }
    allowed = started("shared", secrets=[{"name": "S", "valueFrom": shared}],
                      environmentFiles=[{"type": "s3", "value": "arn:aws:s3:::b-shared/app.env"}])
    for said, arn in refused.items():
        reason = wait_for_task(ecs, "work", arn, "STOPPED")["stoppedReason"]
        assert reason.startswith("ResourceInitializationError: ") and said in reason, reason
        if said != "AccessDenied: Access Denied":
            assert "because no resource-based policy allows" in reason, reason
    assert wait_for_task(ecs, "work", allowed, "RUNNING")["lastStatus"] == "RUNNING"
    stop(ecs, "work", allowed, docker_client)
