"""What the ECS agent serves a task, for a task on a Docker Engine other than the default one
(issue 15): its awslogs lines in CloudWatch Logs, an ECS Exec session in its container, its
metadata and Docker stats, its role's credentials on 169.254.170.2, the same containment as on the
default engine (control endpoints refused, no host access through the API), and that engine's own
pool of ready awsvpc sandboxes.

One extra dockerd (tests/extra_engines.py) beside the machine's, shared by the module's tests;
the task probes the endpoints with busybox's wget and prints what it got, which the test reads
back from CloudWatch Logs (so the log shipper on that engine is proven on the way).
"""

from __future__ import annotations

import json
import subprocess

import docker
import pytest

from emulator.config import Settings
from emulator.pytest_plugin import EmulatorHandle, start_server
from emulator.runtime import labels
from tests.extra_engines import ExtraEngine, needs_root_and_dockerd
from tests.groups import HOST
from tests.test_containment import LIST_TASKS, PROBE, probes
from tests.test_ecs_exec import execute_command, needs_plugin
from tests.test_task_credentials import make_role
from tests.waiting import wait_for, wait_for_task

pytestmark = [needs_root_and_dockerd, HOST]  # an extra engine, 169.254.170.2 (tests/groups.py)

CLUSTER = "services"
GROUP = "/ecs/engine-b"
ON_B = [{"type": "memberOf", "expression": "attribute:ecs.availability-zone == us-east-1b"}]
AWSVPC = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
# RegisterTaskDefinition of a privileged container: the host, which a task may not ask for.
PRIVILEGED = ("--header 'X-Amz-Target: AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition' "
              "--header 'Content-Type: application/x-amz-json-1.1' --post-data "
              "'{\"family\": \"escape\", \"containerDefinitions\": [{\"name\": \"a\", "
              "\"image\": \"busybox\", \"memory\": 32, \"privileged\": true}]}'")


@pytest.fixture(scope="module")
def engine_b(busybox_image):
    engine = ExtraEngine("services-b", 7)
    try:
        engine.start()
        engine.load(busybox_image)
        yield engine
    finally:
        engine.remove()
    # The machine's engine keeps its bridge whatever the extra one did.
    assert subprocess.run(["ip", "link", "show", "docker0"], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def emulator(engine_b):
    settings = Settings(host="127.0.0.1", port=0, strict_responses=True, steady_after_s=1.0,
                        engines=(("b", engine_b.host),))
    server = start_server(settings)
    try:
        yield EmulatorHandle(server)
    finally:
        server.stop()
        api = engine_b.api()  # what it made on engine b is gone with it
        try:
            assert api.containers(all=True, filters={"label": [labels.INSTANCE]}) == []
            assert api.networks(filters={"label": [labels.INSTANCE]}) == []
        finally:
            api.close()


@pytest.fixture
def world(emulator, engine_b, busybox_image):
    emulator.reset()
    ecs = emulator.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    client = docker.DockerClient(base_url=engine_b.host)
    yield {"ecs": ecs, "emulator": emulator, "b": client, "image": busybox_image,
           "index": engine_b.index}
    client.close()


def _run_on_b(ecs, definition: str, **params) -> str:
    response = ecs.run_task(cluster=CLUSTER, taskDefinition=definition, launchType="EC2",
                            placementConstraints=ON_B, **params)
    assert response["failures"] == []
    return response["tasks"][0]["taskArn"]


def _log_lines(logs, stream: str, until: str) -> str:
    def lines():
        try:
            events = logs.get_log_events(logGroupName=GROUP, logStreamName=stream)["events"]
        except logs.exceptions.ResourceNotFoundException:
            return ""
        return "\n".join(e["message"] for e in events)

    return wait_for(lines, lambda text: until in text, timeout=60)


@needs_plugin
def test_a_task_on_another_engine_is_served_as_on_the_default_one(world):
    ecs, emulator = world["ecs"], world["emulator"]
    role = make_role(emulator.client("iam"), "engine-b-role")
    default_endpoint = emulator.emulator.container_endpoint()
    probed = ['"$ECS_CONTAINER_METADATA_URI_V4/task"', '"$ECS_CONTAINER_METADATA_URI_V4/stats"',
              '"$ECS_CONTAINER_METADATA_URI_V4/task/stats"',
              '"http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"',
              '"$AWS_ENDPOINT_URL$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"',
              f'"$AWS_ENDPOINT_URL/" {LIST_TASKS.replace("work", CLUSTER)}',
              '"$AWS_ENDPOINT_URL/_emulator/health"', '"$AWS_ENDPOINT_URL/moto-api/reset" '
              '--post-data ""', f'"{default_endpoint}/_emulator/reset" --post-data ""',
              '"http://169.254.170.2/_emulator/health"', f'"$AWS_ENDPOINT_URL/?escape" {PRIVILEGED}']
    script = ('echo hello-from-b; echo "in-$ECS_CONTAINER_METADATA_URI_V4" > /tmp/who; ' + PROBE + "".join(f"p {probe}; " for probe in probed)
              + "echo END; trap 'exit 0' TERM; while true; do sleep 1; done")
    definition = ecs.register_task_definition(
        family="probe", networkMode="awsvpc", taskRoleArn=role, containerDefinitions=[{
            "name": "app", "image": world["image"], "memory": 32, "command": ["sh", "-c", script],
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": GROUP, "awslogs-region": "us-east-1",
                "awslogs-stream-prefix": "b", "awslogs-create-group": "true"}}}],
    )["taskDefinition"]["taskDefinitionArn"]
    arn = _run_on_b(ecs, definition, enableExecuteCommand=True, networkConfiguration=AWSVPC)
    task = wait_for_task(ecs, CLUSTER, arn, "RUNNING")
    assert task["availabilityZone"] == "us-east-1b"
    task_id = arn.rsplit("/", 1)[1]
    [container] = world["b"].containers.list(filters={"label": [
        f"{labels.TASK_ARN}={arn}", f"{labels.CONTAINER_NAME}=app"]})
    env = dict(item.split("=", 1) for item in container.attrs["Config"]["Env"])

    # awslogs: the shipper reads the container's log on engine b.
    printed = _log_lines(emulator.client("logs"), f"b/app/{task_id}", "END")
    assert printed.startswith("hello-from-b")
    seen = probes(printed)
    # Containers of engine b call the gateway of engine b's own default bridge (its ecsx<index>,
    # not the machine's docker0), where its tasks are by default (ECS_EMULATOR_TASK_NETWORK).
    bridge = world["b"].networks.get("bridge").attrs
    assert bridge["Options"]["com.docker.network.bridge.name"] == f"ecsx{world['index']}"
    gateway = bridge["IPAM"]["Config"][0]["Gateway"]
    assert env["AWS_ENDPOINT_URL"].startswith(f"http://{gateway}:")
    endpoint = env["AWS_ENDPOINT_URL"]
    metadata_uri = env["ECS_CONTAINER_METADATA_URI_V4"]

    # Its own metadata, with its container's Docker state read from engine b.
    status, body = seen[f"{metadata_uri}/task"]
    document = json.loads(body)
    assert status == 0 and document["TaskARN"] == arn
    assert document["Containers"][0]["DockerId"] == container.id
    # (read by the container as it starts: the start may not be noted yet)
    assert document["Containers"][0]["KnownStatus"] in ("CREATED", "RUNNING")
    # Stats from engine b: the container's sample and the task's, keyed by its Docker id.
    status, body = seen[f"{metadata_uri}/stats"]
    assert status == 0 and json.loads(body)["memory_stats"]["usage"] > 0
    status, body = seen[f"{metadata_uri}/task/stats"]
    assert status == 0 and json.loads(body)[container.id]["id"] == container.id
    # The role's credentials on 169.254.170.2, as on ECS (and on its gateway). Where this host
    # cannot serve that address (another emulator holds it), the keys are in the environment.
    relative = env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
    if relative is not None:
        for url in (f"http://169.254.170.2{relative}", f"{endpoint}{relative}"):
            status, body = seen[url]
            assert status == 0 and json.loads(body)["RoleArn"] == role, (url, body)
    else:
        sts = emulator.client("sts", aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                              aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                              aws_session_token=env["AWS_SESSION_TOKEN"])
        assert sts.get_caller_identity()["Arn"].endswith(f":assumed-role/engine-b-role/{task_id}")
    # The AWS APIs as a task: ListTasks shows it.
    status, body = seen[f"{endpoint}/"]
    assert status == 0 and json.loads(body)["taskArns"] == [arn]
    # Containment: the control endpoints refused on every listener it reaches (its engine's
    # gateway, the default engine's, 169.254.170.2), and no host access through the API.
    refused = [f"{endpoint}/_emulator/health", f"{endpoint}/moto-api/reset",
               f"{default_endpoint}/_emulator/reset"]
    for url in refused + ["http://169.254.170.2/_emulator/health"] * (relative is not None):
        assert "HTTP/1.1 403" in seen[url][1], (url, seen[url])
    assert "HTTP/1.1 400" in seen[f"{endpoint}/?escape"][1]
    assert ecs.list_task_definitions(familyPrefix="escape")["taskDefinitionArns"] == []
    assert wait_for_task(ecs, CLUSTER, arn, "RUNNING")["lastStatus"] == "RUNNING"

    # ECS Exec: the session's command runs in its container on engine b.
    status, shown = execute_command(world, arn, "cat /tmp/who", cluster=CLUSTER)
    assert status == 0, shown
    assert f"in-{metadata_uri}" in shown

    ecs.stop_task(cluster=CLUSTER, task=arn)
    wait_for_task(ecs, CLUSTER, arn, "STOPPED")


def test_another_engine_keeps_its_own_ready_sandboxes(world):
    ecs, b = world["ecs"], world["b"]
    definition = ecs.register_task_definition(
        family="pooled", networkMode="awsvpc", containerDefinitions=[{
            "name": "app", "image": world["image"], "memory": 32,
            "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]}],
    )["taskDefinition"]["taskDefinitionArn"]
    arns = [_run_on_b(ecs, definition, networkConfiguration=AWSVPC) for _ in range(2)]
    for arn in arns:  # after two tasks of one shape, a spare of that shape is kept ready
        wait_for_task(ecs, CLUSTER, arn, "RUNNING")
    pool = {"label": f"{labels.CONTAINER_NAME}=~pool"}
    [spare] = wait_for(lambda: b.containers.list(filters=pool, ignore_removed=True),
                       lambda found: len(found) == 1,
                       timeout=30)
    engines = world["emulator"].emulator.engine.engines
    wait_for(engines.engines["b"].sandboxes.ready_count, lambda n: n == 1, timeout=10)
    assert engines.default.sandboxes.ready_count() == 0  # the default engine made none
    third = _run_on_b(ecs, definition, networkConfiguration=AWSVPC)
    wait_for_task(ecs, CLUSTER, third, "RUNNING")
    [main] = b.containers.list(filters={"label": [f"{labels.TASK_ARN}={third}",
                                                   f"{labels.CONTAINER_NAME}=app"]})
    assert main.attrs["HostConfig"]["NetworkMode"] == f"container:{spare.id}"
