"""The default bridge's anti-spoofing guard (runtime/bridge_guard.py) wired into tasks, through
Docker: with ECS_EMULATOR_TASK_NETWORK=default-bridge each task's namespace holder is admitted
as Docker starts it, a stranger on docker0 that forges ARP for a task's address is not served as
the task, the address is released when the task stops, and a holder the guard refuses fails its
task. Without Docker: test_bridge_guard_wiring_units.py.

One emulator for the module, serving credentials on 169.254.170.2 (tests.groups.HOST: it takes
that address, puts containers on docker0 and filters docker0).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
from dataclasses import replace

import pytest

from emulator.metadata.link_local import ADDRESS as LINK_LOCAL
from emulator.pytest_plugin import running_emulator
from emulator.runtime.bridge_guard import GuardError
from tests.groups import HOST
from tests.test_cli import start  # noqa: F401  (a fixture)
from tests.test_containment import probes
from tests.test_task_credentials import make_role
from tests.test_task_metadata import container_of, environment_of, register, run, stop
from tests.waiting import wait_for, wait_for_task

pytestmark = [pytest.mark.docker, HOST]

# busybox's wget has no working timeout of its own (its -T crashes it): a dropped SYN would hang
PROBE = 'p() { out=$(timeout 5 wget -qO- "$@" 2>&1); echo "<<$1 rc=$? $out>>"; }; '
AWSVPC = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}


@pytest.fixture(scope="module")
def ecs_emulator(ecs_emulator_settings):
    with running_emulator(replace(ecs_emulator_settings, link_local_credentials=True,
                                  task_network="default-bridge")) as handle:
        runtime = handle.emulator.engine.runtime
        if not runtime.default_bridge:
            pytest.skip(f"no guarded default bridge here: {runtime._bridge_refused}")
        table = runtime.holders.guard.table
        yield handle
    # The emulator's stop closes its engines' runtimes, and with them the guard's table.
    listed = subprocess.run(["nft", "list", "tables", "bridge"], capture_output=True, text=True,
                            check=True).stdout
    assert table not in listed.split(), listed


def _nft_ips(table: str, gone_is_empty: bool = False) -> set[str]:
    """The addresses the guard's nftables set holds, as the kernel lists them (with
    `gone_is_empty`, none of a table that went meanwhile: another process's)."""
    listed = subprocess.run(["nft", "list", "set", "bridge", table, "ips"], capture_output=True,
                            text=True, check=not gone_is_empty).stdout
    elements = re.search(r"elements = \{([^}]*)\}", listed)
    return set(re.findall(r"\d+\.\d+\.\d+\.\d+", elements.group(1))) if elements else set()


def _holder(docker_client, arn: str, mode: str) -> tuple[str, str]:
    """The task's namespace holder on docker0 (its sandbox, or its container): (id, address)."""
    container = container_of(docker_client, arn, "app")
    network = container.attrs["HostConfig"]["NetworkMode"]
    holder = network.split(":", 1)[1] if network.startswith("container:") else container.id
    assert (mode == "awsvpc") == network.startswith("container:")
    endpoint = docker_client.api.inspect_container(holder)["NetworkSettings"]["Networks"]["bridge"]
    return holder, endpoint["IPAddress"]


def _started(ecs, iam, cluster, image, mode: str) -> tuple[str, dict]:
    role = make_role(iam, f"guarded-{mode}")
    definition = register(ecs, {"name": "app", "image": image, "memory": 32, "command": [
        "sh", "-c", PROBE + 'p "$ECS_CONTAINER_METADATA_URI_V4/task"; '
        f'p "http://{LINK_LOCAL}$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"; echo END; sleep 300']},
        family=f"guarded-{mode}", networkMode=mode, taskRoleArn=role)
    arn = run(ecs, cluster, definition, **({"networkConfiguration": AWSVPC}
                                            if mode == "awsvpc" else {}))
    wait_for_task(ecs, cluster, arn, "RUNNING")
    return arn, {"role": role}


def _what_it_got(docker_client, arn: str) -> dict:
    container = container_of(docker_client, arn, "app")
    return probes(wait_for(lambda: container.logs().decode(), lambda text: "END" in text))


@pytest.mark.parametrize("mode", ["bridge", "awsvpc"])
def test_a_task_on_the_default_bridge_is_guarded_and_a_forger_is_not_served_as_it(
        mode, ecs, cluster, busybox_image, docker_client, clean_emulator):
    emulator = clean_emulator.emulator
    runtime = emulator.engine.runtime
    guard = runtime.holders.guard
    endpoint = emulator.container_endpoint()
    gateway = runtime.ensure_network()[1]
    arn, said = _started(ecs, clean_emulator.client("iam"), cluster, busybox_image, mode)
    holder, address = _holder(docker_client, arn, mode)
    env = environment_of(docker_client, arn, "app")

    # Admitted before it ran: in the kernel's set and the gate's word; its own metadata and
    # credentials served (its first calls came at once).
    assert guard.guarded(address) and address in _nft_ips(guard.table)
    seen = _what_it_got(docker_client, arn)
    metadata = f"{env['ECS_CONTAINER_METADATA_URI_V4']}/task"
    credentials = f"http://{LINK_LOCAL}{env['AWS_CONTAINER_CREDENTIALS_RELATIVE_URI']}"
    status, body = seen[metadata]
    assert status == 0 and json.loads(body)["TaskARN"] == arn
    status, body = seen[credentials]
    assert status == 0 and json.loads(body)["RoleArn"] == said["role"]

    # A container of no task's on docker0, with Docker's NET_RAW (and NET_ADMIN, to send from
    # the address once it has it), takes the task's address: it tells the bridge by ARP that
    # the address is its own (unsolicited and answer mode) and asks for the task's metadata
    # and credentials from it. Without the guard this is served as the task.
    prefix = docker_client.api.inspect_network("bridge")["IPAM"]["Config"][0]["Subnet"]
    forge = (f"ip addr flush dev eth0; ip addr add {address}/{prefix.split('/')[1]} dev eth0; "
             f"ip route add default via {gateway}; "
             f"arping -U -c 2 -s {address} -I eth0 {gateway}; "
             f"arping -A -c 2 -s {address} -I eth0 {gateway}; "
             + PROBE + f'p "{metadata}"; p "{credentials}"; p "{endpoint}/"; echo END')
    forger = docker_client.containers.run(
        busybox_image, ["sh", "-c", forge], network_mode="bridge", cap_add=["NET_ADMIN"],
        detach=True, labels=runtime.labels({"ecs-emulator.test": "forger"}))
    try:
        forger_mac = docker_client.api.inspect_container(forger.id)[
            "NetworkSettings"]["Networks"]["bridge"]["MacAddress"]
        forger.wait(timeout=90)
        printed = forger.logs().decode()
    finally:
        forger.remove(force=True)
    seen = probes(printed)
    assert set(seen) == {metadata, credentials, f"{endpoint}/"}, printed
    for url, (status, body) in seen.items():
        assert status != 0 and arn not in body and "AccessKeyId" not in body, (url, body)
    # This host still takes the address for the task's own.
    neighbour = subprocess.run(["ip", "neigh", "show", address, "dev", "docker0"],
                               capture_output=True, text=True).stdout
    assert forger_mac not in neighbour, neighbour

    # The task keeps working: its own calls are still its own.
    # (on a loaded machine the task's next calls took longer than the forger's 5 s probes:
    # they get 30 s)
    check = docker_client.api.exec_create(
        container_of(docker_client, arn, "app").id,
        ["sh", "-c", PROBE.replace("timeout 5", "timeout 30")
         + f'p "{metadata}"; p "{credentials}"'])
    seen = probes(docker_client.api.exec_start(check).decode())
    assert seen[metadata][0] == 0 and json.loads(seen[metadata][1])["TaskARN"] == arn
    assert seen[credentials][0] == 0 and "AccessKeyId" in seen[credentials][1]

    # Stopped: its address is released (the next container Docker starts there is nobody's
    # task, and must not be cut off).
    stop(ecs, cluster, arn, docker_client)
    assert not guard.guarded(address)
    assert address not in _nft_ips(guard.table)
    assert holder not in runtime.holders.admitted()


def test_a_dead_holders_address_is_released_though_dockers_word_of_its_exit_is_lost(
        ecs, cluster, busybox_image, docker_client, clean_emulator, monkeypatch):
    """The guard lets go of a holder's address as the kernel deletes its port, not only when
    Docker's die or destroy event is handled (later: events come one at a time; or never after
    a dockerd restart): Docker gives the address to the next container it starts, maybe another
    emulator's task, which every guard still holding it cuts off (two guards:
    test_bridge_guard_life.py)."""
    runtime = clean_emulator.emulator.engine.runtime
    guard = runtime.holders.guard
    definition = register(ecs, {"name": "app", "image": busybox_image, "memory": 32,
                                "command": ["sleep", "300"]}, family="lost-exit")
    arn = run(ecs, cluster, definition)
    wait_for_task(ecs, cluster, arn, "RUNNING")
    holder, address = _holder(docker_client, arn, "bridge")
    assert guard.guarded(address) and address in _nft_ips(guard.table)
    monkeypatch.setattr(runtime.holders, "release", lambda container_id: None)  # never told
    docker_client.api.kill(holder)
    wait_for(lambda: guard.guarded(address), lambda held: not held, timeout=5)
    assert address not in _nft_ips(guard.table)
    wait_for_task(ecs, cluster, arn, "STOPPED")
    monkeypatch.undo()
    runtime.holders.release(holder)  # (the word, late: nothing left to release but the record)
    assert holder not in runtime.holders.admitted()


def test_a_holder_the_guard_refuses_fails_its_task_and_leaves_nothing(
        ecs, cluster, busybox_image, docker_client, clean_emulator, monkeypatch):
    guard = clean_emulator.emulator.engine.runtime.holders.guard

    def refuse(sandbox_key, mac, ipv4):
        raise GuardError(f"no port of docker0 for {sandbox_key}")

    monkeypatch.setattr(guard, "admit", refuse)
    definition = register(ecs, {"name": "app", "image": busybox_image, "memory": 32,
                                "command": ["sleep", "300"]}, family="refused-bridge")
    arn = run(ecs, cluster, definition)
    task = wait_for_task(ecs, cluster, arn, "STOPPED")
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].startswith(
        "CannotStartContainerError: its address on the default bridge could not be guarded: "
        "no port of docker0 for "), task["stoppedReason"]
    definition = register(ecs, {"name": "app", "image": busybox_image, "memory": 32,
                                "command": ["sleep", "300"]}, family="refused-vpc",
                          networkMode="awsvpc")
    arn_vpc = run(ecs, cluster, definition, networkConfiguration=AWSVPC)
    task = wait_for_task(ecs, cluster, arn_vpc, "STOPPED")
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].startswith(
        "ResourceInitializationError: its address on the default bridge could not be guarded"), \
        task["stoppedReason"]
    runtime = clean_emulator.emulator.engine.runtime
    for failed in (arn, arn_vpc):
        assert docker_client.containers.list(
            all=True, filters={"label": f"com.amazonaws.ecs.task-arn={failed}"}) == []
    assert runtime.holders.admitted() == {}
    assert docker_client.api.containers(all=True, filters={"label": [
        f"ecs-emulator.instance={runtime.instance_id}", "ecs-emulator.role=pause"]}) == []


def _tables_holding(address: str) -> list[str]:
    """The guard tables (any process's) whose set of task addresses holds `address`."""
    from emulator.runtime.bridge_guard import TABLE_PREFIX

    listed = subprocess.run(["nft", "list", "tables", "bridge"], capture_output=True, text=True,
                            check=True).stdout
    tables = [line.split()[-1] for line in listed.splitlines()
              if line.split()[-1].startswith(TABLE_PREFIX)]
    return [table for table in tables if address in _nft_ips(table, gone_is_empty=True)]


def test_a_persisted_emulators_tasks_are_guarded_again_after_kill_9(
        start, tmp_path, busybox_image, docker_client):
    """The guard's table is the process's own: the kernel drops it with a killed emulator, and
    the next one admits the tasks it adopts before serving them."""
    from tests.test_cli import free_port
    from tests.test_persistence import Emulator, remove_everything, settle_writes

    emulator = Emulator(start, tmp_path, free_port())
    emulator.env.update(ECS_EMULATOR_TASK_NETWORK="default-bridge",
                        ECS_EMULATOR_LINK_LOCAL_CREDENTIALS="0")  # (the module's emulator's)
    emulator.up()
    try:
        ecs = emulator.client("ecs")
        ecs.create_cluster(clusterName="dev")
        holders = {}
        for mode in ("bridge", "awsvpc"):
            definition = register(ecs, {"name": "app", "image": busybox_image, "memory": 32,
                                        "command": ["sleep", "600"]},
                                  family=f"kept-{mode}", networkMode=mode)
            arn = run(ecs, "dev", definition,
                      **({"networkConfiguration": AWSVPC} if mode == "awsvpc" else {}))
            wait_for_task(ecs, "dev", arn, "RUNNING")
            holders[arn] = _holder(docker_client, arn, mode)
        emulator.instance = (tmp_path / "state" / "instance").read_text()
        for arn, (_, address) in holders.items():
            assert len(_tables_holding(address)) == 1, address
        settle_writes(tmp_path / "state", holders)

        emulator.running.stop(signal.SIGKILL)
        for arn, (_, address) in holders.items():
            wait_for(lambda: _tables_holding(address), lambda tables: tables == [])
        emulator.up()
        for arn, (holder, address) in holders.items():
            [table] = wait_for(lambda: _tables_holding(address), lambda tables: len(tables) == 1)
            task = ecs.describe_tasks(cluster="dev", tasks=[arn])["tasks"][0]
            assert task["lastStatus"] == "RUNNING", task.get("stoppedReason")
            container = container_of(docker_client, arn, "app")
            code, out = container.exec_run(
                ["sh", "-c", 'wget -qO- "$ECS_CONTAINER_METADATA_URI_V4/task"'])
            assert code == 0 and json.loads(out)["TaskARN"] == arn, out
        for arn in holders:
            stop(ecs, "dev", arn, docker_client)
            # released as its port goes, which the guard's watch thread hears a moment later
            # (under CI's load it had not yet when the stop's answer came)
            assert wait_for(lambda: _tables_holding(holders[arn][1]), lambda t: t == [],
                            timeout=10) == []
        assert emulator.running.stop() == 0
    finally:
        if emulator.running is not None:
            emulator.running.kill()
        if emulator.instance:
            remove_everything(docker_client, emulator.instance)
