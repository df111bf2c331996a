"""moto acts for every caller, tasks included: it runs no containers on this host's Docker and
sends no HTTP to this host's own addresses (emulator/aws/moto_containment.py).

The calls here come from the host: what moto does with a call does not depend on who made it,
so a Batch job or an SNS delivery the host cannot make a container or a loopback request of, a
task cannot either.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.conftest import BUSYBOX

TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "batch.amazonaws.com"},
    "Action": "sts:AssumeRole"}]}


@pytest.fixture
def aws(clean_emulator):
    return clean_emulator.client


def _containers_created(docker_client, since: float, prefix: str) -> list[str]:
    """Names of the containers created on the Engine since `since` whose name starts so (gone
    ones too: the events say)."""
    events = docker_client.events(since=int(since), until=int(time.time()) + 1, decode=True,
                                  filters={"type": "container", "event": "create"})
    names = [e.get("Actor", {}).get("Attributes", {}).get("name", "") for e in events]
    return [n for n in names if n.startswith(prefix)]


def test_a_privileged_batch_job_with_the_hosts_root_runs_no_container(aws, docker_client):
    """moto's Batch would run this job on the host's Docker, privileged, with / mounted."""
    role = aws("iam").create_role(RoleName="batch", AssumeRolePolicyDocument=json.dumps(TRUST))
    batch = aws("batch")
    environment = batch.create_compute_environment(
        computeEnvironmentName="local", type="UNMANAGED", state="ENABLED",
        serviceRole=role["Role"]["Arn"])["computeEnvironmentArn"]
    queue = batch.create_job_queue(
        jobQueueName="q", state="ENABLED", priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}])["jobQueueArn"]
    batch.register_job_definition(jobDefinitionName="root", type="container", containerProperties={
        "image": BUSYBOX, "command": ["true"], "privileged": True, "vcpus": 1, "memory": 64,
        "volumes": [{"name": "root", "host": {"sourcePath": "/"}}],
        "mountPoints": [{"sourceVolume": "root", "containerPath": "/host",
                         "readOnly": False}]})
    name = f"probe-{uuid.uuid4().hex[:10]}"
    started = time.time()
    job = batch.submit_job(jobName=name, jobQueue=queue, jobDefinition="root")["jobId"]

    deadline = time.monotonic() + 20
    while (status := batch.describe_jobs(jobs=[job])["jobs"][0]["status"]) not in (
            "SUCCEEDED", "FAILED") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _containers_created(docker_client, started, name) == []
    assert status == "SUCCEEDED"  # moto's docker-less Batch: done at once


def test_lambda_invoke_answers_without_a_container(aws):
    """moto's Lambda would pull a runtime image and run the function's code on the host's Docker."""
    iam = aws("iam")
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps(TRUST).replace(
        "batch.", "lambda."))["Role"]["Arn"]
    lam = aws("lambda")
    name = f"probe-{uuid.uuid4().hex[:10]}"
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=role,
                        Handler="index.handler", Code={"ZipFile": _zip_of("def handler(e, c): 1")})
    answer = lam.invoke(FunctionName=name, Payload=b'{"hello": 1}')
    assert "FunctionError" not in answer
    assert json.loads(answer["Payload"].read()) == {"hello": 1}  # the docker-less echo


def _zip_of(source: str) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", source)
    return buffer.getvalue()
