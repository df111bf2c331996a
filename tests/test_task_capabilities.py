"""What a task's containers may do to their network beneath IP: no NET_RAW unless the task
definition adds it (with it a task could forge ARP on its bridge and take a neighbour's
address, which is how the emulator tells tasks apart), and pause containers with no capability
at all; no label of the emulator's own from a task definition (engine/container_specs.py,
runtime/docker_network.py, ecs/task_definition_containers.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.groups import HOST
from tests.test_task_credentials import python_image  # noqa: F401  (a fixture)
from tests.test_task_metadata import container_of, output_of, register, run, stop

# python_image may build its image: one build at a time on this host.
pytestmark = [pytest.mark.docker, HOST]

NET_RAW_BIT = 13  # CAP_NET_RAW, linux/capability.h
PROBE = """
import socket
caps = int(next(l for l in open('/proc/self/status') if l.startswith('CapEff')).split()[1], 16)
try:
    socket.socket(socket.AF_PACKET, socket.SOCK_RAW).close()
    packet = 'opened'
except PermissionError:
    packet = 'refused'
print(f'<<caps={caps:x} packet={packet}>>', flush=True)
"""


def _probe(docker_client, arn, name) -> tuple[int, str]:
    printed = output_of(docker_client, arn, name, ">>", timeout=60)
    caps, packet = re.search(r"<<caps=([0-9a-f]+) packet=(\w+)>>", printed).groups()
    return int(caps, 16), packet


def _effective(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^CapEff:\s*([0-9a-f]+)$", status, re.M).group(1), 16)


def test_a_task_has_no_net_raw_unless_its_definition_adds_it(ecs, cluster, python_image,
                                                           docker_client):
    command = ["sh", "-c", 'python3 -c "$PROBE"; sleep 300']
    environment = [{"name": "PROBE", "value": PROBE}]
    definition = register(
        ecs,
        {"name": "plain", "image": python_image, "memory": 64, "command": command,
         "environment": environment,
         # the user's own drop list is kept beside ours
         "linuxParameters": {"capabilities": {"drop": ["MKNOD"]}}},
        {"name": "raw", "image": python_image, "memory": 64, "command": command,
         "environment": environment, "essential": False,
         "linuxParameters": {"capabilities": {"add": ["NET_RAW"]}}},
        family="caps", networkMode="awsvpc")  # EC2's: Fargate adds no NET_RAW
    arn = run(ecs, cluster, definition, networkConfiguration={
        "awsvpcConfiguration": {"subnets": ["subnet-1"]}})
    caps, packet = _probe(docker_client, arn, "plain")
    assert (caps >> NET_RAW_BIT) & 1 == 0 and packet == "refused"
    assert (caps >> 27) & 1 == 0  # CAP_MKNOD: the definition's own drop
    assert (caps >> 0) & 1 == 1  # CAP_CHOWN: the rest of Docker's defaults stay
    caps, packet = _probe(docker_client, arn, "raw")
    assert (caps >> NET_RAW_BIT) & 1 == 1 and packet == "opened"
    # The pause container holding the task's network namespace runs with no capability.
    sandbox = container_of(docker_client, arn, "plain").attrs["HostConfig"]["NetworkMode"]
    assert sandbox.startswith("container:")
    pause = docker_client.api.inspect_container(sandbox.split(":", 1)[1])
    assert _effective(pause["State"]["Pid"]) == 0
    stop(ecs, cluster, arn, docker_client)


def test_a_task_definition_cannot_set_the_emulators_own_labels(ecs):
    with pytest.raises(ClientError) as raised:
        ecs.register_task_definition(family="labels", containerDefinitions=[{
            "name": "app", "image": "busybox", "memory": 32,
            "dockerLabels": {"team": "web", "ecs-emulator.state-dir": "/tmp/elsewhere"}}])
    error = raised.value.response
    assert error["Error"]["Code"] == "ClientException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "'ecs-emulator.' is the emulator's own (ecs-emulator.state-dir)" in error[
        "Error"]["Message"]
    assert ecs.list_task_definitions(familyPrefix="labels")["taskDefinitionArns"] == []


def test_a_tasks_container_starts_only_so_many_processes(ecs, cluster, busybox_image,
                                                         docker_client, monkeypatch):
    # A fork bomb in a task would take every pid of this host: the task has a pids budget, which
    # its containers split. Made small here, so that going past it costs this host nothing.
    from emulator.engine import container_specs

    monkeypatch.setattr(container_specs, "TASK_PIDS_LIMIT", 80)
    monkeypatch.setattr(container_specs, "CONTAINER_PIDS_FLOOR", 8)
    # A subshell starts 80 sleeps, and dies at its first fork refused; the shell then counts
    # what runs with builtins only (it may fork nothing more) and becomes the last process.
    script = ("(i=0; while [ $i -lt 80 ]; do sleep 300 & i=$((i+1)); done) 2>/dev/null; "
              "set -- /proc/[0-9]*; echo \"<<procs=$#>>\"; exec sleep 300")
    definition = register(ecs, {"name": "app", "image": busybox_image, "memory": 64,
                                "command": ["sh", "-c", script]},
                          {"name": "sidecar", "image": busybox_image, "memory": 32,
                           "command": ["sleep", "300"]}, family="pids")
    arn = run(ecs, cluster, definition)
    printed = output_of(docker_client, arn, "app", ">>", timeout=60)
    procs = int(re.search(r"<<procs=(\d+)>>", printed).group(1))
    assert 30 < procs <= 40  # the shell and the sleeps it could start (81 without a limit)
    for name in ("app", "sidecar"):  # half the task's budget each
        assert container_of(docker_client, arn, name).attrs["HostConfig"]["PidsLimit"] == 40
    stop(ecs, cluster, arn, docker_client)
