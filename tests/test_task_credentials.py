"""Task-role credentials: a task's own SDK calls run as its task role, with no configuration.

boto3 inside a task (the python-boto3 test image) asks STS who it is and must hear the task role's
assumed-role ARN, whose session is named after the task, as on ECS.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import boto3
import pytest

from emulator.engine.task_credentials import REFRESH_BEFORE_S, TaskRoleCredentials
from tests.groups import HOST
from tests.test_task_metadata import (
    container_of, environment_of, get, output_of, register, run, stop,
)
from tests.waiting import wait_for_task

pytestmark = [pytest.mark.docker, HOST]

ACCOUNT = "123456789012"
PYTHON = "ecs-emulator-test/python-boto3:latest"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})
WHO_AM_I = ("python3 -c \"import boto3; print('ARN', boto3.client('sts')"
            ".get_caller_identity()['Arn'], flush=True)\"; echo END; sleep 300")


@pytest.fixture(scope="module")
def ecs_emulator(link_local_emulator):
    """This module's emulator serves credentials on 169.254.170.2 (where the host allows)."""
    return link_local_emulator


@pytest.fixture(scope="session")
def python_image():
    script = Path(__file__).resolve().parent.parent / "scripts" / "build-test-images.sh"
    subprocess.run([str(script), "--python"], check=True)
    return PYTHON


@pytest.fixture
def iam(clean_emulator):
    return clean_emulator.client("iam")


def make_role(iam, name: str) -> str:
    """Make the role `name`, which ECS tasks may assume; its ARN.

    botocore tries a call again after a read timeout (60 s) or a dropped connection. On a loaded
    machine the first CreateRole of a fresh state (moto imports IAM and loads the AWS managed
    policies: 1.6 s of CPU once, 0.3 s after each reset) may be answered after its client gave
    up on it: the try again then finds the role the first try made (EntityAlreadyExists). That
    role is taken, but only one this call made (no older than the call), so that a role a reset
    failed to drop still fails the test."""
    asked = dt.datetime.now(dt.timezone.utc)
    try:
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        role = iam.get_role(RoleName=name)["Role"]
        if role["CreateDate"] < asked or role["AssumeRolePolicyDocument"] != json.loads(TRUST):
            raise
        return role["Arn"]


def printed_arn(docker_client, arn: str, name: str = "app") -> str:
    text = output_of(docker_client, arn, name, "END", timeout=120)
    lines = [line for line in text.splitlines() if line.startswith("ARN ")]
    assert lines, text
    return lines[0].split(" ", 1)[1]


def test_boto3_in_a_task_runs_as_the_task_role(ecs, iam, cluster, python_image, docker_client):
    role = make_role(iam, "app-role")
    definition = register(ecs, {"name": "app", "image": python_image, "memory": 128,
                                "command": ["sh", "-c", WHO_AM_I]},
                          taskRoleArn=role)
    arn = run(ecs, cluster, definition)
    task_id = arn.rsplit("/", 1)[1]
    assert printed_arn(docker_client, arn) == (
        f"arn:aws:sts::{ACCOUNT}:assumed-role/app-role/{task_id}")
    env = environment_of(docker_client, arn, "app")
    # 169.254.170.2 where this host lets us serve it, else keys in the environment.
    assert ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI" in env) != ("AWS_ACCESS_KEY_ID" in env)
    stop(ecs, cluster, arn, docker_client)


def test_run_task_override_picks_the_role(ecs, iam, cluster, python_image, docker_client):
    make_role(iam, "defined")
    other = make_role(iam, "overridden")
    definition = register(ecs, {"name": "app", "image": python_image, "memory": 128,
                                "command": ["sh", "-c", WHO_AM_I]},
                          taskRoleArn=f"arn:aws:iam::{ACCOUNT}:role/defined")
    arn = run(ecs, cluster, definition, overrides={"taskRoleArn": other})
    assert printed_arn(docker_client, arn).startswith(
        f"arn:aws:sts::{ACCOUNT}:assumed-role/overridden/")
    stop(ecs, cluster, arn, docker_client)


OTHER_ACCOUNT = "111122223333"
MY_ACCOUNT = ("python3 -c \"import boto3; print('ARN', boto3.client('sts').get_caller_identity()"
              "['Arn'], boto3.client('ecs').list_clusters()['clusterArns'], flush=True)\"; "
              "echo END; sleep 300")


def test_a_task_role_acts_in_the_tasks_account(clean_emulator, python_image, docker_client):
    ecs = clean_emulator.client("ecs", account=OTHER_ACCOUNT)
    role = make_role(clean_emulator.client("iam", account=OTHER_ACCOUNT), "their-role")
    ecs.create_cluster(clusterName="theirs")
    definition = register(ecs, {"name": "app", "image": python_image, "memory": 128,
                                "command": ["sh", "-c", MY_ACCOUNT]}, taskRoleArn=role)
    arn = run(ecs, "theirs", definition)
    task_id = arn.rsplit("/", 1)[1]
    # The role's keys name no account; the emulator knows the account that issued them.
    assert printed_arn(docker_client, arn) == (
        f"arn:aws:sts::{OTHER_ACCOUNT}:assumed-role/their-role/{task_id} "
        f"['arn:aws:ecs:us-east-1:{OTHER_ACCOUNT}:cluster/theirs']")
    stop(ecs, "theirs", arn, docker_client)


def test_credentials_endpoint_answers_as_ecs_and_forgets_stopped_tasks(
        ecs, iam, cluster, busybox_image, docker_client, clean_emulator):
    role = make_role(iam, "served")
    # busybox fetches its credentials the way the SDKs do: 169.254.170.2 + the relative URI.
    fetch = ('wget -qO- "http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"; echo; '
             'echo END; sleep 300')
    definition = register(ecs, {"name": "app", "image": busybox_image, "memory": 64,
                                "command": ["sh", "-c", fetch]}, taskRoleArn=role)
    arn = run(ecs, cluster, definition)
    wait_for_task(ecs, cluster, arn, "RUNNING")
    env = environment_of(docker_client, arn, "app")
    if "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI" not in env:
        stop(ecs, cluster, arn, docker_client)
        pytest.skip("169.254.170.2 cannot be served here (not root, or not Linux)")
    relative = env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]
    assert relative.startswith("/v2/credentials/")

    seen = json.loads(output_of(docker_client, arn, "app", "END").split("\nEND")[0])
    assert list(seen) == ["RoleArn", "AccessKeyId", "SecretAccessKey", "Token", "Expiration"]
    assert seen["RoleArn"] == role
    assert seen["AccessKeyId"].startswith("ASIA")
    expires = dt.datetime.strptime(seen["Expiration"], "%Y-%m-%dT%H:%M:%SZ")
    assert expires > dt.datetime.utcnow() + dt.timedelta(minutes=30)
    # The same endpoint answers on the emulator's own address.
    status, again = get(clean_emulator.endpoint_url + relative)
    assert status == 200 and again["AccessKeyId"] == seen["AccessKeyId"]

    stop(ecs, cluster, arn, docker_client)
    status, body = get(clean_emulator.endpoint_url + relative)
    assert status == 400
    assert body == {"code": "InvalidIdInRequest",
                    "message": "CredentialsV2Request: Credentials not found"}
    assert get(clean_emulator.endpoint_url + "/v2/credentials/")[1]["code"] == "NoIdInRequest"


def test_a_task_without_a_role_gets_no_credentials(ecs, cluster, busybox_image, docker_client):
    definition = register(ecs, {"name": "app", "image": busybox_image, "memory": 64,
                                "command": ["sleep", "300"]})
    arn = run(ecs, cluster, definition)
    wait_for_task(ecs, cluster, arn, "RUNNING")
    env = environment_of(docker_client, arn, "app")
    assert not {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_ACCESS_KEY_ID",
                "AWS_SESSION_TOKEN"} & set(env)
    stop(ecs, cluster, arn, docker_client)


# -- the hook alone: where 169.254.170.2 cannot be served, and refreshing ------------------------

class _Definition:
    spec = {"taskRoleArn": "lonely"}


class _Task:
    arn = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/work/0123456789abcdef0123456789abcdef"
    id = "0123456789abcdef0123456789abcdef"
    overrides: dict = {}
    definition = _Definition()


class _Store:
    account, region = ACCOUNT, "us-east-1"


def test_without_link_local_the_keys_go_in_the_environment(clean_emulator):
    hook = TaskRoleCredentials(clean_emulator.emulator.moto, lambda task: False)
    env = hook.environment(_Store(), _Task(), None)
    assert set(env) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}
    sts = boto3.client("sts", endpoint_url=clean_emulator.endpoint_url, region_name="us-east-1",
                       aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                       aws_session_token=env["AWS_SESSION_TOKEN"])
    # A bare role name is taken as a role of the task's account (it need not exist in IAM).
    assert sts.get_caller_identity()["Arn"] == (
        f"arn:aws:sts::{ACCOUNT}:assumed-role/lonely/{_Task.id}")


def test_credentials_are_refreshed_before_they_expire(clean_emulator):
    hook = TaskRoleCredentials(clean_emulator.emulator.moto, lambda task: True)
    env = hook.environment(_Store(), _Task(), None)
    credentials_id = env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"].rsplit("/", 1)[1]
    first = hook.document(credentials_id)
    assert hook.document(credentials_id) == first  # still fresh: the same keys
    issued = hook._by_id[credentials_id]
    issued.expiration = dt.datetime.now(dt.timezone.utc) + dt.timedelta(
        seconds=REFRESH_BEFORE_S - 60)
    renewed = hook.document(credentials_id)
    assert renewed["AccessKeyId"] != first["AccessKeyId"]
    assert renewed["Expiration"] >= first["Expiration"]
    hook.on_stopped(_Store(), _Task())
    assert hook.document(credentials_id) is None


def test_link_local_refuses_where_it_cannot_serve(caplog):
    from emulator.metadata.link_local import LinkLocalEndpoint

    assert LinkLocalEndpoint(None, lambda: "172.18.0.1", enabled=False).available() is False
    # A gateway that is no address of this host, as with Docker Desktop: refused, said once.
    remote = LinkLocalEndpoint(None, lambda: "203.0.113.9")
    with caplog.at_level("WARNING", logger="emulator.credentials"):
        assert remote.available() is False
        assert remote.available() is False
    said = [r for r in caplog.records
            if r.levelname == "WARNING" and "203.0.113.9" in r.getMessage()]
    assert len(said) == 1
