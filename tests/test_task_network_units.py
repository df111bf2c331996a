"""ECS_EMULATOR_TASK_NETWORK=default-bridge without Docker: who is a task on Docker's shared
default bridge (access/callers.py), where the mode falls back to the emulator's own network
(runtime/docker_network.py, docker_task_network.py, app.py), and a bridge spare used without a name
(engine/task_runner.py). The same through Docker is in test_task_network_bridge.py."""

from __future__ import annotations

import errno
import logging
from dataclasses import replace
from types import SimpleNamespace

import docker.errors
import pytest

from emulator.access import callers as callers_module
from emulator.access import gate
from emulator.access.callers import CallerKind, Callers
from emulator.app import _task_network
from emulator.config import Settings
from emulator.runtime import docker_network
from emulator.engine.task_events import TaskEvents
from emulator.metadata import link_local
from emulator.metadata.link_local import LinkLocalEndpoint
from emulator.runtime.base import NetworkMembers, RuntimeEvent
from emulator.runtime.docker_runtime import DockerRuntime
from emulator.runtime.status import ContainerStatus, TaskStatus
from tests.fake_guard import FakeGuard
from tests.test_access_units import ACCOUNT, _State
from tests.test_sandbox_pool import quick_refills  # noqa: F401  (autouse: spares made at once)


def _task(arn_id, mode, ip=None, containers=(), sandbox_id=None, known=TaskStatus.RUNNING):
    return SimpleNamespace(
        arn=f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/c/{arn_id}", id=arn_id, engine=None,
        known=known, network_mode=mode, private_ip=ip, sandbox_id=sandbox_id,
        containers=[SimpleNamespace(runtime_id=r, known=k, started=k >= ContainerStatus.RUNNING)
                    for r, k in containers])


class _Bridge:
    """Docker's default bridge as the runtime reads it: shared with containers not ours."""

    def __init__(self, addresses):
        self.addresses = addresses
        self.reads = 0
        self.unguarded: set[str] = set()  # addresses the bridge's guard does not hold

    def ensure_network(self):
        return "bridge", "127.0.0.1"

    def network_members(self):
        self.reads += 1
        return NetworkMembers(subnets=("172.17.0.0/16",), addresses=dict(self.addresses),
                              shared=True, guarded=lambda ip: ip not in self.unguarded)


def test_on_the_default_bridge_only_a_live_tasks_container_is_a_task():
    running, stopped = ContainerStatus.RUNNING, ContainerStatus.STOPPED
    bridge = _Bridge({"172.17.0.2": "pause-a", "172.17.0.3": "c-b", "172.17.0.4": "users",
                      "172.17.0.5": "c-gone", "172.17.0.6": "c-c"})
    callers = Callers(_State(
        _task("a" * 32, "awsvpc", ip="172.17.0.2", sandbox_id="pause-a"),
        _task("b" * 32, "bridge", containers=[("c-b", running)]),
        # its container exited (the engine saw it) while the task still runs: the address is
        # Docker's to give to the next container started, a stranger's
        _task("c" * 32, "bridge", containers=[("c-gone", stopped), ("c-c", running)]),
        # a stopped awsvpc task whose address a user's container now has
        _task("d" * 32, "awsvpc", ip="172.17.0.4", sandbox_id="pause-d",
              known=TaskStatus.DEPROVISIONING),
        # a live awsvpc task whose address is someone else's on Docker's view: not by address
        _task("e" * 32, "awsvpc", ip="172.17.0.5", sandbox_id="pause-e")),
        lambda: bridge)
    assert callers.identify("172.17.0.2").task_id == "a" * 32
    assert callers.identify("172.17.0.3").task_id == "b" * 32
    assert callers.identify("172.17.0.6").task_id == "c" * 32
    # No NETWORK class there: the user's container, a stopped container's address, an address
    # with nobody on it, and a live task's address held by another container are strangers.
    for address in ("172.17.0.4", "172.17.0.5", "172.17.0.9"):
        caller = callers.identify(address)
        assert caller.kind is CallerKind.STRANGER and not caller.from_container, address
        assert callers.admits(address) is False, address
    assert callers.admits("172.17.0.2") is True
    # The selector admits a live task's address as of the read (no queue behind strangers);
    # anything else there the tasks decide on the deciding thread.
    assert callers.admits("172.17.0.2", wait=False) is True
    assert callers.admits("172.17.0.4", wait=False) is None
    # The task's address once taken by a stranger after the task's sandbox went.
    bridge.addresses["172.17.0.2"] = "strangers"
    callers = Callers(_State(_task("a" * 32, "awsvpc", ip="172.17.0.2", sandbox_id="pause-a")),
                      lambda: bridge)
    assert callers.identify("172.17.0.2").kind is CallerKind.STRANGER


def test_a_stranger_costs_no_look_at_docker_unless_a_tasks_container_is_not_seen_yet():
    bridge = _Bridge({"172.17.0.2": "c-a", "172.17.0.7": "users"})
    arriving = _task("b" * 32, "bridge", containers=[("c-b", ContainerStatus.RUNNING)])
    state = _State(_task("a" * 32, "bridge", containers=[("c-a", ContainerStatus.RUNNING)]),
                   # an awsvpc task's container is in its sandbox's namespace: never on the view
                   _task("c" * 32, "awsvpc", ip="172.17.0.3", sandbox_id="pause-c",
                         containers=[("c-c", ContainerStatus.RUNNING)]))
    bridge.addresses["172.17.0.3"] = "pause-c"
    callers = Callers(state, lambda: bridge)
    assert callers.identify("172.17.0.2").task_id == "a" * 32
    reads = bridge.reads
    for _ in range(20):  # a stranger knocking again and again
        assert callers.admits("172.17.0.7") is False
        assert callers.admits("172.17.0.9") is False
    assert bridge.reads == reads
    # A task's container that has just started, at an address Docker's view gives a stranger
    # (the stranger left it): one look finds it.
    state._store.tasks[arriving.arn] = arriving
    bridge.addresses["172.17.0.7"] = "c-b"
    assert callers.identify("172.17.0.7").task_id == "b" * 32
    assert bridge.reads == reads + 1


def test_strangers_cost_one_read_per_holder_newly_missing_and_never_delay_a_task():
    """A task whose containers wait for their dependsOn (created, no address, for minutes) and
    a sandbox that died unrecorded are missing from Docker's view; strangers' connections must
    not each read Docker for them, nor wait in the deciding queue ahead of a task's."""
    bridge = _Bridge({"172.17.0.2": "c-a", "172.17.0.7": "users"})
    state = _State(_task("a" * 32, "bridge", containers=[("c-a", ContainerStatus.RUNNING)]),
                   _task("w" * 32, "bridge", containers=[("c-w", ContainerStatus.CREATED)]),
                   _task("d" * 32, "awsvpc", ip="172.17.0.5", sandbox_id="pause-dead"))
    callers = Callers(state, lambda: bridge)
    assert callers.identify("172.17.0.2").task_id == "a" * 32
    reads = bridge.reads
    for _ in range(20):
        assert callers.admits("172.17.0.7") is False
        assert callers.admits("172.17.0.9") is False
    assert bridge.reads == reads + 1  # once for the dead sandbox; never for c-w, not started
    # A task's address is admitted by the selector from the read's snapshot; a stranger's is
    # left to the deciding thread, which tells it without Docker.
    assert callers.admits("172.17.0.2", wait=False) is True
    assert callers.admits("172.17.0.7", wait=False) is None
    # Another holder newly missing (a task's sandbox just made): one read finds it.
    state._store.tasks["n"] = _task("n" * 32, "awsvpc", ip="172.17.0.8", sandbox_id="pause-n")
    bridge.addresses["172.17.0.8"] = "pause-n"
    assert callers.identify("172.17.0.8").task_id == "n" * 32
    assert bridge.reads == reads + 2
    assert callers.admits("172.17.0.9") is False and bridge.reads == reads + 2


def test_an_address_whose_container_stopped_since_the_read_is_a_strangers():
    """The view still has the task's container there (no die event came), but the engine has
    recorded its exit: whoever calls from there is no task, and a stranger there costs one
    read for the holder newly missing (a dead sandbox), not one a call."""
    bridge = _Bridge({"172.17.0.2": "c-a"})
    task = _task("a" * 32, "bridge", containers=[("c-a", ContainerStatus.RUNNING)])
    callers = Callers(_State(task, _task("d" * 32, "awsvpc", ip="172.17.0.5",
                                         sandbox_id="pause-dead")), lambda: bridge)
    assert callers.identify("172.17.0.2").task_id == "a" * 32
    reads = bridge.reads
    task.containers[0].known = ContainerStatus.STOPPED
    for _ in range(5):
        assert callers.identify("172.17.0.2").kind is CallerKind.STRANGER
        assert callers.admits("172.17.0.2") is False
    assert bridge.reads == reads + 1


# -- where the mode falls back --------------------------------------------------------------------

class _Api:
    """The Engine API calls ensure_network makes."""

    base_url = "http+docker://localhost"

    def __init__(self, bridge: dict | None, info: dict | None = None):
        self.bridge = bridge
        self.created: list[str] = []
        self._info = info or {"OperatingSystem": "Ubuntu 24.04", "Name": "host",
                              "SecurityOptions": ["name=seccomp,profile=builtin"]}

    def info(self):
        return self._info

    def inspect_network(self, name):
        if name == "bridge" and self.bridge is not None:
            return self.bridge
        if name in self.created:
            return {"Name": name, "IPAM": {"Config": [{"Subnet": "172.31.0.0/16",
                                                       "Gateway": "172.31.0.1"}]}}
        raise docker.errors.NotFound("no such network")

    def create_network(self, name, **_):
        self.created.append(name)


def _bridge(icc="true", gateway="172.17.0.1", subnet="172.17.0.0/16"):
    return {"Name": "bridge", "Options": {"com.docker.network.bridge.enable_icc": icc,
                                          "com.docker.network.bridge.name": "docker0"},
            "IPAM": {"Config": [{"Subnet": subnet, "Gateway": gateway}]}}


def _docker0(address):
    """This host's interfaces as link_local.interface_with finds them: docker0 at 172.17.0.1."""
    return "docker0" if address == "172.17.0.1" else None


def _runtime(name, api, interface_with=_docker0, claims=None, guard=None):
    return DockerRuntime(name, client_factory=lambda: SimpleNamespace(api=api, close=lambda: None),
                         task_network="default-bridge", interface_with=interface_with,
                         bridge_claims=claims,
                         bridge_guard=guard or (lambda bridge, gateway: FakeGuard(bridge)))


@pytest.mark.parametrize("bridge, info, interface_with, why", [
    (None, None, _docker0, "no default bridge"),
    (_bridge(icc="false"), None, _docker0, "inter-container traffic off"),
    (_bridge(), None, lambda _: None, "not on this host's docker0"),
    # Every engine's bridge has 172.17.0.1, which this host's docker0 has too: an engine whose
    # bridge is elsewhere passes the gateway check, so these are refused by what docker info says.
    (_bridge(), {"SecurityOptions": ["name=seccomp", "name=rootless"]}, _docker0, "rootless"),
    (_bridge(), {"OperatingSystem": "Docker Desktop", "Name": "docker-desktop"}, _docker0,
     "in a VM"),
    (_bridge(), {"OperatingSystem": "Ubuntu 24.04", "Name": "colima"}, _docker0, "in a VM"),
    # The gateway is this host's, but on another interface than the bridge Docker names.
    (_bridge(), None, lambda a: "docker1" if a == "172.17.0.1" else None, "docker0"),
])
def test_the_mode_falls_back_to_the_emulators_network_with_one_line(bridge, info, interface_with,
                                                                     why, caplog):
    api = _Api(bridge, info)
    runtime = _runtime("t1", api, interface_with)
    with caplog.at_level(logging.WARNING, logger="emulator.runtime"):
        assert runtime.ensure_network() == ("ecs-emulator-t1", "172.31.0.1")
        runtime._forget_network()  # a reset: asked again, said once
        assert runtime.ensure_network()[0] == "ecs-emulator-t1"
    [line] = [r.getMessage() for r in caplog.records]
    assert "default bridge" in line and why in line
    assert not runtime.default_bridge and api.created == ["ecs-emulator-t1"]


def test_the_default_bridge_is_used_as_it_is_never_made():
    api = _Api(_bridge())
    runtime = _runtime("t2", api)
    assert runtime.ensure_network() == ("bridge", "172.17.0.1") and runtime.default_bridge
    assert api.created == []
    # The emulator's own network where the setting says so.
    plain = DockerRuntime("t3", client_factory=lambda: SimpleNamespace(api=_Api(_bridge())),
                          task_network="emulator", interface_with=_docker0)
    assert plain.ensure_network()[0] == "ecs-emulator-t3" and not plain.default_bridge


def test_of_two_engines_with_overlapping_bridges_only_the_first_uses_its(caplog):
    """Tasks are told apart by address on their engine's network: two engines' tasks at
    172.17.0.2 would mix up."""
    claims = docker_network.BridgeClaims()
    first = _runtime("t4", _Api(_bridge()), claims=claims)
    second = _runtime("t5", _Api(_bridge(subnet="172.16.0.0/12")), claims=claims)
    other = _runtime("t6", _Api(_bridge(subnet="10.9.0.0/16", gateway="10.9.0.1")),
                     lambda a: "docker0" if a == "10.9.0.1" else None, claims)
    with caplog.at_level(logging.WARNING, logger="emulator.runtime"):
        assert first.default_bridge and other.default_bridge
        assert not second.default_bridge
        first._forget_network()  # the first asks again: its own claim does not stop it
        assert first.default_bridge
    assert "overlaps 172.17.0.0/16" in caplog.text
    first.close()  # a removed engine's bridge is free again
    third = _runtime("t7", _Api(_bridge()), claims=claims)
    assert third.default_bridge


def test_an_emulator_in_a_container_keeps_its_own_network(caplog):
    settings = replace(Settings(), task_network="default-bridge")
    assert _task_network(settings) == "default-bridge"
    with caplog.at_level(logging.WARNING, logger="emulator.runtime"):
        assert _task_network(replace(settings, own_container="auto")) == "emulator"
    assert "runs in a container" in caplog.text


def test_the_setting_takes_two_values(monkeypatch):
    monkeypatch.setenv("ECS_EMULATOR_TASK_NETWORK", "Default-Bridge")
    assert Settings.from_env().task_network == "default-bridge"
    monkeypatch.setenv("ECS_EMULATOR_TASK_NETWORK", "docker0")
    with pytest.raises(ValueError, match="emulator or default-bridge"):
        Settings.from_env()
    monkeypatch.setenv("ECS_EMULATOR_TASK_NETWORK", "emulator")
    assert Settings.from_env().task_network == "emulator"
    monkeypatch.delenv("ECS_EMULATOR_TASK_NETWORK")  # the default: the faster one
    assert Settings.from_env().task_network == "default-bridge"
    assert Settings().task_network == "default-bridge"


def test_docker_calls_in_flight_follow_the_task_network_unless_set(monkeypatch):
    from emulator.config import docker_concurrency_for

    monkeypatch.delenv("ECS_EMULATOR_DOCKER_CONCURRENCY", raising=False)
    settings = Settings.from_env()
    assert settings.docker_concurrency is None
    assert docker_concurrency_for(settings, "emulator") == 4
    assert docker_concurrency_for(settings, "default-bridge") == 20
    monkeypatch.setenv("ECS_EMULATOR_DOCKER_CONCURRENCY", "2")
    assert docker_concurrency_for(Settings.from_env(), "default-bridge") == 2


def test_a_shared_bridge_members_read_is_marked_shared():
    api = SimpleNamespace(inspect_network=lambda name: {
        "IPAM": {"Config": [{"Subnet": "172.17.0.0/16"}]},
        "Containers": {"c1": {"IPv4Address": "172.17.0.2/16"}}})
    assert docker_network.network_members(api, "bridge") == NetworkMembers(
        ("172.17.0.0/16",), {"172.17.0.2": "c1"}, shared=True)
    assert not docker_network.network_members(api, "ecs-emulator-x").shared


def test_a_bridge_task_takes_a_spare_on_the_default_bridge_without_renaming_it():
    from tests.test_bridge_pool import _run_bridge
    from tests.test_engine_units import Engine
    from tests.test_sandbox_pool import spares
    from tests.waiting import wait_for

    world = Engine()
    world.fake.default_bridge = True
    world.engine.start()
    try:
        for _ in range(2):  # two asks: a spare is wanted
            world.reaches(_run_bridge(world, {"name": "web"}), TaskStatus.RUNNING)
        [spare] = wait_for(lambda: spares(world.fake), lambda found: len(found) == 1)
        wait_for(world.engine.sandboxes.ready_count, lambda n: n == 1)
        address = spare.ip_address
        task = _run_bridge(world, {"name": "web"})
        world.reaches(task, TaskStatus.RUNNING)
        main = world.fake.containers[world.container(task, "web").runtime_id]
        assert main.network == f"container:{spare.id}" and task.sandbox_id == spare.id
        # Used as it is: not named, not joined again (its address unchanged).
        assert not [c for c in world.fake.calls if c[0] == "name_sandbox"]
        assert (spare.aliases, spare.ip_address) == ((), address)
    finally:
        world.engine.stop()
    assert world.fake.containers == {}


# -- a stale view on the shared bridge ------------------------------------------------------------

class _Failing(_Bridge):
    """A default bridge whose reads fail once `failing` is set (dockerd restarting, hung)."""

    failing = False

    def network_members(self):
        if self.failing:
            raise RuntimeError("Docker does not answer")
        return super().network_members()


def test_a_view_docker_cannot_refresh_is_dropped_on_the_shared_bridge():
    """Kept, it would make whoever Docker gave a dead task's address to (after a dockerd
    restart, restart=always containers) that task until Docker answers again."""
    bridge = _Failing({"172.17.0.2": "c-a"})
    callers = Callers(_State(_task("a" * 32, "bridge", containers=[("c-a",
                                                                     ContainerStatus.RUNNING)])),
                      lambda: bridge)
    assert callers.identify("172.17.0.2").task_id == "a" * 32
    bridge.failing = True
    callers.forget_view()  # as after REFRESH_S
    assert callers.identify("172.17.0.2").kind is CallerKind.STRANGER
    assert callers.admits("172.17.0.2") is False
    bridge.failing = False  # Docker back: the task is its own again at the next read
    callers.forget_view()
    assert callers.identify("172.17.0.2").task_id == "a" * 32
    # A late read that failed (_late) drops the shared view too.
    with callers._lock:
        callers._late("default", callers_module._UNREAD)
    assert callers._networks == ()


def test_a_start_or_die_of_ours_makes_the_next_look_ask_docker():
    """Docker's default bridge gives a freed address to the next container started: a view
    trusted for REFRESH_S would make that stranger the task whose container died."""
    bridge = _Bridge({"172.17.0.2": "c-a"})
    container = SimpleNamespace(runtime_id="c-a", known=ContainerStatus.RUNNING,
                                started=True)
    task = _task("a" * 32, "bridge")
    task.containers = [container]
    callers = Callers(_State(task), lambda: bridge)
    engine = SimpleNamespace(network_listeners=[callers.forget_view])
    assert callers.identify("172.17.0.2").task_id == "a" * 32
    reads = bridge.reads
    bridge.addresses["172.17.0.2"] = "users"  # c-a died; a user's container got its address
    TaskEvents._on_event(engine, RuntimeEvent("c-a", "die", {}))  # before it is recorded
    assert callers.identify("172.17.0.2").kind is CallerKind.STRANGER
    assert bridge.reads == reads + 1
    # A container Docker has started, whose start the runner has not recorded yet (not counted
    # as missing: see the test above), calling at once: Docker's start event makes the look.
    starting = SimpleNamespace(runtime_id="c-b", known=ContainerStatus.CREATED, started=False)
    task.containers.append(starting)
    bridge.addresses["172.17.0.3"] = "c-b"
    assert callers.identify("172.17.0.3").kind is CallerKind.STRANGER
    TaskEvents._on_event(engine, RuntimeEvent("c-b", "start", {}))
    assert callers.identify("172.17.0.3").task_id == "a" * 32


# -- 169.254.170.2 on docker0, shared by emulators ------------------------------------------------

class _Host:
    """This host as link_local sees it: docker0 at 172.17.0.1, `ip addr` calls, who listens."""

    def __init__(self, monkeypatch, address_there: bool, port_taken: bool,
                 exists: str = "RTNETLINK answers: File exists"):
        self.there, self.exists = address_there, exists
        self.calls: list[tuple] = []
        monkeypatch.setattr(link_local, "interface_with", lambda a: "docker0")
        monkeypatch.setattr(link_local, "is_local_address", lambda a: self.there)
        monkeypatch.setattr(link_local, "_ip", self.ip)
        monkeypatch.setattr(LinkLocalEndpoint, "_cannot", lambda endpoint: None)

        def listen(address, app):
            if port_taken:
                raise OSError(errno.EADDRINUSE, "Address already in use")
            return SimpleNamespace(serve=lambda: None, stop=lambda: None)
        monkeypatch.setattr(gate, "listen_for_containers", listen)

    def ip(self, *args):
        self.calls.append(args)
        if args[:2] == ("addr", "add"):
            if self.there:
                return self.exists
            self.there = True
        return None

    @property
    def removals(self):
        return [call for call in self.calls if call[:2] == ("addr", "del")]


def _endpoint():
    return LinkLocalEndpoint(lambda: None, lambda: "172.17.0.1")


def test_a_second_emulator_never_takes_off_the_first_ones_address(monkeypatch):
    """On docker0 both find the address: the first's, serving; the second's listen fails."""
    host = _Host(monkeypatch, address_there=True, port_taken=True)
    second = _endpoint()
    assert not second.available()
    second.stop()
    assert host.removals == []


def test_an_emulator_takes_off_the_address_it_added_or_a_dead_ones(monkeypatch):
    host = _Host(monkeypatch, address_there=False, port_taken=False)
    endpoint = _endpoint()
    assert endpoint.available()
    endpoint.stop()
    assert host.removals == [("addr", "del", "169.254.170.2/32", "dev", "docker0")]
    # Left on docker0 by an emulator that crashed: nobody listens, so it is the next one's
    # (iproute2 says so in either words, by its version).
    for exists in ("RTNETLINK answers: File exists", "Error: ipv4: Address already assigned."):
        host = _Host(monkeypatch, address_there=True, port_taken=False, exists=exists)
        endpoint = _endpoint()
        assert endpoint.available(), exists
        endpoint.stop()
        assert host.removals == [("addr", "del", "169.254.170.2/32", "dev", "docker0")]
