"""Secrets (SSM Parameter Store, Secrets Manager) and environment files (S3) in a task's
environment, as the container sees it; and the task that cannot start, as ECS reports it."""

from __future__ import annotations

import json

import pytest

from emulator.engine.hooks import TaskSetupError
from emulator.engine.task_secrets import (
    SecretSelector, parameter_arn, parameter_names, parse_env_file, parse_s3_arn,
)
from tests.test_task_metadata import output_of, register, run, stop
from tests.waiting import wait_for_task

pytestmark = pytest.mark.docker

ACCOUNT = "123456789012"
EXECUTION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole"
PRINT_ENV = "env; echo END; sleep 300"
SECRETS_FAILED = "ResourceInitializationError: unable to pull secrets or registry auth: "


@pytest.fixture
def aws(clean_emulator):
    class Clients:
        ssm = clean_emulator.client("ssm")
        secrets = clean_emulator.client("secretsmanager")
        s3 = clean_emulator.client("s3")
    return Clients


def printed_env(docker_client, arn) -> dict[str, str]:
    text = output_of(docker_client, arn, "app", "END").split("\nEND")[0]
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def app(image, **fields) -> dict:
    return {"name": "app", "image": image, "memory": 64, "command": ["sh", "-c", PRINT_ENV],
            **fields}


def test_secrets_from_parameter_store_and_secrets_manager(ecs, aws, cluster, busybox_image,
                                                         docker_client):
    aws.ssm.put_parameter(Name="plain", Value="hello", Type="String")
    aws.ssm.put_parameter(Name="/app/db/password", Value="s3cr3t", Type="SecureString")
    aws.ssm.put_parameter(Name="versioned", Value="one", Type="String")
    aws.ssm.put_parameter(Name="versioned", Value="two", Type="String", Overwrite=True)
    whole = aws.secrets.create_secret(Name="whole", SecretString="just text")["ARN"]
    doc = aws.secrets.create_secret(
        Name="doc", SecretString=json.dumps({"user": "admin", "port": 5432, "on": True}))["ARN"]
    secrets = [
        {"name": "PLAIN", "valueFrom": "plain"},
        {"name": "BY_ARN", "valueFrom": f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/plain"},
        {"name": "PASSWORD", "valueFrom": "/app/db/password"},
        {"name": "PASSWORD_BY_ARN",
         "valueFrom": f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/app/db/password"},
        {"name": "FIRST_VERSION", "valueFrom": "versioned:1"},
        {"name": "WHOLE", "valueFrom": whole},
        {"name": "USER", "valueFrom": f"{doc}:user::"},
        {"name": "PORT", "valueFrom": f"{doc}:port:AWSCURRENT:"},
        {"name": "ON", "valueFrom": f"{doc}:on::"},
    ]
    definition = register(ecs, app(busybox_image, secrets=secrets),
                          executionRoleArn=EXECUTION_ROLE)
    arn = run(ecs, cluster, definition)
    env = printed_env(docker_client, arn)
    assert {name: env.get(name) for name in [s["name"] for s in secrets]} == {
        "PLAIN": "hello", "BY_ARN": "hello", "PASSWORD": "s3cr3t", "PASSWORD_BY_ARN": "s3cr3t",
        "FIRST_VERSION": "one", "WHOLE": "just text", "USER": "admin", "PORT": "5432",
        "ON": "true",
    }
    stop(ecs, cluster, arn, docker_client)


def test_environment_files_with_ecs_precedence(ecs, aws, cluster, busybox_image, docker_client):
    aws.s3.create_bucket(Bucket="config")
    aws.s3.put_object(Bucket="config", Key="base.env", Body=(
        "# a comment\n"
        "FROM_FILE=base\n"
        "SHARED=from base\n"
        "OVERRIDDEN=from file\n"
        "URL=http://x/?a=b\r\n"
        "EMPTY=\n"
        "=nameless\n"
        "not a variable\n"
        "REPEATED=first line\n"
        "REPEATED=last line\n"))
    aws.s3.put_object(Bucket="config", Key="dir/extra.env", Body="SHARED=from extra\nEXTRA=yes\n")
    files = [{"type": "s3", "value": "arn:aws:s3:::config/base.env"},
             {"type": "s3", "value": "arn:aws:s3:::config/dir/extra.env"}]
    definition = register(
        ecs, app(busybox_image, environmentFiles=files,
                 environment=[{"name": "OVERRIDDEN", "value": "from environment"}]),
        executionRoleArn=EXECUTION_ROLE)
    arn = run(ecs, cluster, definition)
    env = printed_env(docker_client, arn)
    assert env["FROM_FILE"] == "base"
    assert env["SHARED"] == "from base"  # the first file that names a variable wins
    assert env["EXTRA"] == "yes"
    assert env["OVERRIDDEN"] == "from environment"  # environment wins over files
    assert env["URL"] == "http://x/?a=b"  # split at the first "="; the CR is dropped
    assert env["REPEATED"] == "last line"
    assert "EMPTY" not in env and "" not in env and "# a comment" not in env
    stop(ecs, cluster, arn, docker_client)


@pytest.mark.parametrize("secret, reason", [
    ({"name": "X", "valueFrom": "/does/not/exist"},
     SECRETS_FAILED + "execution resource retrieval failed: unable to retrieve secrets from ssm: "
     "invalid parameters: /does/not/exist"),
    ({"name": "X", "valueFrom": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:gone-AbCdEf"},
     SECRETS_FAILED + "execution resource retrieval failed: unable to retrieve secret from asm: "
     "ResourceNotFoundException: Secrets Manager can't find the specified secret."),
    ({"name": "X", "valueFrom": "{doc}:nokey::"},
     SECRETS_FAILED + "execution resource retrieval failed: unable to retrieve secret from asm: "
     "retrieved secret from Secrets Manager did not contain json key nokey"),
])
def test_a_secret_that_cannot_be_read_fails_the_task(ecs, aws, cluster, busybox_image,
                                                     docker_client, secret, reason):
    doc = aws.secrets.create_secret(Name="doc", SecretString='{"user": "admin"}')["ARN"]
    secret = {**secret, "valueFrom": secret["valueFrom"].format(doc=doc)}
    definition = register(ecs, app(busybox_image, secrets=[secret]),
                          executionRoleArn=EXECUTION_ROLE)
    arn = run(ecs, cluster, definition)
    stopped = wait_for_task(ecs, cluster, arn, "STOPPED")
    assert stopped["stopCode"] == "TaskFailedToStart"
    assert stopped["stoppedReason"] == reason
    assert docker_client.containers.list(
        all=True, filters={"label": f"ecs-emulator.task-arn={arn}"}) == []


def test_a_missing_environment_file_fails_the_task(ecs, aws, cluster, busybox_image):
    aws.s3.create_bucket(Bucket="config")
    files = [{"type": "s3", "value": "arn:aws:s3:::config/missing.env"}]
    definition = register(ecs, app(busybox_image, environmentFiles=files),
                          executionRoleArn=EXECUTION_ROLE)
    stopped = wait_for_task(ecs, cluster, run(ecs, cluster, definition), "STOPPED")
    assert stopped["stopCode"] == "TaskFailedToStart"
    assert stopped["stoppedReason"] == (
        "ResourceInitializationError: failed to download env files: unable to download env file "
        "with key missing.env from bucket config, error: NoSuchKey: The specified key does not "
        "exist.")

    no_bucket = [{"type": "s3", "value": "arn:aws:s3:::nobucket/a.env"}]
    definition = register(ecs, app(busybox_image, environmentFiles=no_bucket),
                          executionRoleArn=EXECUTION_ROLE)
    stopped = wait_for_task(ecs, cluster, run(ecs, cluster, definition), "STOPPED")
    assert stopped["stoppedReason"].endswith(
        "error: NoSuchBucket: The specified bucket does not exist")


# -- parsing, without Docker --------------------------------------------------------------------

def test_env_file_parsing():
    assert parse_env_file("A=1\n#B=2\n C=3\nD==4\nE\n=5\nF=\nA=6") == {
        "A": "6", " C": "3", "D": "=4"}


def test_references():
    assert parameter_names("name", ACCOUNT, "us-east-1") == (ACCOUNT, "us-east-1", ["name"])
    assert parameter_names("arn:aws:ssm:eu-west-1:111122223333:parameter/a/b", ACCOUNT,
                           "us-east-1") == ("111122223333", "eu-west-1", ["/a/b"])
    assert parameter_names("arn:aws:ssm:us-east-1:1:parameter/flat", ACCOUNT, "us-east-1")[2] == [
        "flat", "/flat"]
    selector = SecretSelector.parse(
        "arn:aws:secretsmanager:eu-west-1:111122223333:secret:db-AbCdEf:password:AWSPREVIOUS:v1")
    assert (selector.secret_id, selector.account, selector.region) == (
        "arn:aws:secretsmanager:eu-west-1:111122223333:secret:db-AbCdEf", "111122223333",
        "eu-west-1")
    assert (selector.json_key, selector.version_stage, selector.version_id) == (
        "password", "AWSPREVIOUS", "v1")
    assert parse_s3_arn("arn:aws:s3:::bucket/dir/file.env") == ("bucket", "dir/file.env")
    # IAM checks the parameter's ARN without a version or label selector.
    for reference in ("/app/db:3", "app/db:label", "arn:aws:ssm:us-east-1:1:parameter/app/db:3"):
        assert parameter_arn(reference, "1", "us-east-1") == (
            "arn:aws:ssm:us-east-1:1:parameter/app/db")
    with pytest.raises(TaskSetupError, match="unable to parse bucket and key"):
        parse_s3_arn("s3://bucket/file.env")
