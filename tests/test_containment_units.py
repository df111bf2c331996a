"""Containment without Docker: the capabilities and labels a task's container spec gets
(engine/container_specs.py), what a container's call may not register (access/host_access.py),
which engines' default bridge may hold tasks (runtime/engine_locality.py), and a view of
Docker's network read while Docker told of a change (access/callers.py). The same through
Docker: test_task_capabilities.py, test_containment.py."""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
from types import SimpleNamespace

import pytest

from emulator.access import host_access
from emulator.access.callers import Callers
from emulator.engine import container_specs
from emulator.runtime import docker_network, engine_locality
from emulator.runtime.base import NetworkMembers, TaskSandbox
from emulator.runtime.docker_runtime import DockerRuntime
from emulator.runtime.labels import INSTANCE
from emulator.runtime.status import ContainerStatus
from tests.test_access_units import _Runtime, _State
from tests.test_task_network_units import _Api, _bridge, _runtime, _task

SHAPE = container_specs.TaskShape(
    task_id="0" * 32, family="f", revision=1, network_mode="bridge", task_cpu=None,
    task_memory=None, publish_ip="127.0.0.1", volumes={}, volume_kinds={})


def _spec(**definition):
    return container_specs.build(
        SHAPE, {"name": "app", "image": "busybox", **definition}, image="busybox",
        environment={}, labels={INSTANCE: "mine"},
        sandbox=TaskSandbox(network="ecs-emulator-x", ip_address=None), runtime_ids={})


@pytest.mark.parametrize("definition, dropped", [
    ({}, ["NET_RAW"]),
    ({"linuxParameters": {"capabilities": {"drop": ["MKNOD"]}}}, ["MKNOD", "NET_RAW"]),
    ({"linuxParameters": {"capabilities": {"add": ["NET_RAW"]}}}, []),
    ({"linuxParameters": {"capabilities": {"add": ["CAP_NET_RAW"], "drop": ["MKNOD"]}}},
     ["MKNOD"]),
    ({"linuxParameters": {"capabilities": {"add": ["ALL"]}}}, []),
    ({"linuxParameters": {"capabilities": {"drop": ["ALL"], "add": ["CHOWN"]}}}, ["ALL"]),
    ({"linuxParameters": {"capabilities": {"drop": ["net_raw"]}}}, ["net_raw"]),
    ({"privileged": True}, []),
])
def test_a_tasks_container_drops_net_raw_unless_its_definition_keeps_it(definition, dropped):
    assert _spec(**definition).cap_drop == dropped


def test_a_definitions_labels_never_say_who_owns_the_container():
    """One registered before RegisterTaskDefinition refused them, or persisted so."""
    spec = _spec(dockerLabels={"team": "web", "ecs-emulator.state-dir": "/elsewhere",
                               INSTANCE: "theirs"})
    assert spec.labels == {"team": "web", INSTANCE: "mine"}


def test_real_time_scheduling_is_the_hosts_to_give():
    def reasons(*ulimits):
        return host_access.reasons({"containerDefinitions": [
            {"name": "app", "image": "busybox", "ulimits": list(ulimits)}]})

    assert reasons({"name": "nofile", "softLimit": 1024, "hardLimit": 4096}) == []
    assert reasons({"name": "rtprio", "softLimit": 99, "hardLimit": 99},
                   {"name": "nice", "softLimit": 40, "hardLimit": 40}) == [
        "container 'app' sets the ulimits ['nice', 'rtprio'] (scheduling priority on the "
        "host's CPUs)"]


# -- which engine's default bridge is this host's --------------------------------------------

def _link(proc, pid, target):
    os.makedirs(proc / str(pid) / "ns", exist_ok=True)
    os.symlink(target, proc / str(pid) / "ns" / "net")


def test_an_engine_in_a_container_or_over_tcp_is_not_proven_local():
    assert "runs in a container" in engine_locality.why_not_local(
        "unix:///var/run/docker.sock", {"OperatingSystem": "Alpine Linux v3.20 (containerized)"},
        peer_of=lambda path: pytest.fail("not asked"))
    for host in ("tcp://127.0.0.1:2375", "ssh://me@localhost"):
        assert "not proven" in engine_locality.why_not_local(host, {})
    assert "could not be asked" in engine_locality.why_not_local("unix:///nowhere.sock", {})


def _process(proc, pid, comm, net="net:[4026531833]"):
    _link(proc, pid, net)
    (proc / str(pid) / "comm").write_text(comm + "\n")


def test_the_dockerd_behind_a_unix_socket_must_share_this_network_namespace(tmp_path):
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        # SO_PEERCRED names the process at the other end: here, this one.
        assert engine_locality.peer_pid(mine) == os.getpid()
        asked = []

        def peer_of(path, pid=4242):
            asked.append(path)
            return socket.socket(fileno=os.dup(mine.fileno())), pid

        _link(tmp_path, "self", "net:[4026531833]")
        _process(tmp_path, 4242, "dockerd")
        assert engine_locality.why_not_local("unix://", {}, peer_of, proc=str(tmp_path)) is None
        assert asked == ["/var/run/docker.sock"]
        # Another namespace, as a docker:dind's socket mounted here would be.
        _process(tmp_path, 4243, "dockerd", "net:[4026532999]")
        why = engine_locality.why_not_local(
            "unix:///dind.sock", {}, lambda path: peer_of(path, 4243), proc=str(tmp_path))
        assert "(pid 4243) is not proven to be in this process's network namespace" in why
        # A namespace link we may not read (a root dockerd, asked by a user): the unix sockets
        # its namespace lists say, our own socket among them or not.
        inode = os.fstat(mine.fileno()).st_ino
        (tmp_path / "77" / "net").mkdir(parents=True)
        listing = tmp_path / "77" / "net" / "unix"
        header = "Num       RefCount Protocol Flags    Type St Inode Path\n"
        listing.write_text(header + f"0000: 00000003 00000000 00000000 0001 03 {inode}\n")
        assert engine_locality.same_network_namespace(77, mine, str(tmp_path))
        listing.write_text(header + f"0000: 00000003 00000000 00000000 0001 03 {inode + 1} "
                                    f"/var/run/docker.sock\n")
        assert not engine_locality.same_network_namespace(77, mine, str(tmp_path))
        assert not engine_locality.same_network_namespace(78, mine, str(tmp_path))  # unreadable
    finally:
        mine.close()
        theirs.close()


def test_a_socket_proxy_here_is_not_the_dockerd(tmp_path):
    """socat, a docker-socket-proxy or `ssh -L` serving the socket in this namespace forward to
    an engine anywhere: the peer must be the dockerd itself, on this kernel."""
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        def peer_of(pid):
            return lambda path: (socket.socket(fileno=os.dup(mine.fileno())), pid)

        # This very process (python) serves it: in this namespace, and no dockerd.
        why = engine_locality.why_not_local("unix:///proxy.sock", {}, peer_of(os.getpid()))
        assert f"is served by {engine_locality.process_name(os.getpid())} (pid " in why
        assert "not by a dockerd: a socket proxy may forward" in why
        _link(tmp_path, "self", "net:[4026531833]")
        for pid, comm in ((10, "socat"), (11, "ssh"), (12, "dockerd-proxy")):
            _process(tmp_path, pid, comm)
            assert f"served by {comm} (pid {pid}), not by a dockerd" in \
                engine_locality.why_not_local("unix://", {}, peer_of(pid), proc=str(tmp_path))
        # Its executable names it where readable (comm is the process's to set).
        _process(tmp_path, 13, "dockerd")
        os.symlink("/usr/bin/socat", tmp_path / "13" / "exe")
        assert "served by socat (pid 13)" in engine_locality.why_not_local(
            "unix://", {}, peer_of(13), proc=str(tmp_path))
        _process(tmp_path, 14, "anything")
        os.symlink("/usr/bin/dockerd (deleted)", tmp_path / "14" / "exe")  # upgraded since
        here = {"KernelVersion": os.uname().release}
        assert engine_locality.why_not_local("unix://", here, peer_of(14),
                                             proc=str(tmp_path)) is None
        # A dockerd here, but `docker info` came from another kernel's.
        assert "says it runs on kernel 9.9.9-vm, not this host's" in \
            engine_locality.why_not_local("unix://", {"KernelVersion": "9.9.9-vm"},
                                          peer_of(14), proc=str(tmp_path))
    finally:
        mine.close()
        theirs.close()


def test_a_socket_activated_dockerd_must_hold_the_socket_init_listened_on(tmp_path):
    """systemd's docker.socket: SO_PEERCRED names the init that listened; the dockerd it
    handed the socket to must be found holding it."""
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        def why():
            return engine_locality.why_not_local(
                "unix:///run/docker.sock",
                {}, lambda path: (socket.socket(fileno=os.dup(mine.fileno())), 1),
                proc=str(tmp_path))

        _link(tmp_path, "self", "net:[4026531833]")
        _process(tmp_path, 1, "systemd")
        (tmp_path / "net").mkdir()
        (tmp_path / "net" / "unix").write_text(
            "Num       RefCount Protocol Flags    Type St Inode Path\n"
            "0000: 00000002 00000000 00010000 0001 01 4711 /run/docker.sock\n"
            "0000: 00000002 00000000 00010000 0001 01 4712 /run/proxy.sock\n")
        assert "which is not proven to serve it (no dockerd holds it)" in why()
        _process(tmp_path, 30, "dockerd", "net:[4026532999]")
        assert "dockerd 30's descriptors cannot be read here" in why()
        (tmp_path / "30" / "ns" / "net").unlink()
        os.symlink("net:[4026531833]", tmp_path / "30" / "ns" / "net")
        (tmp_path / "30" / "fd").mkdir()
        os.symlink("socket:[4712]", tmp_path / "30" / "fd" / "3")  # another socket's
        assert "no dockerd holds it" in why()
        os.symlink("socket:[4711]", tmp_path / "30" / "fd" / "4")
        assert why() is None
        (tmp_path / "30" / "ns" / "net").unlink()
        os.symlink("net:[4026532999]", tmp_path / "30" / "ns" / "net")
        assert "dockerd 30, which holds it, is in another network namespace" in why()
        (tmp_path / "1" / "comm").write_text("systemd-socket-proxyd\n")  # init's, a proxy
        assert "served by systemd-socket-proxyd (pid 1), not by a dockerd" in why()
    finally:
        mine.close()
        theirs.close()


def test_an_engine_not_proven_local_keeps_its_tasks_on_the_emulators_network(caplog):
    api = _Api(_bridge())
    runtime = _runtime("t9", api)
    runtime._engine_local = lambda info: "the Docker Engine runs in a container (dind)"
    with caplog.at_level(logging.WARNING, logger="emulator.runtime"):
        assert runtime.ensure_network()[0] == "ecs-emulator-t9" and not runtime.default_bridge
    assert "not the default bridge (ECS_EMULATOR_TASK_NETWORK): the Docker Engine runs in a " \
           "container (dind)" in caplog.text


# -- a view of Docker's network read while Docker told of a change ---------------------------

def test_a_change_told_during_a_read_leaves_the_view_to_be_read_again():
    """The read may have seen Docker from before the change (a freed address given to another
    container): it must not be trusted for REFRESH_S."""
    runtime = _Runtime({"172.30.0.3": "c-a"})
    task = _task("a" * 32, "bridge", containers=[("c-a", ContainerStatus.RUNNING)])
    callers = Callers(_State(task), lambda: runtime)
    members = runtime.network_members

    def read_while_told():
        callers.forget_view()  # Docker's event arrives while the read is under way
        return members()

    runtime.network_members = read_while_told
    assert callers.admits("172.30.0.3") is True
    assert callers.admits("172.30.0.3", wait=False) is None  # stale: a look at Docker first
    runtime.network_members = members
    assert callers.admits("172.30.0.3") is True and runtime.reads == 2
    assert callers.admits("172.30.0.3", wait=False) is True  # fresh now
    assert runtime.reads == 2


class _NetworkApi(_Api):
    """The emulator's own network, with the bridge Docker would name for it."""

    def __init__(self, network_id, options=None):
        super().__init__(None)
        self.network = {"Id": network_id, "Driver": "bridge", "Options": options or {},
                        "IPAM": {"Config": [{"Subnet": "172.18.0.0/16", "Gateway": "172.18.0.1"}]},
                        "Containers": {"c1": {"IPv4Address": "172.18.0.2/16"}}}

    def inspect_network(self, name):
        return self.network


def test_an_engines_own_network_is_read_only_where_its_bridge_is_in_this_namespace(caplog):
    """Another engine's network of the same subnet as one of this host's (a docker:dind's first
    network and this host's are both 172.18.0.0/16) would make a container here at a task's
    address over there that task."""
    elsewhere = DockerRuntime("t10", client_factory=lambda: SimpleNamespace(
        api=_NetworkApi("f" * 64), close=lambda: None), task_network="emulator")
    with caplog.at_level(logging.WARNING, logger="emulator.runtime"):
        assert elsewhere.network_members() == NetworkMembers((), {})
        assert elsewhere.network_members() == NetworkMembers((), {})
    [line] = [r.getMessage() for r in caplog.records]
    assert "strangers'" in line and "br-ffffffffffff is not this host's" in line
    # A bridge this namespace has (the loopback interface stands in for it).
    here = DockerRuntime("t11", client_factory=lambda: SimpleNamespace(
        api=_NetworkApi("f" * 64, {"com.docker.network.bridge.name": "lo"}), close=lambda: None),
        task_network="emulator")
    assert here.network_members().addresses == {"172.18.0.2": "c1"}
    assert docker_network.network_members(_NetworkApi("0123456789abcdef"), "x").bridge == \
        "br-0123456789ab"
    assert engine_locality.bridge_is_here("lo") and not engine_locality.bridge_is_here("../lo")


class _OwnContainerApi(_NetworkApi):
    """The network above, which the emulator's own container joins at `address`."""

    def __init__(self, address):
        super().__init__("f" * 64)
        self.address, self.connected = address, []

    def inspect_container(self, name):
        return {"NetworkSettings": {"Networks": {
            network: {"IPAddress": self.address} for _, network in self.connected}}}

    def connect_container_to_network(self, container, network):
        self.connected.append((container, network))
        self.network["Containers"]["own"] = {"IPv4Address": self.address + "/16"}


def test_the_emulator_in_a_container_reads_the_network_only_once_it_has_joined_it():
    """Run as a container (ECS_EMULATOR_OWN_CONTAINER), the emulator is on its tasks' network
    once it has joined it, not before: until then (or where the attach made another
    container join, not this process) the network's bridge must be here like any other's."""
    def runtime(api):
        return DockerRuntime("t12", client_factory=lambda: SimpleNamespace(
            api=api, close=lambda: None), own_container="emulator-t12")

    inside = runtime(api := _OwnContainerApi("127.0.0.1"))  # loopback: an address of ours
    assert inside.network_members() == NetworkMembers((), {})  # not joined yet
    assert inside.attach_to_network("emulator-t12") == "127.0.0.1"
    assert api.connected == [("emulator-t12", "ecs-emulator-t12")]
    assert inside.network_members().addresses == {"172.18.0.2": "c1", "127.0.0.1": "own"}
    del api.network["Containers"]["own"]  # disconnected since (the network made again...)
    assert inside.network_members() == NetworkMembers((), {})
    # Joined before this run (a restart): the network lists our container's id at an address
    # this process holds; not an id of another container, nor an address not ours.
    own = "0123456789ab" * 5 + "cdef"
    api = _NetworkApi("f" * 64)
    earlier = DockerRuntime("t13", client_factory=lambda: SimpleNamespace(
        api=api, close=lambda: None), own_container=own)
    api.network["Containers"]["f" * 64] = {"IPv4Address": "127.0.0.1/8"}
    assert earlier.network_members() == NetworkMembers((), {})
    api.network["Containers"][own] = {"IPv4Address": "192.0.2.7/24"}
    assert earlier.network_members() == NetworkMembers((), {})
    api.network["Containers"][own] = {"IPv4Address": "127.0.0.1/8"}
    del api.network["Containers"]["f" * 64]
    assert earlier.network_members().addresses == {"172.18.0.2": "c1", "127.0.0.1": own}
    # A container of that name joined, but its address is not this process's.
    elsewhere = runtime(_OwnContainerApi("192.0.2.7"))
    assert elsewhere.attach_to_network("emulator-t12") == "192.0.2.7"
    assert elsewhere.network_members() == NetworkMembers((), {})


def test_rootless_and_vm_engines_are_told_before_the_locality_check():
    """A VM's or rootless engine's socket is served on this host, so the locality check cannot
    tell it (and needs SO_PEERCRED, which macOS has not): their own reasons come first."""
    def locality(info):
        raise AssertionError("not asked")

    rootless = {"SecurityOptions": ["name=seccomp", "name=rootless"]}
    assert "rootless" in docker_network.default_bridge(None, rootless, lambda _: None,
                                                       locality=locality)
    desktop = {"OperatingSystem": "Docker Desktop", "Name": "docker-desktop"}
    assert "VM" in docker_network.default_bridge(None, desktop, lambda _: None,
                                                 locality=locality)
    assert docker_network.default_bridge(None, {}, lambda _: None,
                                         locality=lambda info: "elsewhere") == "elsewhere"


def _unix_listing(proc, pid, *inodes):
    """/proc/<pid>/net/unix: the unix sockets of the pid's network namespace (anyone may read
    it, where its ns link only root or its user may)."""
    (proc / str(pid) / "net").mkdir(parents=True, exist_ok=True)
    (proc / str(pid) / "net" / "unix").write_text(
        "Num       RefCount Protocol Flags    Type St Inode Path\n" + "".join(
            f"0000: 00000003 00000000 00000000 0001 03 {inode}\n" for inode in inodes))


def test_a_root_dockerd_a_user_cannot_read_is_proven_by_its_namespaces_sockets(tmp_path):
    """A user (not root) of a systemd socket-activated dockerd may read neither the dockerd's
    descriptors nor its namespace link: every dockerd seen here must list our own socket among
    its namespace's; a docker:dind's dockerd (seen from its host, in its container's namespace)
    does not, and then nothing is proven."""
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    inode = os.fstat(mine.fileno()).st_ino
    try:
        def why():
            return engine_locality.why_not_local(
                "unix:///run/docker.sock", {"KernelVersion": os.uname().release},
                lambda path: (socket.socket(fileno=os.dup(mine.fileno())), 1),
                proc=str(tmp_path))

        _link(tmp_path, "self", "net:[4026531833]")
        (tmp_path / "1").mkdir()
        (tmp_path / "1" / "comm").write_text("systemd\n")
        _unix_listing(tmp_path, 1, inode)  # init's namespace is ours
        (tmp_path / "net").mkdir()
        (tmp_path / "net" / "unix").write_text(
            "Num       RefCount Protocol Flags    Type St Inode Path\n"
            "0000: 00000002 00000000 00010000 0001 01 4711 /run/docker.sock\n")
        (tmp_path / "30").mkdir()
        (tmp_path / "30" / "comm").write_text("dockerd\n")  # no fd, no ns: not ours to read
        _unix_listing(tmp_path, 30, inode + 5)
        assert "dockerd 30 is not proven to be in this network namespace" in why()
        _unix_listing(tmp_path, 30, inode + 5, inode)
        assert why() is None
        (tmp_path / "31").mkdir()  # a docker:dind's, in its container's namespace
        (tmp_path / "31" / "comm").write_text("dockerd\n")
        _unix_listing(tmp_path, 31, inode + 9)
        assert "dockerd 31 is not proven to be in this network namespace" in why()
        (tmp_path / "31" / "net" / "unix").unlink()  # nor where its sockets are unreadable
        assert "dockerd 31 is not proven" in why()
    finally:
        mine.close()
        theirs.close()


def test_a_socket_served_from_outside_this_pid_namespace_is_never_proven(tmp_path):
    """Peer pid 0: the socket's server is in no pid namespace of ours (the host's socket
    mounted into the emulator's container): whatever /proc says, and rootless or not."""
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        _link(tmp_path, "self", "net:[4026531833]")
        _process(tmp_path, 0, "dockerd")
        for published, info in ((False, {}), (True, {"SecurityOptions": ["name=rootless"]})):
            why = engine_locality.why_not_local(
                "unix://", {"KernelVersion": os.uname().release, **info},
                lambda path: (socket.socket(fileno=os.dup(mine.fileno())), 0),
                proc=str(tmp_path), published=published)
            assert "served from outside this process's pid namespace" in why
    finally:
        mine.close()
        theirs.close()


def test_a_rootless_dockerd_here_publishes_here_but_its_bridge_is_not_this_hosts(tmp_path):
    """RootlessKit forwards a rootless dockerd's published ports to this host: the front doors
    (published=True) dial them; its bridge is in RootlessKit's namespace, never the default
    bridge's. The peer must still be a dockerd, on this kernel."""
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        def why(info, published=True, pid=40):
            return engine_locality.why_not_local(
                "unix:///run/user/1000/docker.sock",
                {"KernelVersion": os.uname().release, **info},
                lambda path: (socket.socket(fileno=os.dup(mine.fileno())), pid),
                proc=str(tmp_path), published=published)

        rootless = {"SecurityOptions": ["name=seccomp,profile=builtin", "name=rootless",
                                        "name=cgroupns"]}
        _link(tmp_path, "self", "net:[4026531833]")
        _process(tmp_path, 40, "dockerd", "net:[4026532777]")  # RootlessKit's namespace
        assert why(rootless) is None
        assert "is not proven to be in this process's network namespace" in why(
            rootless, published=False)
        assert "is not proven" in why({})
        _process(tmp_path, 41, "socat", "net:[4026532777]")
        assert "served by socat (pid 41), not by a dockerd" in why(rootless, pid=41)
        assert "says it runs on kernel 9.9" in why({**rootless, "KernelVersion": "9.9"})
    finally:
        mine.close()
        theirs.close()


@pytest.mark.parametrize("containers, each", [(1, 4096), (2, 2048), (3, 1365), (10, 409)])
def test_a_tasks_containers_split_its_pids_budget(containers, each):
    """Docker limits a container's pids, not a task's: a task of 10 containers would otherwise
    hold 10 times the budget (and RunTask starts 10 such tasks at once)."""
    shape = dataclasses.replace(SHAPE, container_count=containers)
    spec = container_specs.build(
        shape, {"name": "app", "image": "busybox"}, image="busybox", environment={},
        labels={}, sandbox=TaskSandbox(network="ecs-emulator-x", ip_address=None),
        runtime_ids={})
    assert spec.pids_limit == each
    assert each * containers <= container_specs.TASK_PIDS_LIMIT


@pytest.mark.parametrize("budget, containers, each", [
    (4096, 40, 256),  # the floor: more containers than ECS allows still start
    (100, 2, 100),  # a budget under the floor: each container gets it all, never more
    (600, 2, 300),
])
def test_a_containers_pids_share_has_a_floor(monkeypatch, budget, containers, each):
    monkeypatch.setattr(container_specs, "TASK_PIDS_LIMIT", budget)
    shape = dataclasses.replace(SHAPE, container_count=containers)
    assert container_specs.container_pids_limit(shape) == each


def test_a_task_shape_counts_the_tasks_containers():
    """What the runner builds its specs from counts every container of the task."""
    from emulator.engine import task_volumes

    task = SimpleNamespace(
        id="0" * 32, arn="arn:aws:ecs:us-east-1:000000000000:task/c/" + "0" * 32,
        network_mode="bridge", cpu=None, memory=None, containers=[object()] * 3,
        definition=SimpleNamespace(family="f", revision=1, spec={}))
    shape = task_volumes.task_shape(task, [], "127.0.0.1", runtime=None,
                                    home_account="000000000000")
    assert shape.container_count == 3
    assert container_specs.container_pids_limit(shape) == 4096 // 3
