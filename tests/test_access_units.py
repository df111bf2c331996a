"""The access rules alone (emulator/access/): who a caller is, what in a task definition reaches
the host, which IAM actions and resources an ECS or ECR call needs. The same rules from real
containers are in test_containment.py and test_iam_enforcement.py."""

from __future__ import annotations

import ipaddress
import select
import socket
import threading
import time
from types import SimpleNamespace

import pytest
import requests

from emulator.access import host_access, iam_resources
from emulator.access.callers import Caller, CallerKind, Callers
from emulator.access.gate import CALLER_KEY, Gate, listen_for_containers
from emulator.access.rights import AccessDeniedException, Rights
from emulator.aws.context import RequestContext
from emulator.config import Settings
from emulator.ecs.store import EcsState
from emulator.runtime.base import NetworkMembers
from emulator.runtime.status import TaskStatus
from tests.ecs_requests import ecs_request
from tests.gate_doors import AdmitEveryone, ok_app

ACCOUNT = "123456789012"


def task(arn_id: str, mode: str, ip: str | None = None, runtime_ids=(), known=TaskStatus.RUNNING,
         engine=None, sandbox_id: str | None = None):
    return SimpleNamespace(arn=f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/c/{arn_id}", id=arn_id,
                           engine=engine, known=known, network_mode=mode, private_ip=ip,
                           sandbox_id=sandbox_id,
                           containers=[SimpleNamespace(runtime_id=r) for r in runtime_ids])


class _State:
    def __init__(self, *tasks):
        self.lock = threading.RLock()
        self._store = SimpleNamespace(tasks={t.arn: t for t in tasks})

    def stores(self):
        return [self._store]


class _Runtime:
    def __init__(self, addresses: dict[str, str], subnet="172.30.0.0/16", gateway="127.0.0.1"):
        self.addresses = addresses
        self.subnet, self.gateway = subnet, gateway
        self.reads = 0

    def ensure_network(self):
        return "ecs-emulator-x", self.gateway

    def network_members(self):
        self.reads += 1
        return NetworkMembers(subnets=(self.subnet,), addresses=dict(self.addresses))


def test_callers_are_told_apart_by_address():
    runtime = _Runtime({"172.30.0.2": "pause", "172.30.0.3": "c-bridge", "172.30.0.9": "other",
                        "172.30.0.6": "spare"})
    callers = Callers(_State(task("a" * 32, "awsvpc", ip="172.30.0.2"),
                             task("b" * 32, "bridge", runtime_ids=["c-bridge"]),
                             # a bridge task in a pooled sandbox: the address is the sandbox's
                             task("f" * 32, "bridge", runtime_ids=["c-in-spare"],
                                  sandbox_id="spare"),
                             task("d" * 32, "bridge", runtime_ids=["c-old"],
                                  known=TaskStatus.STOPPED),
                             task("e" * 32, "bridge", runtime_ids=["c-new"])),
                      lambda: runtime)
    assert callers.identify("127.0.0.1").kind is CallerKind.HOST
    assert callers.identify("::1").kind is CallerKind.HOST
    assert callers.identify("172.30.0.2") == Caller(
        CallerKind.TASK, "172.30.0.2", f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/c/{'a' * 32}",
        "a" * 32)
    assert callers.identify("::ffff:172.30.0.3").task_id == "b" * 32
    assert callers.identify("172.30.0.6").task_id == "f" * 32
    assert callers.identify("172.30.0.9").kind is CallerKind.NETWORK
    assert callers.identify("172.30.0.9").from_container
    assert callers.identify("172.17.0.5").kind is CallerKind.STRANGER  # Docker's default bridge
    assert callers.identify("203.0.113.7").kind is CallerKind.STRANGER
    assert callers.identify("").kind is CallerKind.STRANGER
    # A container that started after the last look is found: an unknown address looks again.
    runtime.addresses["172.30.0.5"] = "c-new"
    assert callers.identify("172.30.0.5").task_id == "e" * 32
    runtime.addresses["172.30.0.4"] = "c-old"  # a stopped task's container: not that task
    assert callers.identify("172.30.0.4").kind is CallerKind.NETWORK
    reads = runtime.reads
    assert callers.identify("172.30.0.2").kind is CallerKind.TASK
    assert runtime.reads == reads  # a known address does not ask Docker
    # Whether the connection was made on this host, told once as it arrived, is not asked
    # again (the gateway's address stands for one of this host's: a bind probe would say so).
    assert callers.identify("172.30.0.2", this_host=True).kind is CallerKind.HOST
    assert callers.identify("172.30.0.2", this_host=False).kind is CallerKind.TASK
    assert callers.admits("203.0.113.7", this_host=True)
    assert not callers.admits("203.0.113.7", this_host=False)


def test_an_address_stops_being_a_tasks_once_its_sandbox_goes():
    # A sandbox is removed in DEPROVISIONING; Docker may hand its address to the next one (a
    # spare of the pool, or another task's) before the old task says STOPPED.
    runtime = _Runtime({"172.30.0.2": "pause"})
    leaving = task("a" * 32, "awsvpc", ip="172.30.0.2", known=TaskStatus.DEPROVISIONING)
    arriving = task("f" * 32, "awsvpc", ip="172.30.0.2")
    assert Callers(_State(leaving, arriving), lambda: runtime).identify(
        "172.30.0.2").task_id == "f" * 32
    assert Callers(_State(leaving), lambda: runtime).identify(
        "172.30.0.2").kind is CallerKind.NETWORK


def test_tasks_on_other_engines_are_told_by_their_engines_network():
    default = _Runtime({"172.30.0.2": "pause-a"})
    local = _Runtime({"10.217.0.2": "pause-b", "10.217.0.3": "c-b"}, subnet="10.217.0.0/24")
    # Another machine's engine: its network (here the same subnet as the default's) is not read.
    remote = _Runtime({"172.30.0.7": "pause-r"}, gateway="203.0.113.9")
    on_a = task("a" * 32, "awsvpc", ip="172.30.0.2")
    on_b = task("b" * 32, "awsvpc", ip="10.217.0.2", engine="b")
    bridge_b = task("c" * 32, "bridge", runtime_ids=["c-b"], engine="b")
    on_r = task("d" * 32, "awsvpc", ip="172.30.0.7", engine="r")
    answering = {"b": local, "r": remote}
    callers = Callers(_State(on_a, on_b, bridge_b, on_r), lambda: default, answering.get)
    assert callers.identify("172.30.0.2").task_id == "a" * 32
    assert callers.identify("10.217.0.2").task_id == "b" * 32
    assert callers.identify("10.217.0.3").task_id == "c" * 32
    assert callers.identify("172.30.0.7").kind is CallerKind.NETWORK  # not the remote task
    # An address of engine b's network is not a task of the default engine's, nor the reverse.
    local.addresses["10.217.0.9"] = "pause-x"
    assert Callers(_State(task("e" * 32, "awsvpc", ip="10.217.0.9")), lambda: default,
                   answering.get).identify("10.217.0.9").kind is CallerKind.STRANGER
    assert Callers(_State(on_b, task("f" * 32, "awsvpc", ip="10.217.0.9")), lambda: default,
                   answering.get).identify("10.217.0.9").kind is CallerKind.NETWORK
    # An engine that does not answer is not read: its tasks' addresses are strangers.
    assert Callers(_State(on_b), lambda: default, {}.get).identify(
        "10.217.0.2").kind is CallerKind.STRANGER


class _HangingRuntime(_Runtime):
    """An engine whose network read hangs until released (a dockerd that stopped answering
    before its health probe noticed)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.release = threading.Event()
        self.entered = threading.Event()
        self.asked = 0

    def network_members(self):
        self.asked += 1
        self.entered.set()
        self.release.wait(30)
        return super().network_members()


def test_an_engine_that_hangs_does_not_hold_the_identification_of_anyone():
    """Engine b hangs in its network read: callers of the default engine are still told (its
    read is not held behind b's, no lock is held across the Docker calls), b's tasks are
    strangers meanwhile, and b is not asked again while its first read still hangs; once it
    answers, its tasks are known again."""
    default = _Runtime({"172.30.0.2": "pause-a"})
    hanging = _HangingRuntime({"10.217.0.2": "pause-b"}, subnet="10.217.0.0/24")
    on_a = task("a" * 32, "awsvpc", ip="172.30.0.2")
    on_b = task("b" * 32, "awsvpc", ip="10.217.0.2", engine="b")
    callers = Callers(_State(on_a, on_b), lambda: default, {"b": hanging}.get)
    answers: dict[str, Caller] = {}

    def identify(address):
        answers[address] = callers.identify(address)

    try:
        first = threading.Thread(target=identify, args=("172.30.0.2",))
        first.start()
        assert hanging.entered.wait(10)
        others = [threading.Thread(target=identify, args=(a,)) for a in ("10.217.0.2",
                                                                        "172.30.0.9")]
        for thread in others:
            thread.start()
        for thread in (first, *others):
            thread.join(10)  # they would wait for b's release (30 s) if it held them
            assert not thread.is_alive()
        assert answers["172.30.0.2"].task_id == "a" * 32
        assert answers["10.217.0.2"].kind is CallerKind.STRANGER  # b's view is not known yet
        assert answers["172.30.0.9"].kind is CallerKind.NETWORK
        assert hanging.asked == 1  # still hanging: not asked again
    finally:
        hanging.release.set()
    callers._in_flight["b"].join(10)
    # What the late read found is in the view at once, without asking b again.
    assert callers.identify("10.217.0.2").task_id == "b" * 32 and hanging.asked == 1


class _SlowRuntime(_Runtime):
    """A Docker Engine that answers, slower than READ_TIMEOUT_S (a loaded machine)."""

    delay = 0.0

    def network_members(self):
        time.sleep(self.delay)
        return super().network_members()


def test_a_slow_engine_keeps_its_tasks_known_failing_closed():
    """The default engine's network read takes longer than the round waits: its tasks are
    still tasks (what was last read stays, and the late answer is taken in), never strangers,
    which on a listener that is not the containers' would pass for a client of the whole API."""
    from emulator.access import callers as callers_module

    slow = _SlowRuntime({"172.30.0.2": "pause-a"})
    callers = Callers(_State(task("a" * 32, "awsvpc", ip="172.30.0.2")), lambda: slow)
    assert callers.identify("172.30.0.2").task_id == "a" * 32
    slow.delay = callers_module.READ_TIMEOUT_S + 0.3
    slow.addresses["172.30.0.3"] = "pause-new"  # a container the late read will find
    callers._read(older_than=time.monotonic() + 1)  # a round that stops waiting for it
    assert callers.identify("172.30.0.2").task_id == "a" * 32
    callers._in_flight["default"].join(5)
    assert callers.identify("172.30.0.3").kind is CallerKind.NETWORK  # the late answer, taken


def test_a_slow_first_read_is_waited_for_so_a_tasks_first_call_is_not_turned_away(monkeypatch):
    """Nothing of the network known yet (an emulator's first container call) and the default
    engine answers later than READ_TIMEOUT_S: with no view to fall back on, the round waits for
    it, so the task's connection is admitted and told as the task's, not closed unread (busybox
    wget's "error getting response" under load)."""
    from emulator.access import callers as callers_module

    monkeypatch.setattr(callers_module, "READ_TIMEOUT_S", 0.1)
    slow = _SlowRuntime({"172.30.0.2": "pause-a"})
    slow.delay = 0.3
    callers = Callers(_State(task("a" * 32, "awsvpc", ip="172.30.0.2")), lambda: slow)
    assert callers.admits("172.30.0.2", wait=False) is None  # decided off the selector thread
    assert callers.admits("172.30.0.2") is True
    assert callers.identify("172.30.0.2").task_id == "a" * 32 and slow.reads == 1


def test_an_engine_is_on_this_machine_by_its_docker_address():
    from emulator.engine.engines import on_this_machine

    assert on_this_machine("unix:///run/b.sock")
    assert on_this_machine("tcp://127.0.0.1:2375") and on_this_machine("ssh://me@localhost")
    assert not on_this_machine("tcp://203.0.113.9:2376")  # TEST-NET-3: never this host's
    assert not on_this_machine("ssh://me@box.invalid")  # a name that resolves to nothing


def test_without_docker_nobody_is_on_the_network():
    def broken():
        raise ConnectionError("Docker is gone")
    assert Callers(_State(), broken).identify("172.30.0.2").kind is CallerKind.STRANGER


def test_admission_needs_no_task_and_waits_for_docker_only_when_asked_to():
    runtime = _Runtime({"172.30.0.2": "pause"})
    callers = Callers(_State(), lambda: runtime)
    assert callers.admits("127.0.0.1", wait=False) is True  # this host: no look at Docker
    assert callers.admits("", wait=False) is False
    assert callers.admits("172.30.0.9", wait=False) is None and runtime.reads == 0
    assert callers.admits("172.30.0.9") is True and runtime.reads == 1  # no task there: admitted
    assert callers.admits("172.30.0.7", wait=False) is True  # the view is fresh: decided at once
    # Not on the network: told off the selector thread (a look at the tasks), as a stranger.
    assert callers.admits("172.17.0.5", wait=False) is None
    assert callers.admits("172.17.0.5") is False
    assert runtime.reads == 1


class _SlowDocker(AdmitEveryone):
    """Callers for a listener containers reach: 127.0.0.2 is a stranger; 127.0.0.3 is told only
    by a look at Docker, which answers when `docker` is set."""

    def __init__(self):
        self.docker = threading.Event()

    def admits(self, address: str, wait: bool = True, this_host=None,
               since: float | None = None):
        if address == "127.0.0.2":
            return False
        if address == "127.0.0.3":
            if not wait:
                return None
            return self.docker.wait(10)
        return True


def test_a_stranger_is_closed_unread_and_docker_is_asked_off_the_selector_thread():
    door = _SlowDocker()
    server = listen_for_containers(("127.0.0.1", 0), Gate(ok_app, door, container_facing=True))
    threading.Thread(target=server.serve, daemon=True).start()
    port = server.bind_addr[1]

    def connect(source: str) -> socket.socket:
        return socket.create_connection(("127.0.0.1", port), timeout=5,
                                        source_address=(source, 0))
    try:
        # Bytes that are no HTTP, and a head over the limit, got a 400 and a 431 before the
        # gate had a say: now a stranger is closed before anything of its is read.
        for junk in (b"\x16\x03\x01\x02\x00", b"GET / HTTP/1.1\r\nX: " + b"a" * 40000):
            with connect("127.0.0.2") as stranger:
                try:
                    stranger.sendall(junk)
                    assert stranger.recv(100) == b""
                except ConnectionResetError:
                    pass
        with connect("127.0.0.3") as waiting:
            waiting.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            # While Docker is asked about it, others are served.
            assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).text == "ok"
            assert select.select([waiting], [], [], 0.2)[0] == []
            door.docker.set()
            assert waiting.recv(100).startswith(b"HTTP/1.1 200 OK")
    finally:
        door.docker.set()
        server.stop()


PLAIN = {"family": "f", "containerDefinitions": [{"name": "app", "image": "busybox",
                                                   "dockerSecurityOptions": ["no-new-privileges"]}]}


@pytest.mark.parametrize("extra, container, said", [
    ({"networkMode": "host"}, {}, "networkMode host"),
    ({"pidMode": "host"}, {}, "pidMode host"),
    ({"ipcMode": "host"}, {}, "ipcMode host"),
    ({"volumes": [{"name": "r", "host": {"sourcePath": "/"}}]}, {},
     "volume 'r' mounts a host path"),
    ({"volumes": [{"name": "v", "dockerVolumeConfiguration": {"driverOpts": {"o": "bind"}}}]}, {},
     "volume 'v' sets a volume driver or driver options"),
    ({"volumes": [{"name": "v", "dockerVolumeConfiguration": {"driver": "rexray"}}]}, {},
     "volume 'v' sets a volume driver or driver options"),
    ({}, {"privileged": True}, "container 'app' is privileged"),
    ({}, {"linuxParameters": {"capabilities": {"add": ["NET_ADMIN"]}}},
     "container 'app' adds capabilities"),
    ({}, {"linuxParameters": {"devices": [{"hostPath": "/dev/sda"}]}},
     "container 'app' maps host devices"),
    ({}, {"dockerSecurityOptions": ["seccomp=unconfined"]},
     "container 'app' sets dockerSecurityOptions ['seccomp=unconfined']"),
    ({"networkMode": "bridge"}, {"portMappings": [{"containerPort": 80, "hostPort": 80},
                                                   {"containerPort": 81, "hostPort": 49152}]},
     "container 'app' publishes the host ports [80, 49152] (a task's may be 0, dynamic, or "
     "49153-65535)"),
    ({}, {"portMappings": [{"containerPort": 5432, "hostPort": 5432, "protocol": "udp"}]},
     "container 'app' publishes the host ports [5432] (a task's may be 0, dynamic, or "
     "49153-65535)"),
])
def test_what_reaches_the_host(extra, container, said):
    assert host_access.reasons(PLAIN) == []
    assert host_access.reasons({"volumes": [{"name": "scratch"}], **PLAIN}) == []
    # Dynamic host ports, ones in the ephemeral range, and awsvpc's (never published so).
    for mode, mapping in ((None, {"containerPort": 80}), ("bridge", {"hostPort": 0}),
                          ("bridge", {"hostPort": 49153}), ("bridge", {"hostPort": 65535}),
                          ("awsvpc", {"containerPort": 80, "hostPort": 80})):
        ported = {**PLAIN, "containerDefinitions": [
            {**PLAIN["containerDefinitions"][0], "portMappings": [mapping]}]}
        assert host_access.reasons({**ported, "networkMode": mode} if mode else ported) == []
    spec = {**PLAIN, **extra, "containerDefinitions": [
        {**PLAIN["containerDefinitions"][0], **container}]}
    assert host_access.reasons(spec) == [said]
    if "publishes" in said:  # a daemon's runs as bridge whatever networkMode its request says
        assert host_access.reasons(host_access.subject(
            "RegisterDaemonTaskDefinition", {**spec, "networkMode": "awsvpc"}, None)) == [said]


def _service(state):
    return SimpleNamespace(name="ecs", state=state)


def _check(rights, caller_kind, body: bytes, operation="RegisterTaskDefinition"):
    environ = {CALLER_KEY: Caller(caller_kind, "172.30.0.2")}
    ctx = RequestContext(account=ACCOUNT, region="us-east-1")
    rights.check_json(_service(EcsState()), operation, body, environ, ctx)


PRIVILEGED = (b'{"family": "f", "containerDefinitions": [{"name": "x", "image": "b", '
              b'"privileged": true}]}')


def test_the_operator_allows_tasks_host_access_explicitly():
    refusing = Rights(Settings(), moto=None)
    with pytest.raises(AccessDeniedException) as caught:
        _check(refusing, CallerKind.TASK, PRIVILEGED)
    assert caught.value.status == 400 and caught.value.code == "AccessDeniedException"
    _check(refusing, CallerKind.HOST, PRIVILEGED)  # this host keeps every right
    _check(refusing, CallerKind.TASK, b"not json")  # the service answers that itself
    _check(Rights(Settings(allow_task_host_access=True), moto=None), CallerKind.TASK, PRIVILEGED)
    with pytest.raises(AccessDeniedException):  # a container not known as a task: no less
        _check(refusing, CallerKind.NETWORK, PRIVILEGED)


def test_daemons_and_express_services_are_held_to_the_same_rule():
    """A daemon task definition, or an Express service of one's own task definition, is no
    way around it."""
    refusing = Rights(Settings(), moto=None)
    daemon = (b'{"family": "d", "containerDefinitions": [{"name": "x", "image": "b"}], '
              b'"pidMode": "shared"}')
    with pytest.raises(AccessDeniedException):
        _check(refusing, CallerKind.TASK, daemon, "RegisterDaemonTaskDefinition")
    assert host_access.reasons(host_access._daemon_spec(
        {"containerDefinitions": [{"name": "x", "image": "b", "privileged": True}]})) == [
        "container 'x' is privileged"]
    assert host_access.subject("CreateDaemon", {"daemonTaskDefinitionArn": "absent:1"},
                               EcsState().store_for(ACCOUNT, "us-east-1")) is None
    store = EcsState().store_for(ACCOUNT, "us-east-1")
    from emulator.ecs import task_definitions

    registered = task_definitions.register(
        store, RequestContext(account=ACCOUNT, region="us-east-1"),
        ecs_request("RegisterTaskDefinition", {
            "family": "f", "networkMode": "host",
            "containerDefinitions": [{"name": "x", "image": "b", "memory": 64}]}))
    operation = "CreateExpressGatewayService"
    assert "networkMode host" in host_access.refusal(operation, host_access.subject(
        operation, {"taskDefinitionArn": registered.arn}, store))


CTX = RequestContext(account=ACCOUNT, region="eu-west-1")
BASE = f"arn:aws:ecs:eu-west-1:{ACCOUNT}"


@pytest.mark.parametrize("service, operation, params, needed", [
    ("ecs", "ListClusters", {}, [("ecs:ListClusters", "*")]),
    ("ecs", "CreateCluster", {"clusterName": "c"}, [("ecs:CreateCluster", f"{BASE}:cluster/c")]),
    ("ecs", "StopTask", {"cluster": f"{BASE}:cluster/c", "task": "t"},
     [("ecs:StopTask", f"{BASE}:cluster/c")]),
    ("ecs", "UpdateService", {"cluster": "c", "service": "s"},
     [("ecs:UpdateService", f"{BASE}:service/c/s")]),
    ("ecs", "RunTask", {"taskDefinition": "web:3", "overrides": {"taskRoleArn": "r"}},
     [("ecs:RunTask", f"{BASE}:task-definition/web:3"),
      ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/r")]),
    ("ecs", "RegisterTaskDefinition",
     {"family": "f", "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/exec"},
     [("ecs:RegisterTaskDefinition", "*"), ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/exec")]),
    ("ecr", "PutImage", {"repositoryName": "app"},
     [("ecr:PutImage", f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/app")]),
    ("ecr", "GetAuthorizationToken", {}, [("ecr:GetAuthorizationToken", "*")]),
])
def test_the_actions_and_resources_a_call_needs(service, operation, params, needed):
    assert iam_resources.checks(service, operation, params, CTX) == needed


class _VolumeRuntime:
    """An engine's volume reads: `answer` is the labels, None (no such volume) or an error."""
    instance_id = "i"  # the emulator's own

    def __init__(self, answer):
        self.answer, self.asked = answer, []

    def volume_labels(self, name):
        self.asked.append(name)
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer


def _engines(answer, answering=True):
    runtime = _VolumeRuntime(answer)
    health = SimpleNamespace(answering=lambda: answering)
    engine = SimpleNamespace(name="default", runtime=runtime, health=health)
    return SimpleNamespace(engines={"default": engine}), runtime


def _shared(name):
    return {"family": "f", "containerDefinitions": [],
            "volumes": [{"name": name, "dockerVolumeConfiguration": {"scope": "shared"}}]}


def test_shared_and_efs_volumes_are_one_accounts():
    from emulator.engine.task_volumes import shared_name

    home, other = ACCOUNT, "111111111111"
    docker = {"name": "vault", "dockerVolumeConfiguration": {"scope": "shared"}}
    efs = {"name": "v", "efsVolumeConfiguration": {"fileSystemId": "fs-victim"}}
    # The default account's keep the names they had (the operator's own volumes too).
    assert shared_name(docker, home, home) == "vault"
    assert shared_name(efs, home, home) == "ecs-emulator-efs-fs-victim"
    assert shared_name(docker, other, home) == f"ecs-emulator-{other}-vault"
    assert shared_name(efs, other, home) == f"ecs-emulator-{other}-efs-fs-victim"
    assert shared_name({"name": "t", "dockerVolumeConfiguration": {"scope": "task"}},
                       other, home) is None


def test_shared_volumes_ask_docker_only_about_volume_names_and_fail_closed():
    from emulator.engine import task_volumes
    from emulator.runtime import labels

    def said(answer, name="data", account=None):
        engines, runtime = _engines(answer)
        view = host_access.EngineView(
            foreign_volume=lambda n, a: task_volumes.foreign_volume(engines, n, a),
            own_registry=lambda image: False, unserved_image=lambda image: None)
        return host_access.engine_reasons(_shared(name), view, account), runtime.asked

    assert said(None) == ([], ["data"])
    assert said({"com.example": "x"})[0] == [
        "volume 'data' is the Docker volume 'data', which the emulator did not make"]
    # Names Docker would take as a path, or not a name at all: left to validation, unasked.
    for name in ("a/../../containers/x", "..", "-x", "", 7, None, ["v"]):
        assert said({"com.example": "x"}, name) == ([], [])
    # An engine that cannot answer (a timeout while it flaps, docker-py's own errors): refused.
    for error in (requests.exceptions.ReadTimeout("read timed out"), ValueError("bad")):
        (reason,), _ = said(error)
        assert f"could not be asked about ({type(error).__name__}" in reason
    # An engine that is down is not skipped: its user's volume would be mounted once it is back.
    engines, runtime = _engines({"com.example": "x"}, answering=False)
    assert "not answering; try again" in task_volumes.foreign_volume(engines, "data")
    # Made by an emulator: as shared (labelled so, or before shared volumes were, with a task's
    # labels), taken; for one task only (its labels name no task's volume), refused.
    old = {labels.INSTANCE: "i", labels.CLUSTER: "c", labels.TASK_ARN: "arn",
           labels.CONTAINER_NAME: "~volume-data"}
    for made in ({labels.INSTANCE: "i", labels.VOLUME_SCOPE: "shared"}, old):
        assert said(made)[0] == []
    assert said({labels.INSTANCE: "i"})[0] == [
        "volume 'data' is the Docker volume 'data', a volume the emulator made for one task only"]
    # Another emulator's shared volume is its tasks' data, not this one's tasks'.
    assert said({labels.INSTANCE: "elsewhere", labels.VOLUME_SCOPE: "shared"})[0] == [
        "volume 'data' is the Docker volume 'data', which another emulator made (its tasks' "
        "data)"]
    # Another account's shared volumes are named apart, and their names kept: unasked.
    shared = {labels.INSTANCE: "i", labels.VOLUME_SCOPE: "shared"}
    assert said(shared, account="111111111111") == (
        [], ["ecs-emulator-111111111111-data"])
    (reason,), asked = said(shared, "ecs-emulator-111111111111-data")
    assert reason.endswith("a name kept for the shared volumes of account 111111111111")
    assert asked == []
    # A task's own volume, made before shared ones were labelled: refused by its name.
    (reason,), asked = said(old, "ecs-0123456789ab-data")
    assert "kept for tasks' own volumes" in reason and asked == []
    # A malformed request is RegisterTaskDefinition's to answer (a 400), not the check's (a 500).
    engines, _ = _engines(None)
    view = host_access.EngineView(foreign_volume=lambda n, a: None, own_registry=lambda i: False,
                                  unserved_image=lambda i: None)
    for spec in ({"volumes": "x", "containerDefinitions": [1]},
                 {"volumes": [1, {"name": "v", "efsVolumeConfiguration": "x",
                                  "dockerVolumeConfiguration": "y", "host": 2}],
                  "containerDefinitions": [{"name": "x", "linuxParameters": "z",
                                            "dockerSecurityOptions": "seccomp=unconfined"}]}):
        assert host_access.refusal("RegisterTaskDefinition", spec, view) is None


@pytest.mark.parametrize("image, registry", [
    ("localhost:5000/app", "localhost:5000"), ("LOCALHOST/app", "LOCALHOST"),
    ("LocalHost:5000/app:1", "LocalHost:5000"), ("127.0.0.1/app", "127.0.0.1"),
    ("[::1]:5000/app", "[::1]:5000"),
    ("localhost", None), ("nginx", None), ("user/app", None), ("library/nginx:1", None),
])
def test_images_from_a_registry_on_this_host_are_told_as_docker_parses_references(
        image, registry):
    assert host_access._local_registry(image) == registry


def _a_link_local_address() -> tuple[str, int] | None:
    """(address, interface index) of a link-local IPv6 address of this host, if it has one."""
    try:
        with open("/proc/net/if_inet6", encoding="ascii") as rows:
            for row in rows:
                hexed, index, _, scope, flags, name = row.split()
                # not a container's veth (gone in a moment), nor one still tentative or failed
                # (duplicate address detection: not bindable yet)
                if (int(scope, 16) == 0x20 and not name.startswith("veth")
                        and not int(flags, 16) & 0x48):
                    return str(ipaddress.IPv6Address(bytes.fromhex(hexed))), int(index, 16)
    except (OSError, ValueError):
        pass
    return None


def test_a_connection_is_of_this_host_by_its_peer_or_a_loopback_arrival(monkeypatch):
    """One answer (host_addresses.from_this_host) for the listeners, told as a connection
    arrives, and for callers.py where that was not told (from the peer's address alone)."""
    from emulator.access import host_addresses
    from emulator.access.host_addresses import from_this_host

    assert from_this_host("127.0.0.1") and from_this_host("::ffff:127.0.0.1")
    assert not from_this_host("203.0.113.7") and not from_this_host("")
    # on a loopback address: rewritten on its way (MASQUERADE), so made here
    assert from_this_host("203.0.113.7", "127.0.0.1")
    assert not from_this_host("203.0.113.7", "172.17.0.1")
    assert not from_this_host("fe80::1", "fe80::2", scope=2**31 - 1)  # no such interface
    link_local = _a_link_local_address()
    if link_local is not None:  # ours on its own interface only (a link-local needs one)
        address, scope = link_local
        assert from_this_host(address, None, scope) and not from_this_host(address)
    callers = Callers(_State(), lambda: _Runtime({}))
    assert callers.identify("203.0.113.7").kind is CallerKind.STRANGER
    monkeypatch.setattr(host_addresses, "is_local_address", lambda a, scope=0: a == "203.0.113.7")
    assert from_this_host("::ffff:203.0.113.7")
    assert callers.identify("203.0.113.7").kind is CallerKind.HOST
    assert callers.admits("203.0.113.7", wait=False)


def test_the_engines_gateways_and_host_names_are_this_host(monkeypatch):
    """From inside the emulator's own container a bind finds neither the host's docker0 nor the
    engines' networks' gateways, and Docker Desktop's names resolve to the host there."""
    from emulator.access import host_addresses

    monkeypatch.setattr(host_addresses, "_gateway_sources", [])  # the running emulators' left out

    def gateways():
        return ["203.0.113.1", "2001:db8::1"]

    host_addresses.add_gateways(gateways)
    assert host_addresses.reaches_this_host("203.0.113.1")
    assert host_addresses.reaches_this_host("::ffff:203.0.113.1")
    assert host_addresses.reaches_this_host("2001:db8::1")
    assert not host_addresses.reaches_this_host("203.0.113.2")
    for name in ("host.docker.internal", "HOST.Docker.Internal.", "gateway.docker.internal",
                 "host.orb.internal", "host.lima.internal", "host.containers.internal"):
        assert host_addresses.name_reaches_this_host(name, 80) == [name]
    assert host_access._local_registry("host.docker.internal:5000/app") == (
        "host.docker.internal:5000")
    host_addresses.remove_gateways(gateways)
    assert not host_addresses.reaches_this_host("203.0.113.1")
    # An engine that cannot say hides no other's; nor does one odd value (a prefix length, an
    # empty one) hide the others.
    host_addresses.add_gateways(lambda: 1 / 0)
    assert not host_addresses.reaches_this_host("203.0.113.1")
    host_addresses.add_gateways(lambda: ["", "bogus", "203.0.113.1/24"])
    assert host_addresses.reaches_this_host("203.0.113.1")


def test_a_role_of_an_account_without_iam_makes_no_iam_backend():
    """Any account named in a role ARN would otherwise get a whole IAM backend (its ~1,300
    managed policies) made on the spot."""
    from moto.backends import get_backend

    from emulator.access import iam

    moto = SimpleNamespace(backend=lambda service, account, region: get_backend(service)[
        account][region])
    account = "999988887777"
    assert iam.role_policies(moto, f"arn:aws:iam::{account}:role/r") is None
    assert account not in dict.keys(get_backend("iam"))


class _Images:
    """docker-py's APIClient as docker_images.unserved asks it: local images, and a registry
    that serves only `served` (image -> its manifest's digest) to a caller without credentials."""

    def __init__(self, local: dict[str, list[str]], served: dict[str, str]):
        self.local, self.served, self.asked = local, served, []

    def inspect_image(self, image):
        import docker.errors

        if image not in self.local:
            raise docker.errors.ImageNotFound("no such image")
        return {"Id": "sha256:x", "RepoDigests": self.local[image]}

    def inspect_distribution(self, image, auth_config=None):
        import docker.errors

        self.asked.append((image, auth_config))
        if image not in self.served:
            response = SimpleNamespace(status_code=401, reason="Unauthorized", url="")
            raise docker.errors.APIError("denied", response, "unauthorized")
        return {"Descriptor": {"digest": self.served[image]}}


def test_a_tasks_image_must_be_one_a_registry_serves_to_anyone():
    from emulator.runtime.docker_images import unserved

    api = _Images({"ecs-emulator-test/emulator": [], "nginx:1": ["nginx@sha256:a"],
                   "mine:latest": ["registry.example.com/private@sha256:b"],
                   "docker.io/library/redis": ["redis@sha256:c"]},
                  served={"nginx:1": "sha256:a", "redis:7": "sha256:c",
                          "docker.io/library/redis": "sha256:c", "mine:latest": "sha256:m"})
    # A local build, and a `docker tag` of a private image under a public name: the engine's
    # copy is not what the registry serves, and the registry is not even asked.
    assert "no registry served (a local build)" in unserved(api, "ecs-emulator-test/emulator")
    assert "no registry served" in unserved(api, "mine:latest")
    assert api.asked == []
    # Pulled from the repository it names (Docker writes Docker Hub's short), or not here:
    # the registry is asked, never with the operator's logins (auth_config={}, not None).
    assert unserved(api, "nginx:1") is None
    assert unserved(api, "docker.io/library/redis") is None
    assert unserved(api, "redis:7") is None
    assert "does not serve without credentials" in unserved(api, "private.example.com/app:1")
    assert [config for _, config in api.asked] == [{}, {}, {}, {}]


@pytest.mark.parametrize("repository, full", [
    ("busybox", "docker.io/library/busybox"), ("user/app", "docker.io/user/app"),
    ("index.docker.io/busybox", "docker.io/library/busybox"),
    ("localhost/app", "localhost/app"), ("LOCALHOST/app", "LOCALHOST/app"),
    ("registry.example.com/team/app", "registry.example.com/team/app"),
    ("[::1]:5000/app", "[::1]:5000/app"),
])
def test_repositories_are_named_in_full_as_docker_normalizes_them(repository, full):
    """The registry a name starts with by the rule _local_registry tells it by (above)."""
    from emulator.runtime import docker_images

    assert docker_images._full_name(repository) == full


def test_a_local_build_named_after_a_public_image_is_told_by_its_digest():
    """Docker's containerd image store gives a local build (or a `docker tag`) a RepoDigests
    entry under its own name (moby#45122): the digest must be the one the registry serves."""
    from emulator.runtime.docker_images import unserved

    api = _Images({"nginx:latest": ["docker.io/library/nginx@sha256:local"],
                   "nginx:1": ["nginx@sha256:old", "nginx@sha256:a"]},
                  served={"nginx:latest": "sha256:a", "nginx:1": "sha256:a"})
    assert "is not what its registry serves (a local build" in unserved(api, "nginx:latest")
    assert unserved(api, "nginx:1") is None


def test_an_express_services_own_container_is_asked_about_its_image():
    """CreateExpressGatewayService runs `primaryContainer.image` with no task definition of the
    caller's: a container may not name the operator's local build there either."""
    view = host_access.EngineView(
        foreign_volume=lambda n, a: None, own_registry=lambda i: False,
        unserved_image=lambda i: "whose copy on the engine no registry served (a local build)"
        if i == "ecs-emulator-test/emulator" else None)
    for operation in host_access.EXPRESS_LAUNCHES:
        spec = host_access.subject(operation, {"primaryContainer": {
            "image": "ecs-emulator-test/emulator"}}, store=None)
        reason = host_access.refusal(operation, spec, view)
        assert "runs the image 'ecs-emulator-test/emulator', whose copy" in reason
        spec = host_access.subject(operation, {"primaryContainer": {"image": "nginx"}}, None)
        assert host_access.refusal(operation, spec, view) is None
