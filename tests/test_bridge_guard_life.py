"""The docker0 guard's life on a real kernel with real containers (emulator/runtime/
bridge_guard.py): what keeps working beside it, release, close, a SIGKILLed owner, the sweep of
dead processes' tables, and what it refuses. The attacks: test_bridge_guard.py.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import replace

import pytest

from emulator.runtime import bridge_guard, labels
from emulator.runtime.bridge_guard import GuardError, make_guard
from tests.bridge_boxes import (BRIDGE, admitted, api, boxes, gateway, guard,  # noqa: F401
                                moved, remove, tables)
from tests.groups import HOST
from tests.test_task_credentials import python_image  # noqa: F401  (a fixture)
from tests.waiting import wait_for

pytestmark = [pytest.mark.docker, HOST,
              pytest.mark.skipif(os.geteuid() != 0, reason="nftables and docker0 need root")]


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


@pytest.mark.parametrize("released_by", ["caller", "port"])
def test_a_new_container_at_a_released_address_works(guard, boxes, api, gateway, released_by):
    """Docker gives a freed address to the next container; once the guard released it, that
    container (a stranger) is not mistaken for the old task. The caller releases it when Docker
    tells of the exit; untold, the guard releases it itself when the kernel deletes the port."""
    old = admitted(guard, moved(boxes("task", cap_add=["NET_ADMIN"]), gateway))
    if released_by == "caller":
        guard.release(old.mac, old.ip)
        guard.release(old.mac, old.ip)  # idempotent
        assert not guard.guarded(old.ip)
    remove(api, old.id)
    wait_for(lambda: guard.guarded(old.ip), lambda held: not held, timeout=5)
    new = boxes("stranger", cap_add=["NET_ADMIN"])
    new.take(old.ip, old.mac, gateway)
    assert new.pings(gateway)


def test_another_guards_task_at_an_address_this_one_held_is_not_cut_off(guard, boxes, api,
                                                                         gateway):
    """Two emulators on one docker0, each with its guard: Docker gives the address (and the MAC
    made from it) of one's stopped holder to the other's next task, before the first hears of
    the exit (its events come one at a time, or never). The first guard lets go as
    the kernel deletes the port, without being told, so the other's task is not cut off:
    every guard drops the frames of a container at an address it holds, whoever started it."""
    other = make_guard(BRIDGE, gateway)  # the other emulator's
    assert not isinstance(other, str), other
    try:
        old = admitted(other, moved(boxes("task", cap_add=["NET_ADMIN"]), gateway))
        remove(api, old.id)  # its exit never told to `other`
        wait_for(lambda: other.guarded(old.ip), lambda held: not held, timeout=5)
        assert old.ip not in _set(other.table, "ips") and old.mac not in _set(other.table, "macs")
        new = boxes("task", cap_add=["NET_ADMIN"])
        new.take(old.ip, old.mac, gateway)  # as if Docker had started it there
        admitted(guard, replace(new, ip=old.ip, mac=old.mac))
        assert new.pings(gateway)
        with socket.create_connection((old.ip, 8080), timeout=5) as connection:
            connection.sendall(b"GET / HTTP/1.0\r\n\r\n")
            assert connection.makefile("rb").read().endswith(b"\r\n\r\ntask\n")
        assert guard.guarded(old.ip) and not other.guarded(old.ip)
    finally:
        other.close()


def _set(table: str, name: str) -> str:
    """The elements of one of `table`'s sets in the bridge family, as nft lists them."""
    return subprocess.run(["nft", "list", "set", "bridge", table, name], capture_output=True,
                          text=True, check=True).stdout


def test_a_killed_process_leaves_no_table(boxes, api, gateway):
    """The table is owned by the guard's netlink socket: SIGKILL its process and the kernel
    removes it, so the dead task's address works for the next container. A program the process
    started (and that keeps running) does not inherit the socket to keep the table alive."""
    task = moved(boxes("task", cap_add=["NET_ADMIN"]), gateway)
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


def test_a_bridge_made_without_an_address_keeps_the_one_it_has_once_guarded():
    """A bridge made by hand (`ip link add`, no address; dockerd gives docker0 one) takes the
    lowest MAC among its ports and changes it as they come and go: a container that learnt the
    gateway's MAC then sends to one this host no longer takes, while its neighbour entry is
    fresh (under CI's churn, docker0's changed every few seconds and tasks' calls to the
    gateway hung over 30 s). The guard pins the address the bridge has."""
    bridge, ports = "ecsguardmac", []

    def port(mac: str) -> None:
        name = f"ecsgm{len(ports)}"
        subprocess.run(["ip", "link", "add", name, "address", mac, "type", "veth", "peer",
                        "name", f"{name}p"], check=True)
        ports.append(name)
        subprocess.run(["ip", "link", "set", name, "master", bridge], check=True)

    def address() -> str:
        with open(f"/sys/class/net/{bridge}/address", encoding="ascii") as current:
            return current.read().strip()

    subprocess.run(["ip", "link", "add", bridge, "type", "bridge"], check=True)
    try:
        port("02:00:00:00:00:20")
        port("02:00:00:00:00:10")
        assert address() == "02:00:00:00:00:10"  # it follows its ports...
        guard = make_guard(bridge, "10.99.0.1")
        assert not isinstance(guard, str), guard
        try:
            subprocess.run(["ip", "link", "del", ports.pop()], check=True)  # the lowest goes
            port("02:00:00:00:00:05")
            assert address() == "02:00:00:00:00:10"  # ... no longer
        finally:
            guard.close()
    finally:
        for name in ports:
            subprocess.run(["ip", "link", "del", name], check=False)
        subprocess.run(["ip", "link", "del", bridge], check=True)


def test_two_guards_of_one_process_on_one_bridge(gateway):
    """The pytest plugin runs several emulators in one process: each makes its own guard (an
    owned table of the same name is the other guard's socket's, which the kernel refuses)."""
    first, second = make_guard(BRIDGE, gateway), make_guard(BRIDGE, gateway)
    try:
        assert not isinstance(first, str) and not isinstance(second, str), (first, second)
        assert first.table != second.table
    finally:
        for guard in (first, second):
            if not isinstance(guard, str):
                guard.close()


def test_a_task_published_port_is_reached_from_the_bridge_and_the_host(guard, boxes, api,
                                                                       gateway):
    """The guard drops IPv4 to a task's address from any other port, but a published port is
    addressed to the host (the gateway's address, before NAT): strangers on docker0 and the
    host still reach it."""
    task = admitted(guard, boxes("task", port_bindings={8080: ("0.0.0.0", None)}))
    published = api.inspect_container(task.id)["NetworkSettings"]["Ports"]["8080/tcp"][0]
    port = int(published["HostPort"])
    stranger = boxes("stranger")
    fetched = stranger.run("timeout", "5", "wget", "-qO-", f"http://{gateway}:{port}/")[1]
    assert fetched.strip() == "task"
    with socket.create_connection((gateway, port), timeout=5) as connection:
        connection.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert connection.makefile("rb").read().endswith(b"\r\n\r\ntask\n")
