"""The anti-spoofing guard on Docker's default bridge (emulator/runtime/bridge_guard.py), against a
real kernel and real containers: plain `docker run` containers on docker0, no emulator.

A "task" is a busybox container admitted into the guard; a stranger is any other container there,
with Docker's default NET_RAW, crafting frames with tests/bridge_frames.py (python image). Each
attack runs twice: unguarded, where it must work (so the test can fail), and guarded, where it
must not. docker0 is the host's: the module is in the HOST group.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from emulator.runtime import bridge_guard, labels
from emulator.runtime.bridge_guard import GuardError, make_guard
from tests.busybox import SERVE
from tests.groups import HOST
from tests.test_task_credentials import python_image  # noqa: F401  (a fixture)

pytestmark = [pytest.mark.docker, HOST,
              pytest.mark.skipif(os.geteuid() != 0, reason="nftables and docker0 need root")]

BRIDGE = "docker0"
LINK_LOCAL = "169.254.170.2"
FRAMES = (Path(__file__).parent / "bridge_frames.py").read_text()
LEARN = f"/sys/class/net/{BRIDGE}/bridge/no_linklocal_learn"
# A task serves HTTP on 8080 (busybox httpd), so the host, tasks and strangers can try to reach it.
TASK = ["sh", "-c", "echo task > /tmp/index.html; httpd -p 8080 -h /tmp; " + SERVE[-1]]


@dataclass
class Box:
    """A container on docker0, as Docker reports it."""
    id: str
    ip: str
    mac: str
    sandbox_key: str
    api: object

    def run(self, *command: str) -> tuple[int, str]:
        result = self.api.exec_create(self.id, list(command))
        output = self.api.exec_start(result["Id"]).decode(errors="replace")
        return self.api.exec_inspect(result["Id"])["ExitCode"], output

    def pings(self, address: str) -> bool:
        return self.run("ping", "-c", "1", "-W", "2", address)[0] == 0

    def fetches(self, address: str) -> bool:
        # busybox wget crashes on its own -T
        fetched = self.run("timeout", "3", "wget", "-qO-", f"http://{address}:8080/")[1]
        return fetched.strip() == "task"

    def take(self, ip: str, mac: str, gateway: str) -> None:
        """Move to `ip` and `mac` (NET_ADMIN): Docker would give a freed address to the next
        container, but other containers on the shared docker0 may be given it first."""
        script = (f"ip link set eth0 down && ip link set eth0 address {mac} && ip link set eth0 up"
                  f" && ip addr flush dev eth0 && ip addr add {ip}/16 dev eth0"
                  f" && ip route add default via {gateway}")
        code, output = self.run("sh", "-c", script)
        assert code == 0, output

    def neighbour(self, address: str) -> str:
        """The MAC this container's neighbour table holds for `address` ("" if none)."""
        shown = self.run("ip", "neigh")[1]
        found = re.search(rf"^{re.escape(address)} .*lladdr (\S+)", shown, re.M)
        return found.group(1) if found else ""


@pytest.fixture(scope="module")
def api():
    import docker

    client = docker.from_env()
    yield client.api
    client.close()


@pytest.fixture(scope="module")
def gateway() -> str:
    shown = subprocess.run(["ip", "-4", "-o", "addr", "show", BRIDGE], capture_output=True,
                           text=True, check=True).stdout
    return re.search(r"inet (\S+)/", shown).group(1)


@pytest.fixture
def boxes(api, busybox_image, python_image):  # noqa: F811
    """start(kind) -> a new container on docker0 ("task", "stranger" (busybox) or "attacker"
    (python)); all removed after the test."""
    made = []
    images = {"task": (busybox_image, TASK), "stranger": (busybox_image, SERVE),
              "attacker": (python_image, ["sleep", "600"])}

    def start(kind: str, network: str = "bridge", **host_config) -> Box:
        image, command = images[kind]
        container = api.create_container(
            image, command, name=f"guard-{kind}-{uuid.uuid4().hex[:8]}",
            labels=labels.owner_labels(labels.PROCESS_INSTANCE),
            host_config=api.create_host_config(network_mode=network, **host_config))
        made.append(container["Id"])
        api.start(container["Id"])
        return box_of(api, container["Id"], network)

    yield start
    for container in made:
        remove(api, container)


def box_of(api, container: str, network: str = "bridge") -> Box:
    settings = api.inspect_container(container)["NetworkSettings"]
    at = settings["Networks"][network]
    return Box(container, at["IPAddress"], at["MacAddress"], settings["SandboxKey"], api)


def remove(api, container: str) -> None:
    import docker

    try:
        api.remove_container(container, force=True)
    except docker.errors.NotFound:
        pass


def foreign_guards() -> list[str]:
    """Guard tables of other processes on this host (another emulator's): they stop some attacks
    on their own, so an unguarded run cannot show the attack works."""
    mine = bridge_guard.TABLE_PREFIX + f"{os.getpid()}_"
    return [line for line in tables().splitlines()
            if bridge_guard.TABLE_PREFIX in line and mine not in line]


@pytest.fixture
def learning():
    """Put the bridge's link-local learning back as it was after the test."""
    with open(LEARN) as setting:
        before = setting.read().strip()
    yield
    with open(LEARN, "w") as setting:
        setting.write(before)


def set_learning(on: bool) -> None:
    with open(LEARN, "w") as setting:
        setting.write("0" if on else "1")


@pytest.fixture
def guard(gateway):
    made = make_guard(BRIDGE, gateway)
    assert not isinstance(made, str), made
    yield made
    made.close()


@pytest.fixture(params=["unguarded", "guarded"])
def protection(request, gateway, learning):
    """None (no guard: the attack must work) or a guard (it must not)."""
    if request.param == "unguarded":
        set_learning(True)
        yield None
        return
    made = make_guard(BRIDGE, gateway)
    assert not isinstance(made, str), made
    yield made
    made.close()


def alone(protection) -> None:
    """Another emulator's guard on docker0 drops claims of the gateway's and the link-local
    address, and VLAN-tagged frames, from every port but its tasks' (where the kernel cannot
    scope rules to a bridge, on every bridge), IPv4 in frames to 01:80:c2:00:00:0x on every
    interface, and turns link-local learning off on each admission: unguarded, such an attack
    cannot be shown to work then."""
    if protection is None and foreign_guards():
        pytest.skip(f"another process guards {BRIDGE}: {foreign_guards()}")


def admitted(guard, box: Box) -> Box:
    if guard is not None:
        guard.admit(box.sandbox_key, box.mac, box.ip)
    return box


def attack(attacker: Box, *args: str) -> str:
    code, output = attacker.run("python3", "-c", FRAMES, *args)
    assert code == 0, output
    return output


def host_neighbour(address: str) -> str:
    shown = subprocess.run(["ip", "neigh", "show", address, "dev", BRIDGE], capture_output=True,
                           text=True).stdout
    found = re.search(r"lladdr (\S+)", shown)
    return found.group(1) if found else ""


def bridge_mac() -> str:
    return Path(f"/sys/class/net/{BRIDGE}/address").read_text().strip()


# -- attacks --------------------------------------------------------------------------------------

def test_forged_arp_takes_no_task_address_from_the_host(protection, boxes, gateway):
    task, attacker = admitted(protection, boxes("task")), boxes("attacker")
    try:
        attack(attacker, "arp", "1", "own", task.ip, gateway, "ff:ff:ff:ff:ff:ff")
        taken = host_neighbour(task.ip) == attacker.mac
    finally:
        subprocess.run(["ip", "neigh", "del", task.ip, "dev", BRIDGE], capture_output=True)
    assert taken is (protection is None)


def test_admission_clears_an_address_taken_before_it(gateway, boxes):
    """A stranger that forged the task's address before the guard knew the task: the host's
    ARP entry is cleared by the admission, and asked again only the task can answer."""
    task, attacker = boxes("task"), boxes("attacker")
    attack(attacker, "arp", "1", "own", task.ip, gateway, "ff:ff:ff:ff:ff:ff")
    assert host_neighbour(task.ip) == attacker.mac
    guard = make_guard(BRIDGE, gateway)
    assert not isinstance(guard, str), guard
    try:
        guard.admit(task.sandbox_key, task.mac, task.ip)
        assert host_neighbour(task.ip) == ""
        with socket.create_connection((task.ip, 8080), timeout=5):
            pass
        assert host_neighbour(task.ip) == task.mac
    finally:
        guard.close()
        subprocess.run(["ip", "neigh", "del", task.ip, "dev", BRIDGE], capture_output=True)


@pytest.mark.parametrize("claimed", ["gateway", "link-local"])
def test_forged_arp_takes_no_gateway_address_from_a_task(protection, boxes, gateway, claimed):
    alone(protection)
    address = gateway if claimed == "gateway" else LINK_LOCAL
    task, attacker = admitted(protection, boxes("task")), boxes("attacker")
    attack(attacker, "arp", "1", "own", address, task.ip, "ff:ff:ff:ff:ff:ff")
    assert (task.neighbour(address) == attacker.mac) is (protection is None)


@pytest.mark.parametrize("tags, link_local", [("-", False), ("8100:0", False),
                                             ("88a8:0,8100:0", False), ("-", True)],
                         ids=["untagged", "priority-tagged", "double-tagged", "to-link-local"])
def test_spoofed_source_address_reaches_no_host_socket(protection, boxes, gateway, tags,
                                                       link_local):
    """IPv4 from the task's address, sent to the host's gateway address: plain, in VLAN tags
    (which `ether type ip` rules miss; the host strips VLAN 0 tags), or in a frame to the
    IEEE-reserved 01:80:c2:00:00:0e, which the host takes up on the port without any bridge
    hook."""
    if tags != "-" or link_local:
        alone(protection)
    task, attacker = admitted(protection, boxes("task")), boxes("attacker")
    destination = "01:80:c2:00:00:0e" if link_local else bridge_mac()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind((gateway, 0))
        listener.settimeout(2)
        attack(attacker, "udp", "own", task.ip, destination, gateway,
               str(listener.getsockname()[1]), tags)
        try:
            data, (source, _) = listener.recvfrom(100)
        except socket.timeout:
            data, source = b"", ""
    assert (data == b"spoofed" and source == task.ip) is (protection is None)


def test_link_local_frames_divert_no_task_traffic(protection, boxes):
    """The reviewed hole: frames to 01:80:c2:00:00:0e from the task's MAC teach the bridge that
    the task is behind the attacker's port (before any prerouting hook runs); the host's frames
    to the task (its credentials, on the gate) then went to the attacker. Guarded, even with that
    learning turned back on, the frames to the task's MAC leave by the task's port only."""
    alone(protection)
    task, attacker = admitted(protection, boxes("task")), boxes("attacker")
    set_learning(True)
    marker = uuid.uuid4().hex
    stop = threading.Event()

    def host_sends():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            while not stop.wait(0.05):
                sender.sendto(marker.encode(), (task.ip, 9))

    sending = threading.Thread(target=host_sends, daemon=True)
    sending.start()
    try:
        output = attack(attacker, "divert", task.mac, "4", marker)
    finally:
        stop.set()
        sending.join()
    assert ("DIVERTED" in output) is (protection is None), output


def test_strangers_and_tasks_do_not_reach_each_other(protection, boxes):
    task, stranger = admitted(protection, boxes("task")), boxes("stranger")
    assert stranger.pings(task.ip) is (protection is None)
    assert stranger.fetches(task.ip) is (protection is None)
    assert task.pings(stranger.ip) is (protection is None)


# -- what must keep working -----------------------------------------------------------------------

def test_tasks_reach_each_other_the_gateway_and_the_host_them(guard, boxes, gateway):
    one, two = admitted(guard, boxes("task")), admitted(guard, boxes("task"))
    admitted(guard, one)  # again: replaces itself in one transaction
    assert guard.guarded(one.ip) and guard.guarded(two.ip)
    assert one.pings(two.ip) and two.fetches(one.ip)
    assert one.pings(gateway)
    with socket.create_connection((two.ip, 8080), timeout=5) as connection:
        connection.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert connection.makefile("rb").read().endswith(b"\r\n\r\ntask\n")


def test_strangers_and_other_bridges_keep_working(guard, boxes, api, gateway):
    """Beside a guarded task, containers that are not tasks reach each other and the host, on
    docker0 and on another bridge (a user-defined Docker network)."""
    admitted(guard, boxes("task"))
    one, two = boxes("stranger"), boxes("stranger")
    assert one.pings(two.ip) and two.pings(gateway)
    network = f"guard-other-{uuid.uuid4().hex[:8]}"
    api.create_network(network, labels=labels.owner_labels(labels.PROCESS_INSTANCE))
    there = []
    try:
        for _ in range(2):
            there.append(boxes("stranger", network))
        assert there[0].pings(there[1].ip)
        assert there[1].pings(api.inspect_network(network)["IPAM"]["Config"][0]["Gateway"])
    finally:
        for container in there:
            remove(api, container.id)
        api.remove_network(network)


@pytest.mark.parametrize("released", [True, False])
def test_a_new_container_at_a_released_address_works(guard, boxes, api, gateway, released):
    """Docker gives a freed address to the next container; once the guard released it, that
    container (a stranger) is not mistaken for the old task. Unreleased, it is cut off."""
    old = admitted(guard, boxes("task"))
    if released:
        guard.release(old.mac, old.ip)
        guard.release(old.mac, old.ip)  # idempotent
    assert guard.guarded(old.ip) is not released
    remove(api, old.id)
    new = boxes("stranger", cap_add=["NET_ADMIN"])
    new.take(old.ip, old.mac, gateway)
    assert new.pings(gateway) is released


def test_a_killed_process_leaves_no_table(boxes, api, gateway):
    """The table is owned by the guard's netlink socket: SIGKILL its process and the kernel
    removes it, so the dead task's address works for the next container. A program the process
    started (and that keeps running) does not inherit the socket to keep the table alive."""
    task = boxes("task")
    script = ("import subprocess, sys, time; from emulator.runtime.bridge_guard import make_guard\n"
              "g = make_guard(*sys.argv[1:3]); g.admit(*sys.argv[3:6])\n"
              "child = subprocess.Popen(['sleep', '600'], close_fds=False)\n"
              "print(g.table, child.pid, flush=True); time.sleep(600)")
    process = subprocess.Popen([sys.executable, "-c", script, BRIDGE, gateway, task.sandbox_key,
                                task.mac, task.ip], stdout=subprocess.PIPE, text=True)
    child = None
    try:
        table, child = process.stdout.readline().split()
        assert table.startswith(bridge_guard.TABLE_PREFIX + f"{process.pid}_")
        assert f"table bridge {table}\n" in tables() and f"table ip {table}\n" in tables()
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    try:
        deadline = time.monotonic() + 5
        while table in tables() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert table not in tables()
    finally:
        if child:
            os.kill(int(child), signal.SIGKILL)
    remove(api, task.id)
    new = boxes("stranger", cap_add=["NET_ADMIN"])
    new.take(task.ip, task.mac, gateway)
    assert new.pings(gateway)


def test_stale_tables_of_dead_processes_are_swept(gateway):
    """A table without the owner flag (an older version's) whose process is gone goes at the
    next make_guard; a live process's stays."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = f"{bridge_guard.TABLE_PREFIX}{dead.pid}_1_{BRIDGE}"  # started at tick 1: not alive
    live = bridge_guard.table_name("ecsguardlive", os.getppid())
    made = [(family, name) for family in bridge_guard.FAMILIES for name in (stale, live)]
    for family, name in made:
        subprocess.run(["nft", "add", "table", family, name], check=True)
    try:
        guard = make_guard(BRIDGE, gateway)
        assert not isinstance(guard, str), guard
        guard.close()
        assert stale not in tables()
        assert f"table bridge {live}\n" in tables() and f"table ip {live}\n" in tables()
    finally:
        for family, name in made:
            subprocess.run(["nft", "delete", "table", family, name], capture_output=True)


def test_admit_refuses_a_namespace_without_a_port(guard, tmp_path):
    with pytest.raises(GuardError):
        guard.admit(str(tmp_path / "no-such-netns"), "02:42:ac:11:00:63", "172.17.0.99")
    with pytest.raises(GuardError):  # our own namespace has no port on docker0
        guard.admit("/proc/self/ns/net", "02:42:ac:11:00:63", "172.17.0.99")
    assert not guard.guarded("172.17.0.99")


def test_closed_guard_leaves_no_table(gateway):
    guard = make_guard(BRIDGE, gateway)
    assert not isinstance(guard, str), guard
    assert guard.table in tables()
    guard.close()
    guard.close()
    assert guard.table not in tables()
    with pytest.raises(GuardError):
        guard.admit("/proc/self/ns/net", "02:42:ac:11:00:63", "172.17.0.99")


@pytest.mark.skipif(not os.path.exists("/proc/net/if_inet6"), reason="no IPv6 in this kernel")
def test_a_bridge_with_ipv6_is_refused(gateway):
    bridge = "ecsguard6"
    subprocess.run(["ip", "link", "add", bridge, "type", "bridge"], check=True)
    try:
        subprocess.run(["ip", "-6", "addr", "add", "fd00:ec5::1/64", "dev", bridge, "nodad"],
                       check=True)
        reason = make_guard(bridge, "10.99.0.1")
        assert isinstance(reason, str) and "IPv6" in reason
    finally:
        subprocess.run(["ip", "link", "del", bridge], check=True)


def tables() -> str:
    """`nft list tables`: every family's."""
    return subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
