"""Engine health and configuration without Docker: what the monitor tells its listeners, and
how ECS_EMULATOR_ENGINES is read."""

from __future__ import annotations

import threading
import time

import pytest

from emulator.engine.engine_health import EngineHealth
from emulator.engine.engine_removal import REMOVED_REASON
from emulator.engine.engine_outage import _docker_time, engine_gone_reason, stopped_by_engine


class Switch:
    """A pinger that answers while `up`."""

    def __init__(self):
        self.up = True

    def __call__(self):
        if not self.up:
            raise ConnectionError("no engine")


def watched(switch):
    health = EngineHealth("x", {"DOCKER_HOST": "unix:///x.sock"}, pinger=switch)
    heard = []
    health.on_down.append(lambda: heard.append("down"))
    health.on_up.append(lambda outage: heard.append(("up", outage.seconds >= 0)))
    return health, heard


def test_listeners_hear_each_change_once_and_not_the_first_answer():
    switch = Switch()
    health, heard = watched(switch)
    assert health.answering()  # not asked yet: work does not wait for the first probe
    assert health.check() and heard == []
    switch.up = False
    assert not health.check() and not health.check()
    assert heard == ["down"] and not health.answering()
    switch.up = True
    assert health.check() and health.check()
    assert heard == ["down", ("up", True)]
    assert health.address == "unix:///x.sock"


def test_an_engine_down_from_the_start_is_down_and_its_return_is_heard():
    switch = Switch()
    switch.up = False
    health, heard = watched(switch)
    health.check()
    switch.up = True
    health.check()
    assert heard == ["down", ("up", True)]


def test_waiting_for_an_engine_ends_when_it_answers_or_the_wait_is_cancelled():
    switch = Switch()
    switch.up = False
    health, _ = watched(switch)
    health.check()
    assert health.wait_until_answering(0.2) is False
    assert health.wait_until_answering(5, cancelled=lambda: True) is False

    def back():
        time.sleep(0.2)
        switch.up = True
        health.check()

    threading.Thread(target=back).start()
    began = time.monotonic()
    assert health.wait_until_answering(5) is True
    assert time.monotonic() - began < 4


def test_a_task_stopped_by_its_engine_is_told_apart():
    class Task:
        stopped_reason = engine_gone_reason("unix:///x.sock")

    assert stopped_by_engine(Task)
    Task.stopped_reason = REMOVED_REASON.format("b")
    assert stopped_by_engine(Task)
    Task.stopped_reason = "Essential container in task exited"
    assert not stopped_by_engine(Task)


def test_docker_times_keep_microseconds():
    when = _docker_time("2026-12-05T20:59:01.123456789Z")
    assert (when.second, when.microsecond, when.utcoffset().total_seconds()) == (1, 123456, 0)
    assert _docker_time("") is None


def test_the_watch_probes_first_once_told_to_and_answers_meanwhile():
    """A server holds the start-up's Docker calls until its first answer (server.py)."""
    probes = []
    health = EngineHealth("x", {}, pinger=lambda: probes.append(time.monotonic()))
    after = threading.Event()
    health.start(after=after)
    try:
        time.sleep(0.2)
        assert probes == [] and health.answering() and health.up is None
        after.set()
        deadline = time.monotonic() + 5
        while not probes and time.monotonic() < deadline:
            time.sleep(0.01)
        assert probes and health.up is True
    finally:
        health.stop()
