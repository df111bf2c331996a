"""The bound on work sent to Docker (runtime/docker_queue.py), without Docker: no more than its
limit in flight, teardown served before setup, a task's setup calls in the order the tasks began,
setup for a stopped task abandoned; and a task's
runner on the fake runtime, stopped while its create waited its turn, creates nothing and keeps
the StopTask's code."""

from __future__ import annotations

import threading
import time

import pytest

from emulator.runtime import docker_queue
from emulator.runtime.docker_queue import SETUP, TEARDOWN, Abandoned, DockerQueue
from emulator.runtime.fake import FakeRuntime
from emulator.runtime.status import TaskStatus
from tests.test_engine_units import Engine
from tests.waiting import wait_for


class Gate:
    """Calls that block until released, counting how many are inside at once."""

    def __init__(self):
        self.lock = threading.Lock()
        self.inside = 0
        self.most = 0
        self.order: list[str] = []
        self.release = threading.Event()

    def work(self, name: str) -> str:
        with self.lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
            self.order.append(name)
        self.release.wait(timeout=10)
        with self.lock:
            self.inside -= 1
        return name


def in_threads(queue: DockerQueue, calls: list[tuple[int, str]], gate: Gate) -> list[threading.Thread]:
    threads = [threading.Thread(target=queue.call, args=(kind, gate.work, name), daemon=True)
               for kind, name in calls]
    for thread in threads:
        thread.start()
    return threads


def test_no_more_than_the_limit_in_flight_and_all_served():
    queue, gate = DockerQueue(3), Gate()
    threads = in_threads(queue, [(SETUP, f"c{i}") for i in range(12)], gate)
    wait_for(lambda: (queue.in_flight, queue.waiting), lambda seen: seen == (3, 9))
    time.sleep(0.05)  # nothing else gets in while the three are inside
    assert gate.inside == 3
    gate.release.set()
    for thread in threads:
        thread.join(timeout=10)
    assert gate.most == 3 and queue.peak_in_flight == 3
    assert sorted(gate.order) == sorted(f"c{i}" for i in range(12))
    assert (queue.in_flight, queue.waiting) == (0, 0)


def test_teardown_is_served_before_setup_then_in_order_of_arrival():
    queue, gate = DockerQueue(1), Gate()
    holder = in_threads(queue, [(SETUP, "holder")], gate)
    wait_for(lambda: queue.in_flight, lambda n: n == 1)
    waiting = []
    for kind, name in [(SETUP, "start-a"), (SETUP, "start-b"), (TEARDOWN, "remove-c"),
                       (TEARDOWN, "remove-d")]:
        waiting += in_threads(queue, [(kind, name)], gate)
        wait_for(lambda: queue.waiting, lambda n, want=len(waiting): n == want)
    gate.release.set()
    for thread in holder + waiting:
        thread.join(timeout=10)
    assert gate.order == ["holder", "remove-c", "remove-d", "start-a", "start-b"]


def test_setup_work_begun_earlier_goes_first_so_a_half_set_up_task_finishes():
    queue, gate = DockerQueue(1), Gate()
    holder = in_threads(queue, [(SETUP, "holder")], gate)
    wait_for(lambda: queue.in_flight, lambda n: n == 1)
    older_begun, newer_waits = threading.Event(), threading.Event()

    def task(name: str, began: threading.Event | None, after: threading.Event | None) -> None:
        with docker_queue.setup_work(unwanted=lambda: False):
            if began:
                began.set()
            if after:
                after.wait(timeout=10)
            queue.call(SETUP, gate.work, name)

    older = threading.Thread(target=task, args=("older task's call", older_begun, newer_waits))
    older.start()
    older_begun.wait(timeout=10)  # its work began; its call comes only after the newer one's
    newer = threading.Thread(target=task, args=("newer task's call", None, None))
    newer.start()
    wait_for(lambda: queue.waiting, lambda n: n == 1)
    newer_waits.set()
    wait_for(lambda: queue.waiting, lambda n: n == 2)
    gate.release.set()
    for thread in holder + [older, newer]:
        thread.join(timeout=10)
    assert gate.order == ["holder", "older task's call", "newer task's call"]


def test_unwanted_setup_is_abandoned_when_its_turn_comes_but_teardown_is_made():
    queue, made = DockerQueue(1), []
    stopped = threading.Event()
    with docker_queue.setup_work(unwanted=stopped.is_set):
        assert queue.call(SETUP, made.append, "before") is None
        stopped.set()
        with pytest.raises(Abandoned):
            queue.call(SETUP, made.append, "create")
        queue.call(TEARDOWN, made.append, "remove")
    queue.call(SETUP, made.append, "another task's")  # outside the block: not this task's
    assert made == ["before", "remove", "another task's"]
    assert queue.abandoned == 1 and queue.in_flight == 0


def test_a_call_that_fails_gives_its_slot_back():
    queue = DockerQueue(1)

    def fail():
        raise RuntimeError("docker said no")

    with pytest.raises(RuntimeError):
        queue.call(SETUP, fail)
    assert queue.call(SETUP, lambda: "next") == "next"


def test_a_limit_below_one_is_refused():
    with pytest.raises(ValueError):
        DockerQueue(0)


class QueuedFake(FakeRuntime):
    """The fake runtime with DockerRuntime's queue on its creates."""

    def __init__(self):
        super().__init__()
        self.queue = DockerQueue(1)

    def create_container(self, spec):
        return self.queue.call(SETUP, super().create_container, spec)


def test_a_task_stopped_while_its_create_waits_creates_nothing_and_keeps_user_initiated():
    world = Engine()
    world.fake = QueuedFake()
    world.engine._runtime = world.fake
    world.engine.start()
    try:
        gate = Gate()
        holder = in_threads(world.fake.queue, [(TEARDOWN, "a slow removal")], gate)
        wait_for(lambda: world.fake.queue.in_flight, lambda n: n == 1)
        task = world.run({"name": "main"})
        wait_for(lambda: world.fake.queue.waiting, lambda n: n == 1)  # its create waits
        world.stop(task)
        gate.release.set()
        holder[0].join(timeout=10)
        world.reaches(task, TaskStatus.STOPPED)
        assert not [call for call in world.fake.calls if call[0] == "create_container"]
        assert (task.stop_code, task.stopped_reason) == ("UserInitiated", "enough")
        assert world.fake.queue.abandoned == 1
        assert world.container(task, "main").reason == "enough"
    finally:
        world.engine.stop()
