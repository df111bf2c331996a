"""Task scale-in protection: UpdateTaskProtection and GetTaskProtection through boto3, the service
scheduler sparing protected tasks when it scales in and rolls a deployment forward, protection
lapsing on time, and the agent's endpoint at $ECS_AGENT_URI/task-protection/v1/state that the
task's own containers call."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.waiting import wait_for, wait_for_task

pytestmark = pytest.mark.docker

CLUSTER = "guarded"
SERVE = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})
PYTHON = "ecs-emulator-test/python-boto3:latest"


@pytest.fixture
def cluster(ecs):
    ecs.create_cluster(clusterName=CLUSTER)
    return CLUSTER


def definition(ecs, image, family="worker", command=SERVE, **spec) -> str:
    return ecs.register_task_definition(family=family, containerDefinitions=[{
        "name": "main", "image": image, "memory": 64, "command": command, "stopTimeout": 2}],
        **spec)["taskDefinition"]["taskDefinitionArn"]


def live_tasks(ecs, service="worker") -> list[str]:
    return sorted(ecs.list_tasks(cluster=CLUSTER, serviceName=service)["taskArns"])


def running_service(ecs, image, count: int) -> list[str]:
    ecs.create_service(cluster=CLUSTER, serviceName="worker", desiredCount=count,
                       taskDefinition=definition(ecs, image))
    ecs.get_waiter("services_stable").wait(cluster=CLUSTER, services=["worker"],
                                           WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return live_tasks(ecs)


def events(ecs) -> list[str]:
    return [e["message"] for e in ecs.describe_services(
        cluster=CLUSTER, services=["worker"])["services"][0]["events"]]


UNDER_PROTECTION = "(service worker) was unable to scale in due to (reason: {} tasks under protection)."


def test_update_and_get_task_protection(ecs, cluster, busybox_image):
    first, second = running_service(ecs, busybox_image, 2)
    before = dt.datetime.now(dt.timezone.utc)
    answer = ecs.update_task_protection(cluster=CLUSTER, tasks=[first], protectionEnabled=True)
    assert answer["failures"] == []
    (protected,) = answer["protectedTasks"]
    assert protected["taskArn"] == first and protected["protectionEnabled"] is True
    # Two hours unless told otherwise.
    assert abs((protected["expirationDate"] - before).total_seconds() - 7200) < 60

    answer = ecs.update_task_protection(cluster=CLUSTER, tasks=[second.rsplit("/", 1)[1]],
                                        protectionEnabled=True, expiresInMinutes=5)
    assert abs((answer["protectedTasks"][0]["expirationDate"] - before).total_seconds() - 300) < 60

    got = ecs.get_task_protection(cluster=CLUSTER, tasks=[first, second, "f" * 32])
    assert [t["protectionEnabled"] for t in got["protectedTasks"]] == [True, True]
    assert got["failures"] == [{"arn": "f" * 32, "reason": "MISSING"}]

    ecs.update_task_protection(cluster=CLUSTER, tasks=[second], protectionEnabled=False)
    (off,) = ecs.get_task_protection(cluster=CLUSTER, tasks=[second])["protectedTasks"]
    assert off == {"taskArn": second, "protectionEnabled": False}

    # A task outside a service cannot be protected: TASK_NOT_VALID, as on ECS.
    standalone = ecs.run_task(cluster=CLUSTER, taskDefinition=definition(
        ecs, busybox_image, family="alone"))["tasks"][0]["taskArn"]
    answer = ecs.update_task_protection(cluster=CLUSTER, tasks=[standalone], protectionEnabled=True)
    assert answer["protectedTasks"] == []
    assert [(f["arn"], f["reason"]) for f in answer["failures"]] == [(standalone, "TASK_NOT_VALID")]

    def refusal(call, **params):
        with pytest.raises(ClientError) as excinfo:
            call(cluster=CLUSTER, **params)
        return excinfo.value.response["Error"]["Code"]

    assert refusal(ecs.update_task_protection, tasks=[first], protectionEnabled=True,
                   expiresInMinutes=2881) == "InvalidParameterException"
    assert refusal(ecs.update_task_protection, tasks=[first], protectionEnabled=True,
                   expiresInMinutes=0) == "InvalidParameterException"
    assert refusal(ecs.update_task_protection, tasks=[first] * 11,
                   protectionEnabled=True) == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:
        ecs.get_task_protection(cluster="nowhere", tasks=[first])
    assert excinfo.value.response["Error"]["Code"] == "ClusterNotFoundException"


def test_scale_in_spares_protected_tasks_until_protection_ends(ecs, cluster, busybox_image,
                                                               clean_emulator):
    tasks = running_service(ecs, busybox_image, 3)
    keep = tasks[:2]
    ecs.update_task_protection(cluster=CLUSTER, tasks=keep, protectionEnabled=True)

    # Down to one: the unprotected task goes, and one protected task too many stays.
    ecs.update_service(cluster=CLUSTER, service="worker", desiredCount=1)
    wait_for(lambda: live_tasks(ecs), lambda arns: arns == sorted(keep))
    wait_for(lambda: events(ecs), lambda found: UNDER_PROTECTION.format(1) in found)
    assert all(t["lastStatus"] == "RUNNING"
               for t in ecs.describe_tasks(cluster=CLUSTER, tasks=keep)["tasks"])

    # Protection lapses on time: make one expire a second from now (an hour is long for a test).
    with clean_emulator.emulator.ecs.lock:
        for store in clean_emulator.emulator.ecs.stores():
            task = store.tasks.get(keep[1])
            if task is not None:
                task.protected_until = (dt.datetime.now(dt.timezone.utc)
                                        + dt.timedelta(seconds=1))
    assert ecs.get_task_protection(cluster=CLUSTER, tasks=[keep[1]])["protectedTasks"][0][
        "protectionEnabled"] is True
    wait_for(lambda: live_tasks(ecs), lambda arns: arns == [keep[0]], timeout=30)
    assert ecs.get_task_protection(cluster=CLUSTER, tasks=[keep[1]])["protectedTasks"] == []


def test_a_deployment_waits_for_protected_tasks(ecs, cluster, busybox_image):
    (old,) = running_service(ecs, busybox_image, 1)
    ecs.update_task_protection(cluster=CLUSTER, tasks=[old], protectionEnabled=True)
    ecs.update_service(cluster=CLUSTER, service="worker", forceNewDeployment=True,
                       deploymentConfiguration={"minimumHealthyPercent": 0, "maximumPercent": 200})
    wait_for(lambda: live_tasks(ecs), lambda arns: len(arns) == 2 and old in arns)
    wait_for(lambda: events(ecs), lambda found: UNDER_PROTECTION.format(1) in found)
    service = ecs.describe_services(cluster=CLUSTER, services=["worker"])["services"][0]
    assert service["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    assert len(service["deployments"]) == 2

    ecs.update_task_protection(cluster=CLUSTER, tasks=[old], protectionEnabled=False)
    ecs.get_waiter("services_stable").wait(cluster=CLUSTER, services=["worker"],
                                           WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    assert old not in live_tasks(ecs)
    service = ecs.describe_services(cluster=CLUSTER, services=["worker"])["services"][0]
    assert service["deployments"][0]["rolloutState"] == "COMPLETED"


def agent_uri(docker_client, task_arn: str) -> str:
    (container,) = docker_client.containers.list(
        filters={"label": f"ecs-emulator.task-arn={task_arn}"})
    env = dict(item.split("=", 1) for item in container.attrs["Config"]["Env"])
    return env["ECS_AGENT_URI"]


def call(url: str, body: bytes | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method="PUT" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_agent_endpoint_answers_as_the_agent_does(ecs, cluster, busybox_image, docker_client,
                                                      clean_emulator):
    role = clean_emulator.client("iam").create_role(
        RoleName="worker", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    ecs.create_service(cluster=CLUSTER, serviceName="worker", desiredCount=1,
                       taskDefinition=definition(ecs, busybox_image, taskRoleArn=role))
    (task,) = wait_for(lambda: live_tasks(ecs), lambda arns: len(arns) == 1)
    wait_for_task(ecs, CLUSTER, task, "RUNNING")
    state = agent_uri(docker_client, task) + "/task-protection/v1/state"

    status, body = call(state, b'{"ProtectionEnabled": true, "ExpiresInMinutes": 30}')
    assert status == 200 and set(body) == {"protection"}
    protection = body["protection"]
    assert protection["ProtectionEnabled"] is True and protection["TaskArn"] == task
    expires = dt.datetime.fromisoformat(protection["ExpirationDate"].replace("Z", "+00:00"))
    assert abs((expires - dt.datetime.now(dt.timezone.utc)).total_seconds() - 1800) < 60
    assert call(state)[1]["protection"]["ProtectionEnabled"] is True
    assert ecs.get_task_protection(cluster=CLUSTER, tasks=[task])["protectedTasks"][0][
        "protectionEnabled"] is True

    assert call(state, b'{"ProtectionEnabled": true, "Forever": 1}') == (400, {"error": {
        "Code": "InvalidParameterException",
        "Message": "UpdateTaskProtection: failed to decode request"}})
    assert call(state, b'{"ExpiresInMinutes": 5}') == (400, {"error": {
        "Arn": task, "Code": "InvalidParameterException",
        "Message": "Invalid request: does not contain 'ProtectionEnabled' field"}})
    status, body = call(state, b'{"ProtectionEnabled": true, "ExpiresInMinutes": 3000}')
    assert status == 400 and body["error"]["Code"] == "InvalidParameterException"
    assert body["error"]["Arn"] == task and body["requestID"]
    assert call(state, b'{"ProtectionEnabled": false}') == (200, {"protection": {
        "ExpirationDate": None, "ProtectionEnabled": False, "TaskArn": task}})
    assert call(state.replace("/api/", "/api/0")) == (404, {"error": {
        "Code": "ResourceNotFoundException", "Message": "Failed to find a task for the request"}})

    # Standalone tasks: ECS's failure, passed on. Without a task role: refused by the agent.
    standalone = ecs.run_task(cluster=CLUSTER, taskDefinition=definition(
        ecs, busybox_image, family="alone", taskRoleArn=role))["tasks"][0]["taskArn"]
    bare = ecs.run_task(cluster=CLUSTER, taskDefinition=definition(
        ecs, busybox_image, family="bare"))["tasks"][0]["taskArn"]
    for arn in (standalone, bare):
        wait_for_task(ecs, CLUSTER, arn, "RUNNING")
    status, body = call(agent_uri(docker_client, standalone) + "/task-protection/v1/state")
    assert status == 200 and body["failure"]["Reason"] == "TASK_NOT_VALID"
    assert body["failure"]["Arn"] == standalone
    assert call(agent_uri(docker_client, bare) + "/task-protection/v1/state") == (403, {"error": {
        "Arn": bare, "Code": "AccessDeniedException",
        "Message": "Invalid Request: no task IAM role credentials available for task"}})


@pytest.fixture(scope="session")
def python_image():
    script = Path(__file__).resolve().parent.parent / "scripts" / "build-test-images.sh"
    subprocess.run([str(script), "--python"], check=True)
    return PYTHON


PROTECT_MYSELF = (
    "import json, os, time, urllib.request\n"
    "url = os.environ['ECS_AGENT_URI'] + '/task-protection/v1/state'\n"
    "body = json.dumps({'ProtectionEnabled': True, 'ExpiresInMinutes': 60}).encode()\n"
    "request = urllib.request.Request(url, data=body, method='PUT')\n"
    "print(urllib.request.urlopen(request).read().decode(), flush=True)\n"
    "time.sleep(600)\n")


# Exits with the HTTP status it got, less 300 (404 -> 104, 200 -> a failure of its own: 1).
UNPROTECT_ANOTHER = (
    "import os, sys, urllib.error, urllib.request\n"
    "url = os.environ['OTHER'] + '/task-protection/v1/state'\n"
    "request = urllib.request.Request(url, data=b'{\"ProtectionEnabled\": false}', method='PUT')\n"
    "try:\n"
    "    urllib.request.urlopen(request)\n"
    "    sys.exit(1)\n"
    "except urllib.error.HTTPError as error:\n"
    "    sys.exit(error.code - 300)\n")


def test_a_task_protects_itself_from_inside(ecs, cluster, python_image, clean_emulator,
                                            docker_client):
    role = clean_emulator.client("iam").create_role(
        RoleName="self-guard", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    ecs.create_service(cluster=CLUSTER, serviceName="worker", desiredCount=1,
                       taskDefinition=definition(ecs, python_image, taskRoleArn=role,
                                                 command=["python3", "-c", PROTECT_MYSELF]))
    (task,) = wait_for(lambda: live_tasks(ecs), lambda arns: len(arns) == 1)
    wait_for(lambda: ecs.get_task_protection(cluster=CLUSTER, tasks=[task])["protectedTasks"],
             lambda found: found and found[0]["protectionEnabled"], timeout=60)

    # Another task cannot unprotect it: to a container, another task's endpoint does not exist.
    other = ecs.run_task(cluster=CLUSTER, taskDefinition=definition(
        ecs, python_image, family="meddler", taskRoleArn=role,
        command=["python3", "-c", UNPROTECT_ANOTHER]), overrides={"containerOverrides": [
            {"name": "main", "environment": [
                {"name": "OTHER", "value": agent_uri(docker_client, task)}]}]})["tasks"][0]
    stopped = wait_for_task(ecs, CLUSTER, other["taskArn"], "STOPPED")
    assert stopped["containers"][0]["exitCode"] == 404 - 300
    assert ecs.get_task_protection(cluster=CLUSTER, tasks=[task])["protectedTasks"][0][
        "protectionEnabled"] is True

    ecs.update_service(cluster=CLUSTER, service="worker", desiredCount=0)
    wait_for(lambda: events(ecs), lambda found: UNDER_PROTECTION.format(1) in found)
    assert live_tasks(ecs) == [task]
