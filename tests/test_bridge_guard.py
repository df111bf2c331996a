"""The anti-spoofing guard on Docker's default bridge (emulator/runtime/bridge_guard.py) against
attacks, on a real kernel with real containers: plain `docker run` containers on docker0, no
emulator.

A "task" is a busybox container admitted into the guard; a stranger is any other container there,
with Docker's default NET_RAW, crafting frames with tests/bridge_frames.py (python image). Each
attack runs twice: unguarded, where it must work (so the test can fail), and guarded, where it
must not. docker0 is the host's: the module is in the HOST group. What must keep working, and the
guard's life (release, close, SIGKILL, sweep): test_bridge_guard_life.py.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from emulator.runtime import bridge_guard
from emulator.runtime.bridge_guard import make_guard
from tests.bridge_boxes import (BRIDGE, Box, admitted, api, boxes, gateway,  # noqa: F401
                                guard, tables)
from tests.groups import HOST
from tests.test_task_credentials import python_image  # noqa: F401  (a fixture)

pytestmark = [pytest.mark.docker, HOST,
              pytest.mark.skipif(os.geteuid() != 0, reason="nftables and docker0 need root")]

LINK_LOCAL = "169.254.170.2"
FRAMES = (Path(__file__).parent / "bridge_frames.py").read_text()
LEARN = f"/sys/class/net/{BRIDGE}/bridge/no_linklocal_learn"


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


# A UDP listener run in a python box: binds, says so in /tmp/ready, then writes what it heard (or
# "nothing" after its timeout) to /tmp/heard.
LISTEN = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", int(sys.argv[1])))
s.settimeout(float(sys.argv[2]))
open("/tmp/ready", "w").close()
try:
    heard = repr(s.recvfrom(100))
except socket.timeout:
    heard = "nothing"
open("/tmp/heard.part", "w").write(heard)
import os; os.rename("/tmp/heard.part", "/tmp/heard")
"""


def file_of(box: Box, path: str, seconds: float) -> str:
    """The text of `path` in `box` once it exists (waiting up to `seconds`)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        code, output = box.run("cat", path)
        if code == 0:
            return output
        time.sleep(0.2)
    raise AssertionError(f"no {path} in {box.id[:12]} after {seconds} s")


def routed_back(sender: Box, source: str, listener: Box) -> str:
    """What `listener`'s UDP socket hears when `sender` sends IPv4 from `source` to `listener`'s
    address in frames to the gateway's MAC, which the host routes back onto the bridge."""
    result = listener.api.exec_create(listener.id, ["python3", "-c", LISTEN, "5353", "4"])
    listener.api.exec_start(result["Id"], detach=True)
    file_of(listener, "/tmp/ready", 20)
    attack(sender, "udp", "own", source, bridge_mac(), listener.ip, "5353", "-")
    return file_of(listener, "/tmp/heard", 20)


@pytest.mark.parametrize("source", ["off-link", "the stranger's"])
def test_nothing_is_routed_into_a_task_from_a_stranger(protection, boxes, source):
    """The red team's finding: a stranger's IPv4 to the task's address in a frame to the gateway's
    MAC was routed by the host back out to the task, with any forged source (a blind DNS answer
    from the task's off-link nameserver, an ICMP error, a TCP reset)."""
    task, stranger = admitted(protection, boxes("attacker")), boxes("attacker")
    forged = "8.8.8.8" if source == "off-link" else stranger.ip
    heard = routed_back(stranger, forged, task)
    assert (f"(b'spoofed', ('{forged}', 40000))" in heard) is (protection is None), heard


def test_nothing_is_routed_from_a_task_to_a_stranger(protection, boxes):
    """The other way: a task's IPv4 to a stranger's address, in a frame to the gateway's MAC."""
    task, stranger = admitted(protection, boxes("attacker")), boxes("attacker")
    heard = routed_back(task, task.ip, stranger)
    assert (f"(b'spoofed', ('{task.ip}', 40000))" in heard) is (protection is None), heard


@pytest.fixture
def elsewhere():
    """A network namespace of the test's own, joined to the host by a veth pair: what it sends
    reaches the host by an interface other than the bridge, as a tunnel's decapsulated packets
    (tunl0, gre0, a VXLAN device) would. Yields (namespace, the inner interface, the host
    side's MAC); both removed after the test."""
    name = f"gfx{uuid.uuid4().hex[:8]}"
    namespace = f"ecs-guard-test-{name}"
    commands = [["ip", "netns", "add", namespace],
                ["ip", "link", "add", name, "type", "veth", "peer", "name", f"{name}p", "netns",
                 namespace],
                ["ip", "link", "set", name, "up"],
                ["ip", "-n", namespace, "link", "set", f"{name}p", "up"]]
    try:
        for command in commands:
            subprocess.run(command, check=True, capture_output=True)
        yield namespace, f"{name}p", Path(f"/sys/class/net/{name}/address").read_text().strip()
    finally:
        subprocess.run(["ip", "link", "del", name], capture_output=True)
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True)


SEND = """
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
for _ in range(10):
    s.sendto(b"tunnelled", (sys.argv[2], int(sys.argv[3])))
    time.sleep(0.05)
"""


def test_a_task_address_from_another_interface_reaches_no_host_socket(protection, boxes,
                                                                       gateway, elsewhere):
    """The gate tells a task by its source address: a packet from the task's address that comes
    in by another interface than docker0 (a tunnel's inner packet) must not reach it."""
    namespace, inner, host_mac = elsewhere
    task = admitted(protection, boxes("task"))
    for command in (["addr", "add", f"{task.ip}/32", "dev", inner],
                    ["route", "add", f"{gateway}/32", "dev", inner],
                    ["neigh", "add", gateway, "lladdr", host_mac, "dev", inner, "nud",
                     "permanent"]):
        subprocess.run(["ip", "-n", namespace, *command], check=True, capture_output=True)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind((gateway, 0))
        listener.settimeout(2)
        subprocess.run(["ip", "netns", "exec", namespace, sys.executable, "-c", SEND, task.ip,
                        gateway, str(listener.getsockname()[1])], check=True)
        try:
            data, (source, _) = listener.recvfrom(100)
        except socket.timeout:
            data, source = b"", ""
    assert (data == b"tunnelled" and source == task.ip) is (protection is None)
