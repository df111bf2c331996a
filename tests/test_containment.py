"""Containers stay in their lane: what a task's container, a container outside the emulator's
network, and a network namespace routed to this host can reach (access/).

Real tasks probe the endpoints with busybox's wget, or with boto3 from the python image, and
print what they got; the tests read it back from Docker.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import uuid

import pytest

from emulator.metadata.link_local import ADDRESS as LINK_LOCAL
from emulator.runtime import labels
from tests.groups import HOST
from tests.test_task_credentials import make_role, python_image  # noqa: F401  (a fixture)
from tests.test_task_metadata import environment_of, output_of, register, run, stop
from tests.waiting import task_of, wait_for_task

pytestmark = [pytest.mark.docker, HOST]


@pytest.fixture(scope="module")
def ecs_emulator(link_local_emulator):
    """This module's emulator serves credentials on 169.254.170.2 (where the host allows)."""
    return link_local_emulator

# probe URL [wget options]: one line "<<URL rc=N BODY>>" (busybox wget prints errors on stderr).
PROBE = 'p() { out=$(wget -qO- "$@" 2>&1); echo "<<$1 rc=$? $out>>"; }; '
# A WebSocket upgrade, as the session-manager-plugin opens a data channel (busybox's wget
# treats a 101 as an error and exits; its -T crashes it).
UPGRADE = ("--header 'Upgrade: websocket' --header 'Connection: Upgrade' "
           "--header 'Sec-WebSocket-Version: 13' "
           "--header 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='")
LIST_TASKS = ("--header 'X-Amz-Target: AmazonEC2ContainerServiceV20141113.ListTasks' "
              "--header 'Content-Type: application/x-amz-json-1.1' "
              "--post-data '{\"cluster\": \"work\"}'")


def probes(printed: str) -> dict[str, tuple[int, str]]:
    """URL -> (wget's exit code, what it printed), from the PROBE lines of a container's output."""
    found = re.findall(r"<<(\S+) rc=(\d+) (.*?)>>", printed, re.S)
    return {url: (int(rc), body) for url, rc, body in found}


def started(ecs, cluster, docker_client, definition, **extra) -> tuple[str, dict]:
    arn = run(ecs, cluster, definition, **extra)
    wait_for_task(ecs, cluster, arn, "RUNNING")
    return arn, environment_of(docker_client, arn, "app")


@pytest.fixture
def neighbour(ecs, iam_client, cluster, busybox_image, docker_client):
    """Task B, with a role: what other tasks and strangers try to read."""
    role = make_role(iam_client, "neighbour-role")
    definition = register(ecs, {"name": "app", "image": busybox_image, "memory": 32,
                                "command": ["sleep", "300"]}, family="neighbour",
                          taskRoleArn=role)
    arn, env = started(ecs, cluster, docker_client, definition, enableExecuteCommand=True)
    yield arn, env
    stop(ecs, cluster, arn, docker_client)


@pytest.fixture
def iam_client(clean_emulator):
    return clean_emulator.client("iam")


def test_a_task_reads_its_own_metadata_and_credentials_and_nothing_else(
        ecs, iam_client, cluster, busybox_image, docker_client, neighbour):
    b_arn, b_env = neighbour
    b_id = b_arn.rsplit("/", 1)[1]
    b_key = b_env["ECS_CONTAINER_METADATA_URI_V4"].rsplit("/", 1)[1]
    # Where 169.254.170.2 cannot be served (another emulator holds it, not root), tasks get
    # their keys in the environment: the credentials probes are left out, the rest still runs.
    b_credentials = b_env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
    probed = ['"$ECS_CONTAINER_METADATA_URI_V4/task"', '"$AWS_ENDPOINT_URL/v4/$B_KEY/task"',
              '"$AWS_ENDPOINT_URL/v4/$B_KEY/task/stats"', '"$AWS_ENDPOINT_URL/_emulator/health"',
              '"$AWS_ENDPOINT_URL/_emulator/reset" --post-data ""',
              '"$AWS_ENDPOINT_URL/_emulator/tasks/$B_ID/kill" --post-data ""',
              '"$AWS_ENDPOINT_URL/moto-api/reset" --post-data ""',
              f'"$AWS_ENDPOINT_URL/" {LIST_TASKS}',
              '"$AWS_ENDPOINT_URL/v1/data-channel/$B_SESSION"',
              f'"$AWS_ENDPOINT_URL/v1/data-channel/$B_SESSION?role=publish_subscribe" {UPGRADE}']
    if b_credentials is not None:
        probed += ['"http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"',
                   '"http://169.254.170.2$B_CREDENTIALS"', '"$AWS_ENDPOINT_URL$B_CREDENTIALS"',
                   '"http://169.254.170.2/_emulator/health"',
                   f'"http://169.254.170.2/v1/data-channel/$B_SESSION" {UPGRADE}']
    # An ECS Exec session into B, opened from the host as the CLI would: its data channel is
    # not the prober's to open, on any address a container reaches.
    b_session = ecs.execute_command(cluster=cluster, task=b_arn, container="app", command="sh",
                                    interactive=True)["session"]["sessionId"]
    role = make_role(iam_client, "prober-role")
    script = PROBE + "".join(f"p {probe}; " for probe in probed) + "echo END; sleep 300"
    definition = register(ecs, {
        "name": "app", "image": busybox_image, "memory": 32, "command": ["sh", "-c", script],
        "environment": [{"name": "B_KEY", "value": b_key}, {"name": "B_ID", "value": b_id},
                        {"name": "B_SESSION", "value": b_session},
                        {"name": "B_CREDENTIALS", "value": b_credentials or ""}]},
        family="prober", taskRoleArn=role)
    arn, env = started(ecs, cluster, docker_client, definition)
    seen = probes(output_of(docker_client, arn, "app", "END"))
    endpoint = env["AWS_ENDPOINT_URL"]

    status, body = seen[f"{env['ECS_CONTAINER_METADATA_URI_V4']}/task"]
    assert status == 0 and json.loads(body)["TaskARN"] == arn  # its own metadata
    # B's metadata answers as an unknown task's.
    assert "HTTP/1.1 404" in seen[f"{endpoint}/v4/{b_key}/task"][1]
    assert "HTTP/1.1 404" in seen[f"{endpoint}/v4/{b_key}/task/stats"][1]
    # The control endpoints: refused, and nothing happened.
    for path in ("/_emulator/health", "/_emulator/reset", f"/_emulator/tasks/{b_id}/kill",
                 "/moto-api/reset"):
        assert "HTTP/1.1 403" in seen[f"{endpoint}{path}"][1], path
    assert task_of(ecs, cluster, b_arn)["lastStatus"] == "RUNNING"
    # B's exec session: its data channel refused (not upgraded, not even told to upgrade).
    for url in (f"{endpoint}/v1/data-channel/{b_session}",
                f"{endpoint}/v1/data-channel/{b_session}?role=publish_subscribe"):
        assert "HTTP/1.1 403" in seen[url][1], (url, seen[url])
    # The AWS APIs are still there for tasks: ListTasks shows both.
    status, body = seen[f"{endpoint}/"]
    assert status == 0 and set(json.loads(body)["taskArns"]) == {arn, b_arn}
    if b_credentials is not None:
        own = seen[f"http://{LINK_LOCAL}{env['AWS_CONTAINER_CREDENTIALS_RELATIVE_URI']}"]
        assert own[0] == 0 and json.loads(own[1])["RoleArn"] == role  # its own credentials
        # B's credentials answer as an unknown id's, on either address.
        assert "HTTP/1.1 400" in seen[f"http://{LINK_LOCAL}{b_credentials}"][1]
        assert "HTTP/1.1 400" in seen[f"{endpoint}{b_credentials}"][1]
        assert "HTTP/1.1 403" in seen[f"http://{LINK_LOCAL}/_emulator/health"][1]
        assert "HTTP/1.1 403" in seen[f"http://{LINK_LOCAL}/v1/data-channel/{b_session}"][1]
    stop(ecs, cluster, arn, docker_client)


ESCAPES = r'''
import os
import boto3
ecs = boto3.client("ecs")
root = {"name": "root", "host": {"sourcePath": "/"}}
mount = {"sourceVolume": "root", "containerPath": "/host"}
def attempt(name, call):
    try:
        call()
        print(name, "OK", flush=True)
    except Exception as error:
        print(name, error.response["Error"]["Code"], error.response["Error"]["Message"],
              flush=True)
def box(**extra):  # an image of the emulator's ECR: only what `extra` adds is refused
    return [{"name": "x", "image": os.environ["OWN_REGISTRY"] + "/app:1", "memory": 32, **extra}]
attempt("host-mount", lambda: ecs.register_task_definition(
    family="escape", containerDefinitions=box(mountPoints=[mount]), volumes=[root],
    pidMode="host"))
attempt("privileged", lambda: ecs.register_task_definition(
    family="escape", containerDefinitions=box(privileged=True)))
attempt("capabilities", lambda: ecs.register_task_definition(
    family="escape", containerDefinitions=box(
        linuxParameters={"capabilities": {"add": ["SYS_ADMIN"]}})))
attempt("scheduling", lambda: ecs.register_task_definition(
    family="escape", containerDefinitions=box(ulimits=[
        {"name": "rtprio", "softLimit": 99, "hardLimit": 99}])))
attempt("bind-volume", lambda: ecs.register_task_definition(
    family="escape", containerDefinitions=box(), volumes=[{"name": "v",
    "dockerVolumeConfiguration": {"scope": "task", "driver": "local",
    "driverOpts": {"type": "none", "o": "bind", "device": "/"}}}]))
attempt("run-operators", lambda: ecs.run_task(cluster="work", taskDefinition="operator",
    overrides={"containerOverrides": [{"name": "x", "command": ["touch", "/host/pwned"]}]}))
attempt("service-operators", lambda: ecs.create_service(cluster="work", serviceName="s",
    taskDefinition="operator", desiredCount=1))
attempt("fixed-port", lambda: ecs.register_task_definition(
    family="escape", containerDefinitions=box(portMappings=[{"containerPort": 80,
                                                             "hostPort": 4749}])))
attempt("run-operators-port", lambda: ecs.run_task(cluster="work", taskDefinition="operator-port"))
attempt("ephemeral-port", lambda: ecs.register_task_definition(
    family="plain", containerDefinitions=box(portMappings=[
        {"containerPort": 80, "hostPort": 0}, {"containerPort": 81, "hostPort": 50000}])))
def shared(name):
    return [{"name": name, "dockerVolumeConfiguration": {"scope": "shared", "driver": "local",
                                                         "autoprovision": True}}]
attempt("foreign-volume", lambda: ecs.register_task_definition(
    family="volumes", containerDefinitions=box(), volumes=shared(os.environ["FOREIGN"])))
attempt("run-foreign-volume", lambda: ecs.run_task(cluster="work",
                                                   taskDefinition="operator-volume"))
attempt("emulators-volume", lambda: ecs.register_task_definition(
    family="volumes", containerDefinitions=box(), volumes=shared(os.environ["OURS"])))
attempt("new-volume", lambda: ecs.register_task_definition(
    family="volumes", containerDefinitions=box(), volumes=shared(os.environ["NEW"])))
attempt("task-volume", lambda: ecs.register_task_definition(
    family="volumes", containerDefinitions=box(), volumes=shared(os.environ["TASKS"])))
attempt("unmade-task-volume", lambda: ecs.register_task_definition(
    family="volumes", containerDefinitions=box(), volumes=shared("ecs-0123456789ab-data")))
for registry in ("127.0.0.1:5000", "localhost:5000", "[::1]:5000"):
    attempt("local-registry", lambda: ecs.register_task_definition(
        family="images", containerDefinitions=[{"name": "x", "image": registry + "/app:1",
                                                "memory": 32}]))
attempt("own-registry", lambda: ecs.register_task_definition(
    family="images", containerDefinitions=[{"name": "x", "memory": 32,
                                            "image": os.environ["OWN_REGISTRY"] + "/app:1"}]))
attempt("local-image", lambda: ecs.register_task_definition(
    family="images", containerDefinitions=[{"name": "x", "memory": 32,
                                            "image": os.environ["LOCAL_IMAGE"]}]))
attempt("run-local-image", lambda: ecs.run_task(cluster="work", taskDefinition="operator-image"))
attempt("plain", lambda: ecs.register_task_definition(family="plain",
                                                      containerDefinitions=box()))
print("END", flush=True)
'''


@pytest.fixture
def docker_volumes(docker_client):
    """volume(labels=None): a Docker volume made here (as a user's, or as an emulator's when
    labelled so); all removed at the end."""
    made = []

    def volume(labels=None):
        made.append(docker_client.volumes.create(f"ecs-test-{uuid.uuid4().hex[:10]}",
                                                 labels=labels))
        return made[-1].name

    yield volume
    for volume in made:
        volume.remove(force=True)


def test_a_task_cannot_register_or_run_what_reaches_the_host(
        ecs, cluster, python_image, docker_client, docker_volumes, clean_emulator):
    # The operator's own privileged definition, registered from the host: allowed, as before
    # (real-time scheduling too).
    ecs.register_task_definition(
        family="operator", containerDefinitions=[{
            "name": "x", "image": "busybox", "memory": 32, "privileged": True,
            "ulimits": [{"name": "rtprio", "softLimit": 99, "hardLimit": 99}]}])
    # The operator's fixed host port, theirs to publish.
    ecs.register_task_definition(
        family="operator-port", containerDefinitions=[{
            "name": "x", "image": "busybox", "memory": 32,
            "portMappings": [{"containerPort": 80, "hostPort": 4749}]}])
    # The operator's local build (this test's own image), theirs to run.
    ecs.register_task_definition(
        family="operator-image", containerDefinitions=[{"name": "x", "image": python_image,
                                                        "memory": 32}])
    # Another project's volume, one another emulator made as shared (its labels: its tasks'
    # data), and one an emulator made for a task of its own (another task's private data).
    foreign = docker_volumes()
    ours = docker_volumes({labels.INSTANCE: "elsewhere", labels.VOLUME_SCOPE: "shared"})
    tasks = docker_volumes({labels.INSTANCE: "elsewhere"})
    # The operator may name their own volume, as before.
    ecs.register_task_definition(
        family="operator-volume", containerDefinitions=[{"name": "x", "image": "busybox",
                                                         "memory": 32}],
        volumes=[{"name": foreign, "dockerVolumeConfiguration": {"scope": "shared"}}])
    definition = register(ecs, {
        "name": "app", "image": python_image, "memory": 128,
        "command": ["sh", "-c", 'python3 -c "$SCRIPT"; sleep 300'],
        "environment": [{"name": "SCRIPT", "value": ESCAPES},
                        {"name": "FOREIGN", "value": foreign}, {"name": "OURS", "value": ours},
                        {"name": "TASKS", "value": tasks},
                        # a local build that is surely on the engine (the emulator's own image
                        # is only once test_container_image.py has built it)
                        {"name": "LOCAL_IMAGE", "value": python_image},
                        {"name": "NEW", "value": f"ecs-test-{uuid.uuid4().hex[:10]}"},
                        {"name": "OWN_REGISTRY", "value": clean_emulator.endpoint_url.split(
                            "//", 1)[1]},
                        {"name": "AWS_ACCESS_KEY_ID", "value": "test"},
                        {"name": "AWS_SECRET_ACCESS_KEY", "value": "test"}]},
        family="attacker")
    arn = run(ecs, cluster, definition)
    printed = output_of(docker_client, arn, "app", "END", timeout=120)
    lines = {line.split(" ", 1)[0]: line for line in printed.splitlines() if " " in line}
    for name in ("host-mount", "privileged", "capabilities", "scheduling", "bind-volume",
                 "run-operators", "service-operators", "foreign-volume", "run-foreign-volume",
                 "local-image", "run-local-image", "task-volume", "unmade-task-volume",
                 "emulators-volume", "fixed-port", "run-operators-port"):
        assert lines[name].startswith(f"{name} AccessDeniedException "), printed
    assert "made for one task only" in lines["task-volume"]
    assert "which another emulator made" in lines["emulators-volume"]
    assert "publishes the host ports [4749]" in lines["fixed-port"]
    assert "publishes the host ports [4749]" in lines["run-operators-port"]
    assert "kept for tasks' own volumes" in lines["unmade-task-volume"]
    assert "access to the host" in lines["host-mount"] and "pidMode host" in lines["host-mount"]
    assert "ECS_EMULATOR_ALLOW_TASK_HOST_ACCESS" in lines["privileged"]
    assert "sets the ulimits ['rtprio']" in lines["scheduling"]
    assert f"the Docker volume '{foreign}', which the emulator did not make" in lines[
        "run-foreign-volume"]
    # The operator's local builds: no registry served them.
    assert (f"runs the image '{python_image}', whose copy on the engine no registry "
            "served") in lines["local-image"]
    assert f"runs the image '{python_image}', whose copy" in lines["run-local-image"]
    local = [line for line in printed.splitlines() if line.startswith("local-registry ")]
    assert len(local) == 3 and all(" AccessDeniedException " in line and
                                   "a registry on the emulator's host" in line
                                   for line in local), printed
    for name in ("plain", "new-volume", "own-registry", "ephemeral-port"):  # the rest goes on
        assert lines[name] == f"{name} OK", printed
    families = ecs.list_task_definition_families()["families"]
    assert sorted(families) == ["attacker", "images", "operator", "operator-image",
                                "operator-port", "operator-volume", "plain", "volumes"]
    assert ecs.list_tasks(cluster="work")["taskArns"] == [arn]
    assert ecs.list_services(cluster="work")["serviceArns"] == []
    stop(ecs, cluster, arn, docker_client)


# -- strangers: Docker's default bridge, and a network namespace routed to this host ------------

CLOSED = ("error getting response", "Connection reset by peer")


def test_a_container_on_dockers_default_bridge_is_refused(
        clean_emulator, busybox_image, docker_client, neighbour):
    b_arn, b_env = neighbour
    endpoint = clean_emulator.emulator.container_endpoint()
    key = b_env["ECS_CONTAINER_METADATA_URI_V4"].rsplit("/", 1)[1]
    urls = [f"{endpoint}/v4/{key}/task", f"{endpoint}/_emulator/health"]
    if "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI" in b_env:
        relative = b_env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]
        urls += [f"http://{LINK_LOCAL}{relative}", f"{endpoint}{relative}"]
    script = PROBE + "; ".join(f'p "{url}"' for url in urls)
    runtime = clean_emulator.emulator.engine.runtime
    stranger = docker_client.containers.run(
        busybox_image, ["sh", "-c", script], network_mode="bridge", detach=True,
        labels=runtime.labels({"ecs-emulator.test": "stranger"}))
    try:
        stranger.wait(timeout=60)
        seen = probes(stranger.logs().decode())
    finally:
        stranger.remove(force=True)
    assert set(seen) == set(urls)
    for url, (status, said) in seen.items():
        # Connected (the host answers on every interface), then closed before any answer.
        assert status != 0 and any(reason in said for reason in CLOSED), (url, said)


NAMESPACE_PROBE = r'''
import socket, sys
path = sys.argv[1]
# A request; bytes that are no HTTP (a TLS hello); a head over the limit: each used to be
# answered (400, 431) by the listener before the gate had a say.
payloads = [f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode(), b"\x16\x03\x01\x02\x00\x01",
            b"GET / HTTP/1.1\r\nX: " + b"a" * 40000 + b"\r\n\r\n"]
for host, port in [(a.rsplit(":", 1)[0], int(a.rsplit(":", 1)[1])) for a in sys.argv[2:]]:
    for payload in payloads:
        s = socket.create_connection((host, port), timeout=5)
        try:
            s.sendall(payload)
            answer = s.recv(100)
        except OSError as error:
            answer = repr(error).encode()
        print(f"{host}:{port} connected, answered {answer!r}", flush=True)
'''


def test_a_network_namespace_routed_to_this_host_is_refused(clean_emulator, neighbour):
    if shutil.which("ip") is None:
        pytest.skip("no `ip` command (iproute2) here")
    endpoint = clean_emulator.emulator.container_endpoint()
    targets = [endpoint.split("//", 1)[1]]
    # What it asks for: the neighbour's credentials, else its metadata.
    path = neighbour[1].get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
    if path is not None:
        targets.append(f"{LINK_LOCAL}:80")
    else:
        path = "/v4/" + neighbour[1]["ECS_CONTAINER_METADATA_URI_V4"].rsplit("/", 1)[1]
    name = f"ecsemu-{uuid.uuid4().hex[:6]}"
    host_end, ns_end = f"vh{name[-6:]}", f"vn{name[-6:]}"
    octet = int(name[-2:], 16)
    setup = [["ip", "netns", "add", name],
             ["ip", "link", "add", host_end, "type", "veth", "peer", "name", ns_end],
             ["ip", "link", "set", ns_end, "netns", name],
             ["ip", "addr", "add", f"10.251.{octet}.1/30", "dev", host_end],
             ["ip", "link", "set", host_end, "up"],
             ["ip", "-n", name, "addr", "add", f"10.251.{octet}.2/30", "dev", ns_end],
             ["ip", "-n", name, "link", "set", ns_end, "up"],
             ["ip", "-n", name, "route", "add", "default", "via", f"10.251.{octet}.1"]]
    try:
        made = subprocess.run(setup[0], capture_output=True, text=True)
        if made.returncode != 0:  # a container without CAP_SYS_ADMIN, say
            pytest.skip(f"cannot make a network namespace here: {made.stderr.strip()}")
        for command in setup[1:]:
            subprocess.run(command, check=True, capture_output=True)
        result = subprocess.run(["ip", "netns", "exec", name, "python3", "-c", NAMESPACE_PROBE,
                                 path, *targets], capture_output=True, text=True, timeout=60)
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
        subprocess.run(["ip", "link", "del", host_end], capture_output=True)
    lines = result.stdout.splitlines()
    assert len(lines) == 3 * len(targets), result.stderr
    for target, line in zip([t for t in targets for _ in range(3)], lines):
        # The host accepted the connection (it routes there) and closed it unanswered.
        assert line in (f"{target} connected, answered b''",
                        f"{target} connected, answered b\"ConnectionResetError(104, "
                        "'Connection reset by peer')\"",
                        f"{target} connected, answered b\"BrokenPipeError(32, "
                        "'Broken pipe')\""), line


# -- many idle connections from a task ----------------------------------------------------------

# Once the task is tagged "go" (the test has counted its threads), opens 100 connections to the
# emulator and sends nothing; counts those still open.
FLOOD = ('hp=${AWS_ENDPOINT_URL#http://}; h=${hp%:*}; p=${hp##*:}; '
         'until wget -qO- "$ECS_CONTAINER_METADATA_URI_V4/taskWithTags" | grep -q \'"go"\'; '
         'do sleep 0.2; done; '
         'for i in $(seq 100); do sleep 600 | nc $h $p & done; sleep 1; echo FLOODED; sleep 1; '
         'echo "OPEN $(netstat -tn | grep -c " $h:$p  *ESTABLISHED")"; echo END; sleep 300')
# Another container of the task, on its own address: its calls once the flood is in.
NEIGHBOURLY = PROBE + ('until wget -qO- "$ECS_CONTAINER_METADATA_URI_V4/taskWithTags" | grep -q '
                       '\'"go"\'; do sleep 0.2; done; sleep 2; '
                       'p "$ECS_CONTAINER_METADATA_URI_V4/task"; '
                       f'p "$AWS_ENDPOINT_URL/" {LIST_TASKS}; echo END; sleep 300')


def test_a_task_holding_many_idle_connections_costs_only_its_own(
        clean_emulator, ecs, cluster, busybox_image, docker_client):
    from emulator.access.gate import PEER_IDLE_LIMIT

    definition = register(
        ecs, {"name": "flood", "image": busybox_image, "memory": 96,  # 200 processes
              "command": ["sh", "-c", FLOOD]},
        {"name": "probe", "image": busybox_image, "memory": 32,
         "command": ["sh", "-c", NEIGHBOURLY]}, family="flood", networkMode="bridge")
    arn = run(ecs, cluster, definition)
    wait_for_task(ecs, cluster, arn, "RUNNING")
    before = set(threading.enumerate())
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "go", "value": "1"}])
    output_of(docker_client, arn, "flood", "FLOODED")
    # Idle connections hold no thread: a thread each would be 100 more. A few of the emulator's
    # own may start meanwhile (one seen under load: 52 threads, not 51), e.g. a listener's
    # admission thread, started at the first caller Docker must be asked about.
    new = [t.name for t in set(threading.enumerate()) - before]
    assert len(new) < 10, new
    opened = int(output_of(docker_client, arn, "flood", "END").split("OPEN ", 1)[1].split()[0])
    # The emulator closed the longest idle of the flood's: as many stay as one address may keep.
    assert opened == PEER_IDLE_LIMIT
    seen = probes(output_of(docker_client, arn, "probe", "END"))
    endpoint = environment_of(docker_client, arn, "probe")["AWS_ENDPOINT_URL"]
    status, body = seen[f"{endpoint}/"]
    assert status == 0 and json.loads(body)["taskArns"] == [arn]
    status, body = next(v for url, v in seen.items() if url.endswith("/task"))
    assert status == 0 and json.loads(body)["TaskARN"] == arn
    stop(ecs, cluster, arn, docker_client)
