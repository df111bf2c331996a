"""A task torn down while its runner's Docker call is under way, on the fake runtime (no
Docker): on an engine being force-removed that call may end any way, not only with a 404 (a
timeout, a lost connection, a 500 of a dockerd shutting down). The start ends with the
teardown's reason, no made-up start or pull failure and nothing in the log that reads as a fault.
The same on real Docker, for a call that meets a 404: test_torn_down_starts.py."""

from __future__ import annotations

import logging

import pytest
import requests

from emulator.runtime.base import ImagePullError, RuntimeError_
from emulator.runtime.status import TaskStatus
from tests.test_engine_units import world  # noqa: F401 - the fixture, used by name


def noise(caplog) -> list[str]:
    return [f"{r.levelname} {r.name}: {r.getMessage()}" for r in caplog.records
            if r.exc_info or r.levelno >= logging.WARNING]


def during(world, call: str, error: Exception, close: bool, stop: bool = True) -> None:
    """The runtime's `call` takes the engine away first (stops the task, as engine_removal does
    once its wait runs out; closes the runtime), then fails with `error`."""
    def failing(*args, **kwargs):
        if stop:
            with world.state.lock:
                for task in world.store.tasks.values():
                    task.stop_grace_s = 0
                    world.store.door.stop(world.store, task, "TerminationNotice", "engine gone")
                world.state.changed.notify_all()
        if close:
            world.fake.close(why="its engine b was removed from the emulator")
        raise error

    setattr(world.fake, call, failing)


@pytest.mark.parametrize("call, error, close", [
    ("start_container", requests.exceptions.ReadTimeout("read timed out"), False),
    ("create_container", requests.exceptions.ConnectionError("connection refused"), False),
    ("start_container", RuntimeError_("500 Server Error: dockerd is shutting down"), True),
    ("ensure_image", ImagePullError("500 Server Error: dockerd is shutting down"), True),
])
def test_a_call_failing_as_its_engine_goes_ends_the_start_quietly(world, caplog, call, error,
                                                                  close):
    during(world, call, error, close)
    with caplog.at_level(logging.DEBUG, logger="emulator"):
        task = world.run({"name": "main"})
        world.reaches(task, TaskStatus.STOPPED)
    assert (task.stop_code, task.stopped_reason) == ("TerminationNotice", "engine gone")
    assert [c.reason for c in task.containers] == ["engine gone"]
    assert noise(caplog) == []


def test_the_same_failure_without_a_stop_asked_for_is_the_tasks_failure(world, caplog):
    during(world, "start_container", requests.exceptions.ReadTimeout("read timed out"),
           close=False, stop=False)
    task = world.run({"name": "main"})
    world.reaches(task, TaskStatus.STOPPED)
    assert task.stop_code == "TaskFailedToStart" and "read timed out" in task.stopped_reason
    assert any(r.exc_info for r in caplog.records)  # a fault of ours or Docker's: visible
