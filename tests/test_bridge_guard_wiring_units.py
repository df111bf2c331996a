"""The default bridge's anti-spoofing guard wired into the Docker runtime, without Docker: made
with the bridge's choice (a refusal falls back to the emulator's own network in one line),
every namespace holder admitted as Docker starts it and released when it is removed or dies,
and the gate's TASK needing the guard's word (access/callers.py). The same through Docker and
the real guard is in test_bridge_guard_wiring.py."""

from __future__ import annotations

import logging
import threading
from types import SimpleNamespace

import pytest

from emulator.access.callers import CallerKind, Callers
from emulator.runtime import docker_network, docker_streams
from emulator.runtime.base import ContainerSpec, ContainerStartError, PortBinding, RuntimeEvent
from emulator.runtime.status import ContainerStatus
from tests.fake_guard import FakeGuard
from tests.test_task_network_units import _Api, _Bridge, _bridge, _runtime, _task
from tests.test_access_units import _State


class _Docker(_Api):
    """The Engine API calls of containers on the default bridge: each started container gets
    the next address, and its inspect what Docker's says of its endpoint."""

    def __init__(self, info=None):
        super().__init__(_bridge(), info)
        self.containers: dict[str, dict] = {}
        self.calls: list[tuple] = []
        self._next = 2

    def create_container_from_config(self, body, name=None):
        container_id = f"{len(self.containers):064x}"
        self.containers[container_id] = {"body": body, "running": False}
        self.calls.append(("create", container_id))
        return {"Id": container_id}

    def start(self, container_id):
        self.calls.append(("start", container_id))
        container = self.containers[container_id]
        container.update(running=True, ip=f"172.17.0.{self._next}",
                         mac=f"02:42:ac:11:00:{self._next:02x}")
        self._next += 1

    def inspect_container(self, container_id):
        self.calls.append(("inspect", container_id))
        container = self.containers[container_id]
        return {"Id": container_id, "State": {"Running": container["running"],
                                              "Status": "running"},
                "HostConfig": container["body"]["HostConfig"],
                "NetworkSettings": {
                    "SandboxKey": f"/var/run/docker/netns/{container_id[-6:]}",
                    "Ports": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "49153"}]},
                    "Networks": {"bridge": {"IPAddress": container.get("ip", ""),
                                            "MacAddress": container.get("mac", "")}}}}

    def remove_container(self, container_id, **_):
        self.calls.append(("remove", container_id))
        self.containers.pop(container_id, None)


def _guarded_runtime(name, guard=None, api=None):
    guard = guard or FakeGuard()
    api = api or _Docker()
    runtime = _runtime(name, api, guard=lambda bridge, gateway: guard)
    runtime._pause_image = "pause"  # (no image to make)
    assert runtime.default_bridge
    return runtime, api, guard


def _spec(ports=()):
    return ContainerSpec(name="web", image="app:1", labels={}, network="bridge",
                         ports=list(ports))


def test_an_awsvpc_sandbox_is_admitted_from_its_own_inspect_and_released_when_removed():
    runtime, api, guard = _guarded_runtime("g1")
    sandbox = runtime.create_sandbox("s", {}, "awsvpc", [])
    [admit] = [c for c in guard.calls if c[0] == "admit"]
    assert admit == ("admit", f"/var/run/docker/netns/{sandbox.sandbox_id[-6:]}",
                     sandbox.mac_address, sandbox.ip_address)
    assert guard.guarded(sandbox.ip_address)
    # One inspect: the one that reads the sandbox's address.
    assert [c[0] for c in api.calls] == ["create", "start", "inspect"]
    runtime.remove_sandbox(sandbox)
    assert not guard.guarded(sandbox.ip_address)
    assert guard.calls[-1] == ("release", sandbox.mac_address, sandbox.ip_address)
    runtime.remove_sandbox(sandbox)  # removed twice (teardown after a die): released once
    assert [c[0] for c in guard.calls].count("release") == 1


def test_a_bridge_container_is_admitted_as_it_starts_and_its_inspect_reused():
    runtime, api, guard = _guarded_runtime("g2")
    container = runtime.create_container(_spec([PortBinding(80, "tcp", "127.0.0.1", None)]))
    assert not guard.calls  # created: no address yet
    runtime.start_container(container)
    ip = api.containers[container]["ip"]
    assert guard.guarded(ip)
    # The runner's inspect for its published ports is the admission's: one inspect in all.
    state = runtime.inspect_container(container)
    assert state.ip_address == ip and state.published[0].host_port == 49153
    assert [c[0] for c in api.calls].count("inspect") == 1
    runtime.inspect_container(container)  # later looks ask Docker
    assert [c[0] for c in api.calls].count("inspect") == 2
    runtime.remove_container(container)
    assert not guard.guarded(ip)


def test_a_container_joining_a_sandbox_and_one_on_another_network_are_not_admitted():
    runtime, api, guard = _guarded_runtime("g3")
    sandbox = runtime.create_sandbox("s", {}, "awsvpc", [])
    joined = runtime.create_container(ContainerSpec(name="app", image="app:1", labels={},
                                                    network=sandbox.network))
    runtime.start_container(joined)
    assert [c[0] for c in guard.calls] == ["admit"]  # the sandbox's only
    assert [c[0] for c in api.calls].count("inspect") == 1
    plain, plain_api, plain_guard = _guarded_runtime("g4")
    plain._network = ("ecs-emulator-g4", "172.31.0.1")  # (as on the emulator's network)
    other = plain.create_container(ContainerSpec(name="web", image="app:1", labels={},
                                                 network="ecs-emulator-g4"))
    plain.start_container(other)
    assert plain_guard.calls == [] and ("inspect", other) not in plain_api.calls


def test_a_holder_the_guard_refuses_fails_its_start_and_a_sandbox_is_removed():
    runtime, api, guard = _guarded_runtime("g5", FakeGuard(refuse="nft: no such table"))
    container = runtime.create_container(_spec())
    with pytest.raises(ContainerStartError, match="could not be guarded: nft: no such table"):
        runtime.start_container(container)
    # A task's container is its runner's to remove (its teardown follows the failure); a
    # sandbox is removed at once.
    assert container in api.containers and runtime.holders.admitted() == {}
    with pytest.raises(ContainerStartError, match="could not be guarded"):
        runtime.create_sandbox("s", {}, "awsvpc", [])
    assert list(api.containers) == [container]
    assert runtime.holders.admitted() == {}


def test_a_holder_that_dies_is_released_by_dockers_event(monkeypatch):
    runtime, api, guard = _guarded_runtime("g6")
    sandbox = runtime.create_sandbox("s", {}, "awsvpc", [])
    container = runtime.create_container(_spec())
    runtime.start_container(container)
    ip = api.containers[container]["ip"]
    told = [RuntimeEvent(container, "die", {}, exit_code=1),
            RuntimeEvent(sandbox.sandbox_id, "start", {})]
    monkeypatch.setattr(docker_streams, "events", lambda *args, **kwargs: iter(told))
    seen = list(runtime.events(threading.Event()))
    assert [e.action for e in seen] == ["die", "start"]  # passed on as they were
    assert not guard.guarded(ip) and guard.guarded(sandbox.ip_address)


def test_a_die_told_before_the_admission_lands_undoes_it(monkeypatch):
    """A container that exits at once: its die event may be handled between Docker's start and
    the admission being recorded; the address must not stay in the guard."""
    runtime, api, guard = _guarded_runtime("g7")
    admit = guard.admit

    def die_meanwhile(key, mac, ip):
        admit(key, mac, ip)
        runtime.released(container)  # the event stream's thread, meanwhile

    guard.admit = die_meanwhile
    container = runtime.create_container(_spec())
    runtime.start_container(container)
    assert guard.held == {} and runtime.holders.admitted() == {}


def test_the_guard_is_made_once_kept_across_resets_and_closed_with_the_runtime():
    made = []

    def make(bridge, gateway):
        made.append((bridge, gateway))
        return FakeGuard(bridge)

    runtime = _runtime("g8", _Docker(), guard=make)
    assert runtime.default_bridge
    runtime._forget_network()  # a reset
    assert runtime.default_bridge
    assert made == [("docker0", "172.17.0.1")]
    guard = runtime.holders.guard
    runtime.close()
    assert guard.closed and runtime.holders is None


def test_without_a_guard_the_tasks_stay_on_the_emulators_network_in_one_line(caplog):
    claims = docker_network.BridgeClaims()
    api = _Docker()
    runtime = _runtime("g9", api, claims=claims,
                       guard=lambda bridge, gateway: "nft is not installed")
    with caplog.at_level(logging.WARNING, logger="emulator.runtime"):
        assert runtime.ensure_network()[0] == "ecs-emulator-g9"
        runtime._forget_network()
        assert not runtime.default_bridge
    [line] = [r.getMessage() for r in caplog.records]
    assert "no anti-spoofing guard on docker0: nft is not installed" in line
    assert "not the default bridge" in line
    # Its claim is released: another engine's tasks may use the bridge.
    other = _runtime("g10", _Docker(), claims=claims)
    assert other.default_bridge


def test_a_shared_members_read_carries_the_guards_word():
    runtime, api, guard = _guarded_runtime("g11")
    api.bridge = {**api.bridge, "Containers": {"c1": {"IPv4Address": "172.17.0.9/16"}}}
    members = runtime.network_members()
    assert members.shared and not members.guarded("172.17.0.9")
    guard.held["172.17.0.9"] = ("key", "mac")
    assert members.guarded("172.17.0.9")  # asked per connection, not as of the read
    runtime.close_guard()
    assert not runtime.network_members().guarded("172.17.0.9")


# -- the gate ---------------------------------------------------------------------------------------

def test_a_live_tasks_address_the_guard_does_not_hold_is_a_strangers(monkeypatch):
    monkeypatch.setattr("emulator.access.callers.ADMIT_WAIT_S", 0.05)
    bridge = _Bridge({"172.17.0.2": "pause-a", "172.17.0.3": "c-b"})
    callers = Callers(_State(
        _task("a" * 32, "awsvpc", ip="172.17.0.2", sandbox_id="pause-a"),
        _task("b" * 32, "bridge", containers=[("c-b", ContainerStatus.RUNNING)])),
        lambda: bridge)
    assert callers.identify("172.17.0.2").kind is CallerKind.TASK
    bridge.unguarded.add("172.17.0.2")
    caller = callers.identify("172.17.0.2")
    assert caller.kind is CallerKind.STRANGER and caller.task_id is None
    assert callers.admits("172.17.0.2") is False
    assert callers.admits("172.17.0.2", wait=False) is None  # the deciding thread tells
    assert callers.identify("172.17.0.3").task_id == "b" * 32  # its neighbour is unaffected


def test_a_holder_that_calls_before_its_admission_lands_waits_for_it():
    bridge = _Bridge({"172.17.0.3": "c-b"})
    bridge.unguarded.add("172.17.0.3")
    callers = Callers(_State(_task("b" * 32, "bridge",
                                   containers=[("c-b", ContainerStatus.RUNNING)])),
                      lambda: bridge)
    timer = threading.Timer(0.1, bridge.unguarded.clear)  # the runtime's admission lands
    timer.start()
    try:
        assert callers.admits("172.17.0.3") is True
        assert callers.identify("172.17.0.3").task_id == "b" * 32
    finally:
        timer.cancel()


def test_a_shared_bridge_read_without_a_guard_has_no_task():
    from emulator.runtime.base import NetworkMembers

    bridge = SimpleNamespace(
        ensure_network=lambda: ("bridge", "127.0.0.1"),
        network_members=lambda: NetworkMembers(("172.17.0.0/16",), {"172.17.0.2": "pause-a"},
                                               shared=True))
    callers = Callers(_State(_task("a" * 32, "awsvpc", ip="172.17.0.2", sandbox_id="pause-a")),
                      lambda: bridge)
    assert callers.identify("172.17.0.2").kind is CallerKind.STRANGER


# -- a persisted emulator's restart ---------------------------------------------------------------

@pytest.mark.parametrize("refused", [False, True])
def test_an_adopted_tasks_sandbox_is_guarded_again_or_its_task_stops(refused):
    """The guard is each process's own: a restarted emulator admits its adopted tasks' holders
    again before serving them; one the guard refuses stops its task."""
    from emulator.persistence.adoption import GUARD_REASON, adopt
    from emulator.runtime import labels
    from emulator.runtime.fake import FakeContainer
    from emulator.runtime.status import TaskStatus
    from tests.test_engine_ops_units import World, _persisted_fargate_task
    from tests.waiting import wait_for

    world = World()
    fake = world.fakes["b"]
    fake.default_bridge = True
    task = _persisted_fargate_task(world, "b", "on-b")
    fake.containers["pause-b"] = FakeContainer(
        id="pause-b", name="pause-b", image="pause", network="bridge", status="running",
        ip_address="10.0.0.9", labels={labels.TASK_ARN: task.arn,
                                       labels.CONTAINER_NAME: "~sandbox",
                                       labels.ROLE: "pause", labels.INSTANCE: fake.instance_id})
    if refused:
        fake.unguarded.add("10.0.0.9")
    assert adopt(world.engine, world.state) == 1
    world.engine.start()
    try:
        wait_for(lambda: fake.calls, lambda calls: ("guard_holder", "pause-b") in calls)
        if refused:
            wait_for(lambda: task.known, lambda known: known == TaskStatus.STOPPED)
            assert task.stop_code == "TaskFailedToStart"
            assert task.stopped_reason.startswith(f"{GUARD_REASON}: its address on the default "
                                                  "bridge could not be guarded")
        else:
            assert task.known == TaskStatus.RUNNING and not task.stop_requested
            world.stop(task)
    finally:
        world.engine.stop()
    assert [c for c in fake.calls if c[0] == "guard_holder"] == [("guard_holder", "pause-b")]


def test_a_holder_that_exited_at_once_is_not_admitted_and_one_with_no_address_fails():
    runtime, api, guard = _guarded_runtime("g12")
    container = runtime.create_container(_spec())
    real_start = api.start

    def start_and_exit(container_id):
        real_start(container_id)
        api.containers[container_id]["running"] = False

    api.start = start_and_exit
    runtime.start_container(container)  # its die event tells its task
    assert guard.calls == [] and runtime.holders.admitted() == {}

    def start_without_address(container_id):
        real_start(container_id)
        api.containers[container_id]["ip"] = ""

    api.start = start_without_address
    other = runtime.create_container(_spec())
    with pytest.raises(ContainerStartError, match="no address on the network bridge"):
        runtime.start_container(other)
    assert guard.calls == []


def test_a_late_release_of_an_old_holder_keeps_the_new_one_at_its_address():
    """Docker gives a freed address, and the MAC made from it, to the next container: the guard
    replaces the old holder's admission, and the old holder's release, told late (events come
    one at a time), must not take the new holder's away."""
    from emulator.runtime.guarded_holders import GuardedHolders

    guard = FakeGuard()
    holders = GuardedHolders(guard, "bridge")

    def info(key):
        return {"State": {"Running": True}, "NetworkSettings": {
            "SandboxKey": f"/var/run/docker/netns/{key}",
            "Networks": {"bridge": {"IPAddress": "172.17.0.2", "MacAddress": "02:42:ac:11:00:02"}}}}

    holders.expect("old")
    holders.admit("old", info("old"))
    holders.expect("new")
    holders.admit("new", info("new"))
    holders.release("old")  # its die, handled after the new holder's admission
    assert guard.guarded("172.17.0.2")
    holders.release("new")
    assert not guard.guarded("172.17.0.2")
