"""An engine's return from an outage without Docker: deaths in the outage are the engine's
(stopped_by_engine: no service throttle, no circuit breaker), however they come to be known:
the outage handling's inspect, the exit reconciler looking as the engine returns, or a die event
told late."""

from __future__ import annotations

import time

import pytest

from emulator.engine import exit_reconciler
from emulator.engine.engine_health import EngineHealth
from emulator.engine.engine_outage import EngineOutage, stopped_by_engine
from emulator.engine.exit_reconciler import ExitReconciler
from emulator.runtime.base import RuntimeEvent
from emulator.runtime.status import TaskStatus
from tests.test_engine_health_units import Switch
from tests.test_engine_units import Engine


@pytest.fixture
def made(monkeypatch):
    monkeypatch.setattr(exit_reconciler, "START_SETTLE_S", 0.0)
    made = Engine()
    made.engine.reconcile_every_s = 3600  # the tests make their own passes
    made.switch = Switch()
    made.health = EngineHealth("x", {"DOCKER_HOST": "unix:///x.sock"}, pinger=made.switch)
    made.engine.health = made.health
    made.engine.start()
    made.reconciler = ExitReconciler(made.engine, made.fake, made.health)
    yield made
    made.engine.stop()


def _running(made, *names: str) -> list:
    tasks = [made.run({"name": name}) for name in names]
    for task in tasks:
        made.reaches(task, TaskStatus.RUNNING)
    made.health.check()  # the first answer
    assert made.reconciler.reconcile() == 0  # each start noted
    return tasks


def _down(made) -> None:
    made.switch.up = False
    assert not made.health.check()


def test_deaths_in_an_outage_found_as_the_engine_returns_are_the_engines(made):
    EngineOutage(made.engine, made.health, made.fake)
    by_list, by_event = _running(made, "listed", "told")
    _down(made)
    # The restart stops both; the stream (reopened) tells of one only later.
    listed, told = made.fake.find("listed"), made.fake.find("told")
    made.fake.exit_unseen(listed, exit_code=143)
    made.fake.exit_unseen(told, exit_code=137)
    died_at = time.time()
    inspect, raced = made.fake.inspect_container, []

    def racing_inspect(container_id):
        # The outage handling inspects outside the lock: meanwhile the reconciler makes its
        # pass, and the late die event comes.
        if not raced:
            raced.append(None)  # (once: the reconciler's own inspect comes here too)
            raced[0] = made.reconciler.reconcile()
            made.engine._on_event(RuntimeEvent(told, "die", made.fake.containers[told].labels,
                                               exit_code=137, time=died_at), made.health)
        return inspect(container_id)

    made.fake.inspect_container = racing_inspect
    made.switch.up = True
    assert made.health.check()
    for task, code in ((by_list, 143), (by_event, 137)):
        made.reaches(task, TaskStatus.STOPPED)
        assert stopped_by_engine(task), task.stopped_reason
        assert task.containers[0].exit_code == code
    assert raced == [0]  # the reconciler left them to the outage handling
    assert not made.health.recovering


def test_a_death_in_the_last_outage_that_only_the_reconciler_finds_is_the_engines(made):
    # (no outage handling recorded it: say its inspect failed as the engine went again)
    task, = _running(made, "main")
    _down(made)
    made.fake.exit_unseen(made.fake.find("main"), exit_code=143)
    made.switch.up = True
    assert made.health.check()
    assert made.reconciler.reconcile() == 1
    made.reaches(task, TaskStatus.STOPPED)
    assert stopped_by_engine(task), task.stopped_reason


def test_a_death_after_the_engine_is_back_is_the_tasks_own(made, monkeypatch):
    task, = _running(made, "main")
    _down(made)
    made.switch.up = True
    assert made.health.check()
    # Long after the outage (its end moved back beyond the slack): the task's own exit.
    outage = made.health.last_outage
    monkeypatch.setattr(made.health, "last_outage",
                        type(outage)(since=outage.since - 60, seconds=outage.seconds))
    made.fake.exit_unseen(made.fake.find("main"), exit_code=3)
    assert made.reconciler.reconcile() == 1
    made.reaches(task, TaskStatus.STOPPED)
    assert (task.stop_code, task.stopped_reason) == (
        "EssentialContainerExited", "Essential container in task exited")


def test_what_happened_in_an_outage_is_told_apart_from_before_and_after(made):
    health = made.health
    health.check()
    assert not health.in_outage(time.time())  # never gone
    _down(made)
    since = health.down_since
    assert health.in_outage(time.time()) and health.in_outage(since - 1)
    assert not health.in_outage(since - 60)
    made.switch.up = True
    seen = []
    health.on_up.append(lambda outage: seen.append(health.recovering))
    health.check()
    assert seen == [True] and not health.recovering  # only while its listeners run
    end = since + health.last_outage.seconds
    assert health.in_outage(since) and health.in_outage(end)
    assert not health.in_outage(end + 60) and not health.in_outage(None)
