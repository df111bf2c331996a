"""What a task's launch is checked on is what it launches (access/launch_pins.py).

A task names a family alone (its latest ACTIVE revision: the task's own harmless one) and,
while the host-access check asks Docker with no lock held, that revision is deregistered: the
handler must not then launch the family's other revision (the operator's privileged one). The
race is made deterministic here: the check's Docker step deregisters the revision itself. Calls
go through the app's router as a task's would (with the caller the gate tells), on the fake
runtime: the race needs no Docker.
"""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

import pytest

from api_shapes import load_service
from api_shapes.conformance import problem_with
from emulator import app as app_module
from emulator.access import host_access, launch_pins
from emulator.access.callers import Caller, CallerKind
from emulator.access.gate import CALLER_KEY
from emulator.access.rights import Rights
from emulator.app import create_app
from emulator.aws.context import RequestContext
from emulator.cloudformation.resource import EXTENSION
from emulator.config import Settings
from emulator.ecs import task_definitions
from emulator.ecs.store import EcsState
from emulator.runtime.fake import FakeRuntime
from tests.ecs_requests import ecs_request
from tests.test_container_instances import identity

ACCOUNT = "123456789012"
CTX = RequestContext(account=ACCOUNT, region="us-east-1")
SHAPES = load_service("ecs")
ROLE = f"arn:aws:iam::{ACCOUNT}:role/infra"
MANAGED = {"infrastructureRoleArn": ROLE, "instanceLaunchTemplate": {
    "ec2InstanceProfileArn": f"arn:aws:iam::{ACCOUNT}:instance-profile/ecs",
    "networkConfiguration": {"subnets": ["subnet-1"]}}}


@pytest.fixture
def emulator(monkeypatch):
    monkeypatch.setattr(app_module, "_docker_runtime",
                        lambda keeper, settings, environment=None, bridge_claims=None,
                        own_container=None: FakeRuntime())
    return create_app(Settings(keep_resources=True))


def host(emulator, operation: str, params: dict) -> dict:
    """This host's call, as a CloudFormation stack's resources make theirs."""
    return emulator.moto.extensions[EXTENSION].ecs.invoke(operation, params, CTX)


def from_task(emulator, operation: str, params: dict) -> tuple[int, dict]:
    """A task's call through the router, as the gate hands it on; checked against botocore."""
    body = json.dumps(params).encode()
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/", "QUERY_STRING": "", "SERVER_NAME": "x",
        "SERVER_PORT": "4566", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/x-amz-json-1.1",
        "HTTP_HOST": "172.30.0.1:4566",
        "HTTP_X_AMZ_TARGET": f"AmazonEC2ContainerServiceV20141113.{operation}",
        "HTTP_AUTHORIZATION": (f"AWS4-HMAC-SHA256 Credential={ACCOUNT}/20261206/us-east-1/ecs/"
                               "aws4_request, SignedHeaders=host, Signature=0"),
        CALLER_KEY: Caller(CallerKind.TASK, "172.30.0.2"),
    }
    answered = {}

    def start_response(status, headers):
        answered["status"], answered["headers"] = int(status.split()[0]), dict(headers)

    payload = b"".join(emulator.wsgi(environ, start_response))
    problem = problem_with(SHAPES, operation, answered["status"], answered["headers"], payload)
    assert problem is None, problem
    return answered["status"], json.loads(payload)


def launched(emulator) -> set[str]:
    """Every task definition ARN a task, service, deployment, task set or daemon runs."""
    store = emulator.ecs.store_for(ACCOUNT, "us-east-1")
    services = list(store.services.values()) + [d.service for d in store.daemons.values()]
    return ({t.definition.arn for t in store.tasks.values()}
            | {s.task_definition.arn for s in services if s.task_definition is not None}
            | {d.task_definition.arn for s in services for d in s.deployments + s.task_sets})


def two_revisions(emulator, family: str, daemon=False) -> tuple[str, str]:
    """The operator's privileged family:1 (registered from this host), the task's harmless
    family:2: (their ARNs)."""
    operation = "RegisterDaemonTaskDefinition" if daemon else "RegisterTaskDefinition"
    arns = []
    for extra in ({"privileged": True}, {}):
        registered = host(emulator, operation, {"family": family, "containerDefinitions": [
            {"name": "app", "image": "busybox", "memory": 32, **extra}]})
        arns.append(registered["daemonTaskDefinitionArn"] if daemon
                    else registered["taskDefinition"]["taskDefinitionArn"])
    return arns[0], arns[1]


def deregistered_while_checked(monkeypatch, emulator, arn: str, daemon=False) -> list:
    """Deregister `arn` in the check's Docker step (host_access.refusal, which runs with no lock
    held), as a task's DeregisterTaskDefinition sent at once would; the specs checked."""
    checked, real = [], host_access.refusal

    def racing(operation, spec, view=None, account=None):
        checked.append(spec)
        if daemon:
            host(emulator, "DeleteDaemonTaskDefinition", {"daemonTaskDefinition": arn})
        else:
            host(emulator, "DeregisterTaskDefinition", {"taskDefinition": arn})
        return real(operation, spec)  # the rules, without the fake runtime's Docker

    monkeypatch.setattr(host_access, "refusal", racing)
    return checked


def _cluster(emulator):
    host(emulator, "CreateCluster", {"clusterName": "c"})


def _run_task(emulator, ref):
    return {"cluster": "c", "taskDefinition": ref,
            "overrides": {"containerOverrides": [{"name": "app", "command": ["id"]}]}}


def _start_task(emulator, ref):
    instance = host(emulator, "RegisterContainerInstance", {
        "cluster": "c", "instanceIdentityDocument": identity("i-0000000000000001")})
    return {"cluster": "c", "taskDefinition": ref,
            "containerInstances": [instance["containerInstance"]["containerInstanceArn"]]}


def _create_service(emulator, ref):
    return {"cluster": "c", "serviceName": "s", "taskDefinition": ref, "desiredCount": 1}


def _update_service(emulator, ref):
    host(emulator, "CreateService", {"cluster": "c", "serviceName": "s", "desiredCount": 0,
                                     "taskDefinition": f"{ref}:2"})
    return {"cluster": "c", "service": "s", "taskDefinition": ref}


def _create_task_set(emulator, ref):
    host(emulator, "CreateService", {"cluster": "c", "serviceName": "s", "desiredCount": 0,
                                     "deploymentController": {"type": "EXTERNAL"}})
    return {"cluster": "c", "service": "s", "taskDefinition": ref}


def _create_daemon(emulator, ref):
    provider = host(emulator, "CreateCapacityProvider", {
        "name": "managed", "cluster": "c", "managedInstancesProvider": MANAGED})
    return {"daemonName": "agent", "clusterArn": "c", "daemonTaskDefinitionArn": ref,
            "capacityProviderArns": [provider["capacityProvider"]["capacityProviderArn"]]}


@pytest.mark.parametrize("operation, request_of", [
    ("RunTask", _run_task), ("StartTask", _start_task), ("CreateService", _create_service),
    ("UpdateService", _update_service), ("CreateTaskSet", _create_task_set),
    ("CreateDaemon", _create_daemon),  # Express services' member: pinned as in the unit below
])
def test_a_launch_runs_the_revision_it_was_checked_on(monkeypatch, emulator, operation,
                                                      request_of):
    _cluster(emulator)
    daemon = operation == "CreateDaemon"
    operators, tasks = two_revisions(emulator, "app", daemon)
    request = request_of(emulator, "app")
    checked = deregistered_while_checked(monkeypatch, emulator, tasks, daemon)
    status, answer = from_task(emulator, operation, request)
    assert len(checked) == 1 and not host_access.reasons(checked[0])  # app:2 passed
    assert operators not in launched(emulator), (status, answer)
    # The task's own revision, now inactive (a daemon's: deleted), is what the handler was
    # given: refused as such.
    # (RunTask and StartTask refuse an inactive revision as InvalidParameterException, as AWS
    # does: test_ecs_fidelity.py)
    code = "InvalidParameterException" if operation in ("RunTask", "StartTask") else "ClientException"
    assert status == 400 and answer["__type"] == code, answer
    assert "inactive" in answer["message"] or "Unable to describe" in answer["message"], answer


def test_a_reference_is_pinned_to_the_exact_revision_or_to_none():
    store = EcsState().store_for(ACCOUNT, "us-east-1")
    registered = task_definitions.register(store, CTX, ecs_request("RegisterTaskDefinition", {
        "family": "web", "containerDefinitions": [{"name": "x", "image": "b", "memory": 64}]}))
    pin = launch_pins.pin
    assert pin("RunTask", {"taskDefinition": "web", "count": 2}, store) == {
        "taskDefinition": registered.arn, "count": 2}
    assert pin("RunTask", {"taskDefinition": registered.arn}, store) is None  # already exact
    assert pin("UpdateExpressGatewayService", {"taskDefinitionArn": "web:1"}, store) == {
        "taskDefinitionArn": registered.arn}
    # Nothing of that name now: a revision no registration makes, so nothing later is found.
    assert pin("CreateService", {"taskDefinition": "absent"}, store) == {
        "taskDefinition": "absent:0"}
    assert pin("UpdateDaemon", {"daemonTaskDefinitionArn": "agent"}, store) == {
        "daemonTaskDefinitionArn": "agent:0"}
    # Never found, whatever is registered: left for the handler to answer.
    other = "arn:aws:ecs:us-east-1:999999999999:task-definition/web:1"
    for ref in (other, "bad name", "web:x"):
        assert pin("RunTask", {"taskDefinition": ref}, store) is None
    # A daemon's reference is read by the same rules, under its own resource type.
    for ref in ("arn:aws:ecs:us-east-1:999999999999:daemon-task-definition/agent:1",
                f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/agent:1", "bad name", "agent:x"):
        assert pin("CreateDaemon", {"daemonTaskDefinitionArn": ref}, store) is None
    assert pin("DescribeTaskDefinition", {"taskDefinition": "web"}, store) is None
    assert pin("RunTask", {"taskDefinition": 7}, store) is None


def test_a_stacks_launch_is_pinned_too():
    """A task's CloudFormation stack: its resources' calls are checked on the caller's behalf,
    and made with what was checked."""

    state = EcsState()
    store = state.store_for(ACCOUNT, "us-east-1")
    registered = task_definitions.register(store, CTX, ecs_request("RegisterTaskDefinition", {
        "family": "web", "containerDefinitions": [{"name": "x", "image": "b", "memory": 64}]}))
    service = SimpleNamespace(name="ecs", state=state)
    environ = {CALLER_KEY: Caller(CallerKind.TASK, "172.30.0.2")}
    params = {"cluster": "c", "serviceName": "s", "taskDefinition": "web"}
    assert Rights(Settings(), moto=None).check_on_behalf(
        service, "CreateService", params, environ, CTX) == {**params,
                                                           "taskDefinition": registered.arn}
    environ = {CALLER_KEY: Caller(CallerKind.HOST, "127.0.0.1")}  # this host's: as sent
    assert Rights(Settings(), moto=None).check_on_behalf(
        service, "CreateService", params, environ, CTX) is params
