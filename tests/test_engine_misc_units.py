"""Several engines on the fake runtime (no Docker), where they meet: one daemon under two engine
names refused (at start and at run time) and never swept by a removal; the control token with
engines of different kinds; a claimed spare sandbox left by an outage swept on the engine's
return; a restarted emulator's tasks of an engine not configured at start adopted when it is
added, or lost when it is not."""

from __future__ import annotations

import pytest

from emulator.access.control_token import ControlToken, reaches_loopback
from emulator.config import EngineAddress
from emulator.engine import engine_identity, engines as engines_module
from emulator.engine.sandbox_pool import POOL_NAME, Ready
from emulator.runtime import labels
from emulator.runtime.base import TaskSandbox
from emulator.runtime.fake import FakeContainer
from emulator.runtime.status import TaskStatus
from tests.test_engine_ops_units import World, _container_on, _persisted_fargate_task
from tests.waiting import wait_for

DESKTOP = {"ID": "D", "Name": "docker-desktop", "OperatingSystem": "Docker Desktop"}
NATIVE = {"ID": "N", "Name": "box", "OperatingSystem": "Ubuntu 24.04.1 LTS"}


@pytest.fixture
def answering(monkeypatch):
    """`engines add` finds every address answering its ping, and so do the health probes of
    the engines it adds (the fakes answer the rest)."""
    from emulator.engine.engine_health import EngineHealth

    monkeypatch.setattr(engines_module, "why_not_answering", lambda environment: None)
    monkeypatch.setattr(engines_module, "EngineHealth",
                        lambda name, environment: EngineHealth(name, environment, lambda: None))


def _same_daemon(world, *names):
    for name in names:
        world.fakes[name].info = dict(world.fakes["default"].info)


def _started_with_c_down() -> World:
    """A world whose engine c does not answer `docker info` at start (its daemon unknown)."""
    world = World()

    def down():
        raise ConnectionError("connection refused")

    world.fakes["c"].daemon_info = down
    world.engines.start()
    return world


# -- one daemon, one engine ---------------------------------------------------------------------

def test_two_names_for_one_daemon_stop_the_start_naming_both():
    world = World()
    _same_daemon(world, "c")
    with pytest.raises(engine_identity.DuplicateEngine) as refused:
        world.engines.start()
    assert "'c'" in str(refused.value) and "'default'" in str(refused.value)
    world.engines.stop()


def test_dockerds_of_one_machine_share_an_id_but_not_a_data_root():
    """Before Docker 23 every dockerd of a machine has the ID of its /etc/docker/key.json."""
    world = World()
    for name, root in (("default", "/var/lib/docker"), ("b", "/srv/b"), ("c", "/srv/c")):
        world.fakes[name].info = {"ID": "SAME:ID", "DockerRootDir": root}
    world.engines.start()  # no duplicate
    world.engines.stop()
    assert engine_identity.daemon_of({"ID": "X", "DockerRootDir": "/d"}) == "X /d"


def test_engines_add_of_a_known_daemon_is_refused_and_nothing_is_added(answering):
    world = World()
    world.engines.start()
    try:
        made = []

        def make_runtime(environment):
            fake = type(world.fakes["b"])()
            fake.info = dict(world.fakes["b"].info)  # engine b's daemon, by another address
            made.append(fake)
            return fake

        world.engines._make_runtime = make_runtime
        with pytest.raises(engine_identity.DuplicateEngine, match="same daemon as the engine 'b'"):
            world.engines.add_running(EngineAddress("d", "unix:///d.sock"))
        assert [e["name"] for e in world.engines.describe()] == ["default", "b", "c"]
        assert made[0].closed and world.engines.identities.daemon_of_engine("d") is None
    finally:
        world.engines.stop()


def test_removing_an_engine_that_shares_its_daemon_leaves_the_others_resources():
    """Engine c did not answer at start and turned out to be the default engine's daemon: its
    removal must not sweep the default engine's containers (the same labels)."""
    world = _started_with_c_down()
    try:
        del world.fakes["c"].daemon_info  # it answers now, as the default engine's daemon
        _same_daemon(world, "c")
        world.engines.identities.learn_late(world.engines.engines["c"])  # its first answer
        world.engines.remove_running("c")
        assert ("remove_labelled", {}) not in world.fakes["c"].calls
        world.engines.remove_running("b")
        assert ("remove_labelled", {}) in world.fakes["b"].calls
    finally:
        world.engines.stop()


# -- the control token --------------------------------------------------------------------------

@pytest.mark.parametrize("on_this_machine, info, reaches", [
    (True, DESKTOP, True),
    (True, {"Name": "colima", "OperatingSystem": "Ubuntu 24.04 LTS"}, True),
    (True, {"Name": "orbstack", "OperatingSystem": "OrbStack"}, True),
    (True, NATIVE, False),
    (False, DESKTOP, False),  # its containers reach that machine's loopback, not ours
])
def test_which_engines_reach_this_hosts_loopback(on_this_machine, info, reaches):
    assert reaches_loopback(on_this_machine, info) is reaches


def test_a_desktop_engine_beside_a_native_one_turns_the_token_on_at_start_or_when_added(
        answering):
    for mode, enforced in (("auto", True), ("off", False), ("on", True)):
        world = World()
        world.engines.control_token = token = ControlToken(mode)
        world.fakes["default"].info = dict(NATIVE)
        world.fakes["b"].info, world.fakes["c"].info = dict(NATIVE, ID="B"), dict(DESKTOP)
        world.engines.start()
        world.engines.stop()
        assert token.enforced is enforced, mode

    world = World()  # native engines only: off until a Desktop-like engine is added
    world.engines.control_token = token = ControlToken("auto")
    world.engines.start()
    try:
        assert not token.enforced

        def desktop(environment):
            fake = type(world.fakes["b"])()
            fake.info = dict(DESKTOP)
            return fake

        world.engines._make_runtime = desktop
        world.engines.add_running(EngineAddress("d", "unix:///d.sock"))
        assert token.enforced
    finally:
        world.engines.stop()


# -- spares left by an outage -------------------------------------------------------------------

def _spare(fake, container_id: str) -> None:
    fake.containers[container_id] = FakeContainer(
        id=container_id, name=f"ecs-emulator-pool-{container_id}", image="ecs-emulator/pause",
        network="ecs-emulator-fake", status="running",
        labels={labels.CONTAINER_NAME: POOL_NAME, labels.ROLE: "pause",
                labels.INSTANCE: fake.instance_id})


def test_a_claimed_spare_nobody_owns_is_swept_when_its_engine_answers_again():
    """On engine b: a spare claimed by a task whose teardown ran while b was down (no task
    label, no runner), a spare still ready in b's pool, one just handed to a task whose runner
    lives, and that live task's sandbox: the sweep of b's return removes the first only."""
    from emulator.persistence.adoption import adopt

    world = World()
    b = world.engines.engines["b"]
    fake, pool = world.fakes["b"], b.sandboxes
    task = _persisted_fargate_task(world, "b", "on-b")
    adopt(world.engine, world.state)  # the task's runner
    for spare in ("orphan", "ready", "handed", "in-use"):
        _spare(fake, spare)
    with world.state.lock:
        task.sandbox_id = "in-use"  # a claimed spare, its sandbox
    pool.size = 1
    pool._ready[()] = [Ready(TaskSandbox("container:handed", None, "handed"), None),
                       Ready(TaskSandbox("container:ready", None, "ready"), None)]
    assert pool.take([], owner=task.arn).sandbox.sandbox_id == "handed"
    try:
        assert b.outage.sweep() == 1
        assert set(fake.containers) == {"on-b", "ready", "handed", "in-use"}
    finally:
        world.engine.start()
        world.engine.stop()


def test_the_sweep_never_removes_a_spare_claimed_by_a_task_admitted_meanwhile():
    """A task admitted (under the state lock) while the sweep asks who owns b's spares takes
    one: the sweep asks under that lock, so the spare is either still ready or its runner's."""
    import threading

    world = World()
    b = world.engines.engines["b"]
    fake, pool = world.fakes["b"], b.sandboxes
    _spare(fake, "ready")
    pool.size = 1
    pool._ready[()] = [Ready(TaskSandbox("container:ready", None, "ready"), None)]
    runners: set[str] = set()
    b.outage.engine.tasks_with_runners = lambda: set(runners)
    asked = pool.unowned

    def admit():
        with world.state.lock:  # as TaskEngine admits a runner, which then takes a spare
            runners.add("arn:new")
            pool.take([], owner="arn:new")

    def unowned(*args):
        admitting = threading.Thread(target=admit)
        admitting.start()
        admitting.join(timeout=0.3)  # blocked by the sweep's lock, when it holds it
        return asked(*args)

    pool.unowned = unowned
    assert b.outage.sweep() == 0
    assert "ready" in fake.containers
    wait_for(lambda: pool.ready_count(), lambda n: n == 0)  # the task got it, after the sweep


def test_engines_on_one_daemon_leave_the_spares_to_each_other():
    """Engine c turned out late to be the default engine's daemon: a spare there may be the
    other engine's (ready, or its task's sandbox), which neither pool knows: neither sweeps it."""
    world = _started_with_c_down()
    try:
        del world.fakes["c"].daemon_info
        _same_daemon(world, "c")
        for name in ("c", "default"):
            _spare(world.fakes[name], "theirs")
            assert world.engines.engines[name].outage.sweep() == 0
            assert "theirs" in world.fakes[name].containers
    finally:
        world.engines.stop()


def test_an_engines_return_drops_its_ready_spares_whose_death_nobody_told():
    """Engine b went (its spares with it, their die events lost): back, its pool hands out no
    spare made before; the ones still there are removed."""
    from emulator.engine.engine_health import Outage

    world = World()
    b = world.engines.engines["b"]
    fake, pool = world.fakes["b"], b.sandboxes
    _spare(fake, "survivor")
    pool.size = 1
    pool._ready[()] = [Ready(TaskSandbox("container:dead", None, "dead"), None),
                       Ready(TaskSandbox("container:survivor", None, "survivor"), None)]
    b.outage.on_up(Outage(since=0.0, seconds=1.0))
    assert pool.take([]) is None
    assert "survivor" not in fake.containers


# -- engines added at run time, after a restart -------------------------------------------------

def test_a_restarts_tasks_of_an_engine_not_configured_are_adopted_when_it_is_added(answering):
    """The previous run had engine d (added at run time); this one starts without it: d's task
    is held (not matched against the default engine's containers, not stopped), and `engines
    add d` adopts it with its same container; a container of this emulator that no task owns on
    d is removed."""
    from emulator.persistence.adoption import adopt

    world = World()
    d = type(world.fakes["b"])()
    world.fakes["d"] = d
    task = _persisted_fargate_task(world, "d", "on-d")
    world.engine._waiting.clear()  # read back from the state file, not run through RunTask
    _container_on(d, "gone-on-d", "arn:aws:ecs:us-east-1:1:task/c/gone")
    assert adopt(world.engine, world.state) == 0
    assert task.known == TaskStatus.RUNNING and not task.stop_requested
    assert task.arn not in world.engine.tasks_with_runners()
    world.engine.start()
    try:
        world.engines._make_runtime = lambda environment: d
        world.engines.add_running(EngineAddress("d", "unix:///d.sock"))
        assert task.containers[0].runtime_id == "on-d" and not task.stop_requested
        assert task.arn in world.engine.tasks_with_runners()
        assert set(d.containers) == {"on-d"}
        world.stop(task)  # its runner removes its container from d
        wait_for(lambda: set(d.containers), lambda left: not left, timeout=10)
    finally:
        world.engine.stop()


def test_a_restarts_tasks_of_an_engine_never_added_are_lost_after_the_engine_lost_time():
    from emulator.persistence.adoption import adopt

    world = World(engine_lost_after_s=0.2)
    world.fakes["d"] = type(world.fakes["b"])()
    task = _persisted_fargate_task(world, "d", "on-d")
    world.engine._waiting.clear()  # read back from the state file, not run through RunTask
    adopt(world.engine, world.state)
    world.engine.start()
    try:
        wait_for(lambda: task.known, lambda known: known == TaskStatus.STOPPED, timeout=10)
        assert task.stop_code == "TerminationNotice"
        assert task.stopped_reason.startswith("Task lost: the Docker Engine at d (not configured")
        # nothing was asked of the default engine in d's stead
        assert not [c for c in world.fakes["default"].calls if "on-d" in c]
    finally:
        world.engine.stop()
