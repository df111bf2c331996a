"""engine/first_placement.py without Docker: the ECS JsonService and a running scheduler, whose
tasks are records the test moves on (no task engine). CreateService waits for its tasks with
the state lock free, ends its wait on a failed start, a reset or its bound, and only a quarter
of the workers wait at once. (With Docker and boto3's waiter: test_first_placement.py.)"""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from api_shapes import load_service
from emulator.aws.context import RequestContext
from emulator.aws.json_service import JsonService
from emulator.config import Settings
from emulator.ecs import api as ecs_api
from emulator.ecs import services
from emulator.ecs.errors import InvalidParameterException, UnsupportedFeatureException
from emulator.ecs.store import EcsState
from emulator.engine import first_placement
from emulator.engine.scheduler import ServiceScheduler
from emulator.runtime.status import TaskStatus
from tests.waiting import wait_for

ACCOUNT, REGION = "123456789012", "us-east-1"


class Api:
    """The ECS API in process, its scheduler running; tasks stay where the test puts them."""

    def __init__(self, **settings):
        self.state = EcsState()
        self.settings = replace(Settings(), **{"placement_wait_s": 30, **settings})
        self.ecs = JsonService(shapes=load_service("ecs"), handlers=ecs_api.handlers(),
                               state=self.state, invalid_parameter=InvalidParameterException,
                               not_implemented=UnsupportedFeatureException)
        self.scheduler = ServiceScheduler(self.state, self.settings)
        self.task_listeners: list = []  # the task engine's, which the test plays
        first_placement.install(self.ecs, self.scheduler, self.task_listeners, self.settings)
        self.scheduler.start()
        self.store = self.state.store_for(ACCOUNT, REGION)
        self.call("CreateCluster", clusterName="c")
        self.call("RegisterTaskDefinition", family="web",
                  containerDefinitions=[{"name": "main", "image": "x", "memory": 64}])

    def call(self, operation: str, **params) -> dict:
        return self.ecs.invoke(operation, params, RequestContext(ACCOUNT, REGION))

    def create_in_thread(self, name: str, count: int) -> tuple[threading.Thread, dict]:
        """CreateService on a thread of its own (a request's worker); the thread, its answer."""
        answer: dict = {}
        thread = threading.Thread(target=lambda: answer.update(self.call(
            "CreateService", cluster="c", serviceName=name, taskDefinition="web",
            desiredCount=count)))
        thread.start()
        return thread, answer

    def tasks_of(self, name: str, count: int) -> list:
        """The service's tasks, once the scheduler (which needs the lock) has placed `count`."""
        def placed():
            with self.state.lock:
                return services.tasks_of(self.store, self.store.services[("c", name)])
        return wait_for(placed, lambda tasks: len(tasks) == count, timeout=5)

    def move(self, task, status: TaskStatus) -> None:
        """What the task engine does: the known status forward, and the listeners told."""
        with self.state.lock:
            if status == TaskStatus.STOPPED:
                task.request_stop("TaskFailedToStart", "CannotPullContainerError")
            task.advance(status)
            for listener in self.task_listeners:
                listener(self.store, task)

    def close(self) -> None:
        self.scheduler.stop()


@pytest.fixture
def api():
    made = []
    yield lambda **settings: made.append(Api(**settings)) or made[-1]
    for one in made:
        one.close()


def still_waiting(thread: threading.Thread) -> bool:
    thread.join(0.2)
    return thread.is_alive()


def test_create_service_answers_once_its_tasks_run_the_lock_free_meanwhile(api):
    api = api()
    thread, answer = api.create_in_thread("web", 2)
    first, second = api.tasks_of("web", 2)  # placed by the scheduler while the call waits
    assert still_waiting(thread)
    api.move(first, TaskStatus.RUNNING)
    assert still_waiting(thread)
    api.move(second, TaskStatus.RUNNING)
    thread.join(5)
    assert not thread.is_alive()
    # The answer is the state at the call, made before the wait.
    assert (answer["service"]["runningCount"], answer["service"]["pendingCount"]) == (0, 0)
    assert answer["service"]["deployments"][0]["rolloutState"] == "IN_PROGRESS"


def test_a_task_that_fails_to_start_ends_the_wait(api):
    api = api()
    thread, _ = api.create_in_thread("web", 2)
    good, bad = api.tasks_of("web", 2)
    api.move(good, TaskStatus.RUNNING)
    assert still_waiting(thread)
    api.move(bad, TaskStatus.STOPPED)
    thread.join(5)
    assert not thread.is_alive()


def test_the_wait_ends_at_its_bound_or_at_a_reset(api):
    bounded = api(placement_wait_s=0.3)
    thread, _ = bounded.create_in_thread("web", 1)
    task, = bounded.tasks_of("web", 1)
    thread.join(5)
    assert not thread.is_alive() and task.known == TaskStatus.PROVISIONING
    reset = api()
    thread, _ = reset.create_in_thread("web", 1)
    reset.tasks_of("web", 1)
    assert still_waiting(thread)
    reset.state.reset()  # the control endpoint's: the service and its tasks are gone
    thread.join(5)
    assert not thread.is_alive()


def test_only_a_quarter_of_the_workers_wait_the_others_answer_at_once(api):
    api = api(threads=4)  # one may wait
    waiting, _ = api.create_in_thread("a", 1)
    task, = api.tasks_of("a", 1)
    assert still_waiting(waiting)
    other, _ = api.create_in_thread("b", 1)
    other.join(5)
    assert not other.is_alive() and still_waiting(waiting)
    api.move(task, TaskStatus.RUNNING)
    waiting.join(5)
    assert not waiting.is_alive()


def test_the_schedulers_stop_ends_the_wait(api):
    api = api()  # a bound of 30 s: only the stop can end this wait within the join
    thread, _ = api.create_in_thread("web", 1)
    api.tasks_of("web", 1)
    assert still_waiting(thread)
    api.scheduler.stop()  # the emulator's stop: no pass comes any more
    thread.join(5)
    assert not thread.is_alive()


@pytest.mark.parametrize("bound", [float("nan"), float("inf"), -1.0])
def test_a_bound_that_is_no_bound_turns_the_wait_off(api, bound):
    api = api(placement_wait_s=bound)
    thread, _ = api.create_in_thread("web", 1)
    api.tasks_of("web", 1)
    thread.join(5)
    assert not thread.is_alive()
