"""Several engines on the fake runtime (no Docker): the Fargate engine choice made from kept
counts (never a scan of the store's tasks), an engine removed at run time (refused for the
default, for a name not known, for tasks still on it unless forced; forced, its tasks STOPPED,
its container instances INACTIVE, its runtime emptied and closed), and how ECS_EMULATOR_ENGINES
reads TLS and registry options."""

from __future__ import annotations

import dataclasses

import pytest

from emulator.aws.context import RequestContext
from emulator.config import EngineAddress, Settings, parse_engines
from emulator.ecs import clusters, task_definitions, tasks
from emulator.ecs.local_instance import LocalHost
from emulator.ecs.store import EcsState
from emulator.engine import engine_removal
from emulator.engine.ecr_images import EcrImages
from emulator.engine.engines import Engines
from emulator.engine.task_engine import TaskEngine
from emulator.runtime.fake import FakeRuntime
from emulator.runtime.status import TaskStatus
from tests.ecs_requests import ecs_request
from tests.waiting import wait_for

ACCOUNT, REGION = "123456789012", "us-east-1"
NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}


class World:
    """A task engine on a fake runtime with two more engines ("b", "c"), each a fake."""

    def __init__(self, **settings):
        self.fakes = {"default": FakeRuntime()}
        self.state = EcsState()
        self.state.local_host = LocalHost(self.fakes["default"].host_resources)
        settings = dataclasses.replace(
            Settings(), engines=(("b", "unix:///b.sock"), ("c", "unix:///c.sock")), **settings)
        self.engine = TaskEngine(self.state, lambda: self.fakes["default"], settings)

        def make_runtime(environment):
            fake = FakeRuntime()
            self.fakes[environment["DOCKER_HOST"][len("unix:///"):-len(".sock")]] = fake
            return fake

        self.engines = Engines(self.engine, settings, make_runtime)
        self.engine.engines = self.engines
        self.engines.local_host = self.state.local_host
        self.state.local_host.engines = self.engines.hosts()
        self.store = self.state.store_for(ACCOUNT, REGION)
        with self.state.lock:
            clusters.create(self.store, ecs_request("CreateCluster", {"clusterName": "c"}))
            for family, mode, kind in (("web", "bridge", "EC2"), ("f", "awsvpc", "FARGATE")):
                task_definitions.register(self.store, RequestContext(ACCOUNT, REGION), ecs_request(
                    "RegisterTaskDefinition", {
                        "family": family, "networkMode": mode, "cpu": "256", "memory": "512",
                        "requiresCompatibilities": [kind],
                        "containerDefinitions": [{"name": "main", "image": "app"}]}))

    def run(self, count=1, launch_type="FARGATE", group=None, **params) -> list:
        request = {"cluster": "c", "taskDefinition": "f" if launch_type == "FARGATE" else "web",
                   "count": count, "launchType": launch_type, **params}
        if launch_type == "FARGATE":
            request["networkConfiguration"] = NETWORK
        if group:
            request["group"] = group
        with self.state.lock:
            ran, failures = tasks.run(self.store, ecs_request("RunTask", request))
        assert not failures
        for task in ran:
            wait_for(lambda: task.known, lambda known: known >= TaskStatus.RUNNING, timeout=10)
        return ran

    def stop(self, task) -> None:
        with self.state.lock:
            tasks.stop(self.store, "c", task.arn, "enough")
        wait_for(lambda: task.known, lambda known: known >= TaskStatus.STOPPED, timeout=10)

    def instances(self) -> dict[str, str]:
        """Engine name -> its container instance's status in the cluster."""
        return {i.engine: i.status for i in self.store.container_instances.values()}


@pytest.fixture
def world():
    made = World()
    made.engine.start()
    yield made
    made.engine.stop()


def _engines_of(ran) -> list[str]:
    return sorted(t.engine for t in ran)


def test_fargate_tasks_spread_by_group_then_by_load_and_a_stopped_one_frees_its_engine(world):
    first = world.run(3, group="one")
    assert _engines_of(first) == ["b", "c", "default"]
    second = world.run(2, group="two")  # a new group: spread again from the least loaded
    assert len({t.engine for t in second}) == 2
    [on_b] = [t for t in first if t.engine == "b"]
    world.stop(on_b)
    assert world.engines.load.load("b", "one") == (0, sum(t.engine == "b" for t in second))
    [again] = world.run(1, group="one")
    assert again.engine == "b"
    # Each runtime holds exactly the containers of its tasks (and their sandboxes).
    for name, fake in world.fakes.items():
        running = {c.labels.get("ecs-emulator.task-arn") for c in fake.containers.values()
                   if c.status == "running"} - {None}  # not the spare sandbox
        assert running == {t.arn for t in first + second + [again]
                           if t.engine == name and not t.stop_requested}


def test_the_choice_asks_only_the_kept_counts_not_the_stores_tasks(world):
    class NoScan:
        region = REGION

        @property
        def tasks(self):
            raise AssertionError("the choice scanned the store's tasks")

    world.run(2, group="g")  # default and b hold one each
    task = dataclasses.replace(world.store.tasks[next(iter(world.store.tasks))], engine=None,
                               arn="arn:new", container_instance_arn=None)
    with world.state.lock:
        assert world.engines._choose(NoScan(), task) == "c"


def test_removing_an_engine_is_refused_for_the_default_an_unknown_name_and_running_tasks(world):
    [on_default, on_b, _] = sorted(world.run(3, group="g"), key=lambda t: t.engine != "default")
    world.run(1, launch_type="EC2", placementConstraints=[
        {"type": "memberOf", "expression": "attribute:ecs.availability-zone == us-east-1b"}])
    with pytest.raises(ValueError, match="the default engine .* cannot be removed"):
        world.engines.remove_running("default")
    with pytest.raises(engine_removal.EngineNotFound, match="no engine named 'x'"):
        world.engines.remove_running("x")
    with pytest.raises(engine_removal.EngineInUse, match="2 tasks still run on the engine 'b'"):
        world.engines.remove_running("b")
    assert world.instances() == {"default": "ACTIVE", "b": "ACTIVE", "c": "ACTIVE"}


def test_a_forced_removal_stops_its_tasks_deregisters_its_instances_and_empties_it(world):
    fargate = world.run(3, group="g")
    [ec2] = world.run(1, launch_type="EC2", placementConstraints=[
        {"type": "memberOf", "expression": "attribute:ecs.availability-zone == us-east-1b"}])
    on_b = [t for t in fargate + [ec2] if t.engine == "b"]
    assert len(on_b) == 2
    removed = world.engines.remove_running("b", force=True)
    assert removed["name"] == "b" and removed["dockerHost"] == "unix:///b.sock"
    for task in on_b:
        assert task.known == TaskStatus.STOPPED
        assert (task.stop_code, task.stopped_reason) == (
            "TerminationNotice", "Task stopped: its Docker Engine b was removed from the emulator")
    assert all(t.known == TaskStatus.RUNNING for t in fargate if t.engine != "b")
    assert world.instances() == {"default": "ACTIVE", "b": "INACTIVE", "c": "ACTIVE"}
    assert [e["name"] for e in world.engines.describe()] == ["default", "c"]
    assert world.fakes["b"].containers == {} and getattr(world.fakes["b"], "closed", False)
    # No new task goes there; a new EC2 task of the cluster is placed on the engines left and
    # the removed engine's instance is not registered again.
    assert {t.engine for t in world.run(4, group="h")} == {"default", "c"}
    world.run(1, launch_type="EC2")
    assert world.instances() == {"default": "ACTIVE", "b": "INACTIVE", "c": "ACTIVE"}
    # Its name may be taken again, by a new engine in the zone it freed.
    again = world.engines.add(EngineAddress("b", "unix:///b.sock"))
    assert again.zone == "b"


def test_a_placement_right_after_a_forced_removal_never_registers_the_engine_again(
        world, monkeypatch):
    """The removal wakes the service scheduler, which may take the state lock the moment the
    removal lets it go: its replacement of the stopped task then placed it on a container
    instance of the removed engine registered again (the engine list the instances come from
    was told of the removal only afterwards), and the task ran there (a CI failure of
    test_engines: a service task in the removed engine's zone)."""
    retire = engine_removal._retire
    placed = []

    def place_first(*args):  # as the scheduler would, before the removal goes on
        placed.extend(world.run(3, launch_type="EC2", placementStrategy=[
            {"type": "spread", "field": "instanceId"}]))
        retire(*args)

    monkeypatch.setattr(engine_removal, "_retire", place_first)
    world.run(1, launch_type="EC2")  # the cluster's instances, one per engine
    world.engines.remove_running("b", force=True)
    assert len(placed) == 3 and {t.engine for t in placed} == {"c", "default"}
    assert sorted((i.engine, i.status) for i in world.store.container_instances.values()) == [
        ("b", "INACTIVE"), ("c", "ACTIVE"), ("default", "ACTIVE")]


def test_a_removed_engine_is_kept_while_a_task_names_it_then_forgotten():
    """Engines.removed does not grow with every engine ever removed: a removed engine stays
    only while a known task names it (its calls must not go to the default engine)."""
    world = World(task_retention_s=3600)
    world.engine.start()
    try:
        [on_b] = [t for t in world.run(3, group="g") if t.engine == "b"]
        world.engines.remove_running("b", force=True)
        for name in ("x", "y"):  # engines without tasks, added and removed at run time
            world.engines.add(EngineAddress(name, f"unix:///{name}.sock"))
            world.engines.remove_running(name)
        world.engine.purge_stopped()
        assert sorted(world.engines.removed) == ["b"]
        with world.state.lock:
            assert world.engines.runtime_of(on_b) is world.fakes["b"]
        world.engine.settings = dataclasses.replace(world.engine.settings, task_retention_s=0)
        world.engine.purge_stopped()  # its stopped task is forgotten, and so is the engine
        assert on_b.arn not in world.store.tasks and world.engines.removed == {}
    finally:
        world.engine.stop()


def test_the_runners_of_a_deleted_clusters_tasks_go_once_it_is_created_again(world):
    """A cluster created again forgets its predecessor's stopped tasks (EcsStore.forget_cluster);
    their finished runners go at the next purge, not only after the retention time."""
    [task] = world.run(1)
    world.stop(task)
    wait_for(lambda: world.engine.tasks_with_runners(), lambda live: task.arn not in live)
    with world.state.lock:
        clusters.delete(world.store, "c")
        clusters.create(world.store, ecs_request("CreateCluster", {"clusterName": "c"}))
    assert task.arn not in world.store.tasks
    world.engine.purge_stopped()  # the retention time (an hour) is far off
    assert task.arn not in world.engine._runners


def test_engines_are_read_with_tls_and_registry_options(tmp_path):
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("x")
    assert parse_engines("") == ()
    assert parse_engines("b=unix:///run/b.sock  c=ssh://me@box;d=tcp://10.0.0.5:2376") == (
        EngineAddress("b", "unix:///run/b.sock"), EngineAddress("c", "ssh://me@box"),
        EngineAddress("d", "tcp://10.0.0.5:2376"))
    [tls] = parse_engines(f"t=tcp://10.0.0.5:2376,tlsverify,certs={tmp_path},"
                          "registry=10.0.0.1:4566")
    assert tls == EngineAddress("t", "tcp://10.0.0.5:2376", True, str(tmp_path), "10.0.0.1:4566")
    assert tls.environment() == {"DOCKER_HOST": "tcp://10.0.0.5:2376", "DOCKER_TLS_VERIFY": "1",
                                 "DOCKER_CERT_PATH": str(tmp_path)}
    (tmp_path / "ca.pem").unlink()
    # without verification the CA is not needed, as the docker CLI has it
    assert parse_engines(f"t=tcp://h:2376,certs={tmp_path}")[0].tls_verify is False
    wrong = {
        "b": "not a Docker address", "=unix:///x": "engine name", "default=unix:///x": "engine name",
        "b=x b=y": "not a Docker address", "b=unix:///x b=unix:///y": "names an engine twice",
        "a=b=c": "not a Docker address", "b=http://x": "not a Docker address",
        "b c=unix:///x": "not a Docker address",
        f"t=tcp://h:2376,tlsverify,certs={tmp_path}": r"has no ca\.pem",
        f"t=tcp://h:2376,certs={tmp_path / 'none'}": r"has no cert\.pem, key\.pem",
        "t=unix:///x,tlsverify": "TLS is for tcp:// addresses",
        "t=tcp://h:2376,tls": "is not an option", "t=tcp://h:2376,tlsverify=1": "is not an option",
        "t=tcp://h:2376,registry=http://r:5000": "is not a host",
    }
    for text, message in wrong.items():
        with pytest.raises(ValueError, match=message):
            parse_engines(text)


def test_each_engine_pulls_our_images_at_its_registry_address():
    settings = Settings(port=4566, registry_address="10.0.0.1:4566")

    class Ecr:
        signing_key = b"k" * 32

    class Store:
        account = ACCOUNT

    hook = EcrImages(Ecr(), settings, lambda: 4566)
    aws = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/app:1"
    assert hook.resolve_image(Store(), aws)[0] == "10.0.0.1:4566/app:1"
    state = EcsState()
    engines = Engines(TaskEngine(state, FakeRuntime, settings),
                      dataclasses.replace(settings, engines=(
                          EngineAddress("far", "tcp://far:2375", registry="far-side:5000"),)),
                      lambda environment: FakeRuntime())
    hook.engines = engines
    image, auth = hook.resolve_image(Store(), aws, "far")
    assert (image, auth.server) == ("far-side:5000/app:1", "far-side:5000")
    assert hook.resolve_image(Store(), aws, "default")[0] == "10.0.0.1:4566/app:1"
    # our repositoryUri as a client saw it, under any address we answer at, goes to the engine's
    for uri in ("127.0.0.1:4566/app:1", "localhost:4566/app:1", "far-side:5000/app:1",
                "10.0.0.1:4566/app:1"):
        assert hook.resolve_image(Store(), uri, "far")[0] == "far-side:5000/app:1"
    assert hook.resolve_image(Store(), "docker.io/library/busybox", "far") is None


def test_the_registry_address_is_read_and_checked(monkeypatch):
    monkeypatch.setenv("ECS_EMULATOR_REGISTRY_ADDRESS", "192.168.1.10:4566")
    assert Settings.from_env().registry_address == "192.168.1.10:4566"
    monkeypatch.setenv("ECS_EMULATOR_REGISTRY_ADDRESS", "http://192.168.1.10:4566/")
    with pytest.raises(ValueError, match="ECS_EMULATOR_REGISTRY_ADDRESS .* is not a host"):
        Settings.from_env()
    monkeypatch.delenv("ECS_EMULATOR_REGISTRY_ADDRESS")
    assert Settings.from_env().registry_address is None


def _persisted_fargate_task(world, engine_name: str, container_id: str):
    """A RUNNING Fargate task as a restarted emulator reads it back, its container running on
    engine `engine_name` (the fake's), before the task engine starts."""
    with world.state.lock:
        ran, _ = tasks.run(world.store, ecs_request("RunTask", {
            "cluster": "c", "taskDefinition": "f", "launchType": "FARGATE",
            "networkConfiguration": NETWORK}))
        task = ran[0]
        task.engine, task.known = engine_name, TaskStatus.RUNNING
        task.containers[0].started = True
    _container_on(world.fakes[engine_name], container_id, task.arn)
    return task


def _container_on(fake, container_id: str, task_arn: str) -> None:
    from emulator.runtime import labels
    from emulator.runtime.fake import FakeContainer

    fake.containers[container_id] = FakeContainer(
        id=container_id, name=f"c-{container_id}", image="app", network="bridge",
        status="running", labels={labels.TASK_ARN: task_arn, labels.CONTAINER_NAME: "main",
                                  labels.INSTANCE: fake.instance_id})


def test_a_restart_adopts_each_engines_tasks_from_that_engines_own_containers():
    """Adoption lists every engine configured at start: the task that ran on engine b gets its
    same container back there (and its runner removes it when it stops); containers of this
    emulator that no task owns are removed from b as from the default engine."""
    from emulator.persistence.adoption import adopt

    world = World()
    task = _persisted_fargate_task(world, "b", "on-b")
    _container_on(world.fakes["b"], "gone-on-b", "arn:aws:ecs:us-east-1:1:task/c/gone")
    _container_on(world.fakes["default"], "gone-here", "arn:aws:ecs:us-east-1:1:task/c/gone")
    assert adopt(world.engine, world.state) == 1
    assert task.containers[0].runtime_id == "on-b" and task.known == TaskStatus.RUNNING
    assert set(world.fakes["b"].containers) == {"on-b"}
    assert "gone-here" not in world.fakes["default"].containers
    world.engine.start()
    try:
        world.stop(task)
        wait_for(lambda: set(world.fakes["b"].containers), lambda left: not left, timeout=10)
    finally:
        world.engine.stop()


def test_an_engine_that_does_not_answer_at_start_has_its_tasks_held_not_stopped(monkeypatch):
    """Engine c is down as the emulator restarts: its task keeps what the state file says
    (RUNNING, its container id), with a runner, for c's outage handling to settle; the other
    engines are adopted as usual."""
    from emulator.persistence.adoption import adopt

    world = World()
    on_b = _persisted_fargate_task(world, "b", "on-b")
    on_c = _persisted_fargate_task(world, "c", "on-c")
    with world.state.lock:
        on_c.containers[0].runtime_id = "on-c"

    def down():
        raise ConnectionError("connection refused")

    # Two more of c's, seen starting by the state file: one with nothing made yet, one
    # part-way (its container made): the first is started once c answers, the second stopped.
    fresh = _persisted_fargate_task(world, "c", "fresh")
    halfway = _persisted_fargate_task(world, "c", "halfway")
    with world.state.lock:
        fresh.known, fresh.containers[0].started = TaskStatus.PROVISIONING, False
        halfway.known, halfway.containers[0].runtime_id = TaskStatus.PENDING, "halfway"
    del world.fakes["c"].containers["fresh"]

    monkeypatch.setattr(world.fakes["c"], "owned", down)
    assert adopt(world.engine, world.state) == 3  # b's, and c's two that were made
    assert on_b.containers[0].runtime_id == "on-b"
    assert on_c.known == TaskStatus.RUNNING and not on_c.stop_requested
    assert halfway.stop_requested and halfway.stop_code == "TaskFailedToStart"
    assert not fresh.stop_requested
    assert on_c.containers[0].runtime_id == "on-c" and "on-c" in world.fakes["c"].containers
    with world.state.lock:
        live = {t.arn for _, t in world.engine.live_tasks()}
        assert {on_b.arn, on_c.arn} <= live
        # halfway's runner is stopping it: still at it, or done already (a busy machine's
        # scheduling decides which this assertion sees)
        assert halfway.arn in live or halfway.known == TaskStatus.STOPPED
    world.engine.start()
    world.engine.stop()


def test_a_name_being_removed_is_not_added_again_until_its_sweep_is_done(world, monkeypatch):
    # Added again meanwhile (the same daemon, say), the old engine's sweep of our resources
    # would take the new engine's.
    from emulator.engine import engines as engines_module

    monkeypatch.setattr(engines_module, "why_not_answering", lambda environment: None)
    tried = []
    waited = engine_removal._wait_for

    def wait_then_add_again(*args):
        waited(*args)
        with pytest.raises(ValueError, match="still being removed"):
            world.engines.add_running(EngineAddress("b", "unix:///b.sock"))
        tried.append("b")

    monkeypatch.setattr(engine_removal, "_wait_for", wait_then_add_again)
    world.run(3, group="g")
    world.engines.remove_running("b", force=True)
    assert tried == ["b"] and not world.engines.removing
    world.engines.add_running(EngineAddress("b", "unix:///b.sock"))  # after the sweep: it may
    assert [e["name"] for e in world.engines.describe()] == ["default", "c", "b"]


def test_a_target_groups_host_port_is_the_binding_of_its_own_protocol():
    """A task's container port published over UDP (to a host port another program may hold
    over TCP) and over TCP: an HTTP or TCP group's target is the TCP binding, a UDP group's the
    UDP one, and a port published over UDP alone is no HTTP group's target."""
    from types import SimpleNamespace

    from emulator.engine import load_balancing

    udp, tcp = ({"containerPort": 8080, "hostPort": 50123, "protocol": "udp"},
                {"containerPort": 8080, "hostPort": 32768, "protocol": "tcp"})
    # UDP first: Docker lists 8080/tcp before 8080/udp, so only this order tells that the
    # protocol is asked, not the first binding of the port taken
    both = _container(network_bindings=[udp, tcp])
    udp_only = _container(network_bindings=[udp])
    over_tcp = load_balancing._protocol_of(SimpleNamespace(protocol="HTTP"))
    over_udp = load_balancing._protocol_of(SimpleNamespace(protocol="UDP"))
    assert (over_tcp, over_udp) == ("tcp", "udp")
    assert both.host_port(8080, over_tcp) == 32768
    assert both.binding(8080) == tcp  # the front doors' pick
    assert both.host_port(8080, over_udp) == 50123
    assert udp_only.host_port(8080, over_tcp) is None and udp_only.binding(8080) is None
    # Cloud Map's registry names no protocol: TCP's where there is one, else the port's only
    assert both.host_port(8080, protocol=None) == 32768
    assert udp_only.host_port(8080, protocol=None) == 50123
    assert both.host_port(9090) is None


def _container(**fields):
    from emulator.ecs.task_model import TaskContainer

    return TaskContainer(name="web", arn="arn:container", definition={}, **fields)


def test_the_binding_picked_is_ipv4s_where_docker_published_both():
    """Docker lists :: and 0.0.0.0 for one port, in either order: ::1 is reached nowhere on a
    host without IPv6 on loopback, so the IPv4 binding is dialled; :: only where alone."""
    six = {"containerPort": 80, "hostPort": 32768, "protocol": "tcp", "bindIP": "::"}
    four = {**six, "bindIP": "0.0.0.0"}
    assert _container(network_bindings=[six, four]).binding(80) == four
    assert _container(network_bindings=[six, four]).binding(80, protocol=None) == four
    assert _container(network_bindings=[six]).binding(80) == six


def test_a_stopped_container_keeps_its_bindings_as_ecs_shows_them():
    """ECS shows a stopped container's networkBindings (the agent reports its known port
    bindings for STOPPED containers too); the front doors dial only a running one's."""
    import threading
    from types import SimpleNamespace

    from emulator.ecs.task_model import Task
    from emulator.engine.task_events import TaskEvents
    from emulator.runtime.status import ContainerStatus

    binding = {"containerPort": 80, "hostPort": 32768, "protocol": "tcp", "bindIP": "0.0.0.0"}
    container = _container(network_bindings=[binding])
    container.known = ContainerStatus.RUNNING
    task = Task.__new__(Task)
    task.network_mode, task.sandbox_id = "bridge", None
    events = SimpleNamespace(state=SimpleNamespace(changed=threading.Condition()))
    with events.state.changed:
        TaskEvents.record_exit(events, task, container,
                               SimpleNamespace(running=False, exit_code=0, oom_killed=False))
    assert container.known == ContainerStatus.STOPPED
    assert container.network_bindings == [binding]
