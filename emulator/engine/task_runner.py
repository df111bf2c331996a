"""One task's life, from PROVISIONING to STOPPED, run in its own thread.

The runner is the only writer of its task's known status. Docker calls happen outside the
state lock; every change to the task happens under it and wakes whoever waits. The way to
PENDING (the sandbox, made or taken from the pool) is task_provisioning.py's, and the way down
(stop, record the exits, remove) task_teardown.py's: TaskRunner inherits both.
"""

from __future__ import annotations

import logging
import time

from emulator.ecs.model import utcnow
from emulator.engine import container_specs, pull_errors
from emulator.engine.hooks import TaskSetupError
from emulator.engine.task_provisioning import TaskProvisioning, network_bindings
from emulator.engine.task_teardown import TaskTeardown
from emulator.runtime import docker_queue
from emulator.runtime.base import (ImageGoneError, ImagePullError, RuntimeError_, TaskSandbox,
                                   gone, unanswered)
from emulator.runtime.status import ContainerStatus, HealthStatus, TaskStatus

log = logging.getLogger("emulator.tasks")

DEFAULT_START_TIMEOUT_S = 180  # how long a container waits for its dependencies


class TaskRunner(TaskProvisioning, TaskTeardown):
    def __init__(self, engine, store, task):
        self.engine = engine
        self.store = store
        self.task = task
        self.runtime = engine.runtime_for(store, task)  # the task's engine (engines.py)
        self.lock = engine.state.lock
        self.changed = engine.state.changed
        self.sandbox: TaskSandbox | None = None
        self.volumes: list[str] = []  # task-scoped volumes to remove at the end
        # The start failed unexpectedly, e.g. a Docker call got no answer (a timeout, a lost
        # connection) yet may have made its container, unknown to us: teardown then removes
        # whatever carries the task's label.
        self.unsure = False

    # -- the life --------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            # No spare is made while tasks start, on any engine: they share this machine's cores.
            pools = self.engine.sandbox_pools()
            for pool in pools:
                pool.task_starting(+1)
            try:
                # The Docker calls of a start wait their turn as one piece of work (earlier tasks
                # first: runtime/docker_queue.py), not made once the task is stopped: what they
                # would set up, teardown would only remove.
                with docker_queue.setup_work(unwanted=self._stopped_unlocked):
                    started = self._provision() and self._create_containers() \
                        and self._start_containers()
            finally:
                for pool in pools:
                    pool.task_starting(-1)
            if started:
                self._mark_running()
                self._wait_for_stop_request()
        except docker_queue.Abandoned:
            pass  # stopped while a setup call waited: the stop's reason and code stand
        except Exception as error:
            self.unsure = True  # whatever the call made goes with the task's label
            if self._torn_down(error):
                log.info("task %s: its start ended, the task torn down under it (%s)",
                         self.task.id, self.runtime.explain(error))
                return
            # a fault of ours or of Docker's: the task fails, visibly
            log.exception("task %s failed", self.task.id)
            self._fail("TaskFailedToStart", f"Emulator error: {self.runtime.explain(error)}")
        finally:
            self._teardown()

    def _create_containers(self) -> bool:
        # A pullStartedAt without a pullStoppedAt says images are being pulled (the CLI prints
        # "Pulling images" on it): shown from the moment a pull begins, else only with the stop,
        # both at once, for images the engine had (still the time the look began).
        began = utcnow()

        def pulling(_line: str) -> None:
            if self.task.pull_started_at is None:
                with self.lock:
                    self.task.pull_started_at = began

        try:
            images = {c.name: self._prepare_image(c, pulling) for c in self.task.containers}
        except ImagePullError as error:
            self._pull_stopped(began)
            self._fail("TaskFailedToStart", f"CannotPullContainerError: {error}")
            return False
        with self.lock:
            self._pull_stopped(began)
            if self.task.stop_requested:
                return False  # stopped while pulling: create nothing
        try:
            self.engine.call_hooks("before_create", self.store, self.task)
            self._create_all(images)
        except TaskSetupError as error:
            self._fail("TaskFailedToStart", str(error))
            return False
        except ImagePullError as error:  # pulled again at create (see _create_one)
            self._fail("TaskFailedToStart", f"CannotPullContainerError: {error}")
            return False
        except RuntimeError_ as error:
            self._fail("TaskFailedToStart", f"CannotCreateContainerError: {error}")
            return False
        return not self._stop_requested()

    def _pull_stopped(self, began) -> None:
        with self.lock:  # (re-entrant)
            self.task.pull_started_at = self.task.pull_started_at or began
            self.task.pull_stopped_at = utcnow()

    def _prepare_image(self, container, pulling=None) -> str:
        given = container.definition["image"]
        image, auth = self.engine.resolve_image(self.store, given, self.task.engine)
        try:
            self.runtime.ensure_image(image, auth, pulling)
        except ImagePullError as pulled:
            error = pull_errors.as_given(pulled, image, given)  # (not our registry's address)
            if error is not pulled:  # Docker's own words, for whoever debugs the registry
                log.warning("task %s: pulling %s failed: %s", self.task.id, image, pulled)
            if not self._torn_down(error):  # else the teardown's reason is the container's
                with self.lock:
                    container.reason = f"CannotPullContainerError: {error}"
                    self.changed.notify_all()
            if error is pulled:
                raise
            raise error from pulled
        digest = self.runtime.image_digest(image)  # ECS shows it once the image is resolved
        with self.lock:
            container.image_digest = digest
        return image

    def _create_all(self, images: dict[str, str]) -> None:
        shape = self._shape()
        runtime_ids: dict[str, str] = {}
        for container in _volumes_from_first(self.task.containers):
            environment = self.engine.environment_for(self.store, self.task, container)
            spec = container_specs.build(
                shape,
                container.definition,
                image=images[container.name],
                environment=environment,
                labels=self.engine.labels_for(self.task, container.name),
                sandbox=self.sandbox,
                runtime_ids=runtime_ids,
            )
            runtime_ids[container.name] = self._create_one(container, spec)
            with self.lock:
                container.runtime_id = runtime_ids[container.name]
                container.known = max(container.known, ContainerStatus.CREATED)

    def _create_one(self, container, spec) -> str:
        try:
            return self.runtime.create_container(spec)
        except ImageGoneError:  # removed since the runtime made it available: pull it again
            self._prepare_image(container)
            return self.runtime.create_container(spec)

    def _start_containers(self) -> bool:
        """Start each container once its dependsOn conditions hold."""
        waiting = list(self.task.containers)
        # Each container's startTimeout bounds its wait for dependencies (ECS's default: 3 min).
        deadline = time.monotonic() + max(
            (c.definition.get("startTimeout", DEFAULT_START_TIMEOUT_S) for c in waiting),
            default=DEFAULT_START_TIMEOUT_S)
        while waiting:
            with self.lock:
                if self.task.stop_requested:
                    return False
                ready, blocked = [], None
                for container in waiting:
                    verdict = self._dependencies(container)
                    if verdict is True:
                        ready.append(container)
                    elif verdict is not None:
                        blocked = verdict
                if blocked:
                    self._fail_locked("TaskFailedToStart", blocked)
                    return False
                if not ready:
                    if time.monotonic() > deadline:
                        self._fail_locked("TaskFailedToStart",
                                          "Timed out waiting for container dependencies")
                        return False
                    self.changed.wait(timeout=1.0)
                    continue
            for container in ready:
                if not self._start(container):
                    return False
                waiting.remove(container)
        return True

    def _dependencies(self, container):
        """True when every condition holds; None while waiting; a reason when one never will."""
        for dependency in container.definition.get("dependsOn", []):
            other = self.task.container(dependency["containerName"])
            condition = dependency["condition"]
            exited = other.known >= ContainerStatus.STOPPED
            if condition == "START":
                if not other.started:
                    return None
            elif condition == "COMPLETE":
                if not exited:
                    return None
            elif condition == "SUCCESS":
                if not exited:
                    return None
                if other.exit_code != 0:
                    return (f"Dependency {other.name} of container {container.name} "
                            f"exited with code {other.exit_code}, not SUCCESS")
            elif condition == "HEALTHY":
                if other.health == HealthStatus.UNHEALTHY or exited:
                    return (f"Dependency {other.name} of container {container.name} "
                            "did not become HEALTHY")
                if other.health != HealthStatus.HEALTHY:
                    return None
        return True

    def _start(self, container) -> bool:
        try:
            self.runtime.start_container(container.runtime_id)
        except RuntimeError_ as error:
            if self._torn_down(error):  # the teardown's reason is the container's too
                log.info("task %s: container %s not started, the task torn down (%s)",
                         self.task.id, container.name, error)
                return False
            with self.lock:
                container.reason = f"CannotStartContainerError: {error}"
            self._fail("TaskFailedToStart", f"CannotStartContainerError: {error}")
            return False
        # Only bridge ports are published per container; ask Docker which host ports it chose.
        published = self.task.network_mode == "bridge" and container.definition.get("portMappings")
        state = self.runtime.inspect_container(container.runtime_id) if published else None
        with self.lock:
            container.started = True
            container.known = max(container.known, ContainerStatus.RUNNING)
            if state is not None and container.known == ContainerStatus.RUNNING:
                # (not once its die was told: a stopped container keeps its last bindings, as ECS's)
                container.network_bindings = network_bindings(state)
            self.changed.notify_all()
        return True

    def _mark_running(self) -> None:
        with self.lock:
            if self.task.stop_requested:
                return
            self._advance(TaskStatus.ACTIVATING)
            self._advance(TaskStatus.RUNNING)
        self.engine.call_hooks("on_running", self.store, self.task, isolated=True)

    def _wait_for_stop_request(self) -> None:
        with self.lock:
            while not self.task.stop_requested:
                self.changed.wait(timeout=5.0)

    # -- helpers ----------------------------------------------------------------------------------

    def _advance(self, status: TaskStatus) -> None:
        if self.task.advance(status):
            if status == TaskStatus.STOPPED:
                log.info("task %s STOPPED (%s: %s)", self.task.id, self.task.stop_code,
                         self.task.stopped_reason)
            else:
                log.info("task %s %s", self.task.id, status.name)
            self.engine.task_changed(self.store, self.task)
            self.changed.notify_all()

    def _fail(self, stop_code: str, reason: str) -> None:
        with self.lock:
            self._fail_locked(stop_code, reason)

    def _fail_locked(self, stop_code: str, reason: str) -> None:
        if self.task.request_stop(stop_code, reason):
            self.changed.notify_all()

    def _stop_requested(self) -> bool:
        with self.lock:
            return self.task.stop_requested

    def _stopped_unlocked(self) -> bool:
        """The same without the state lock, for the Docker queue's check, made while a slot is
        held (not behind every request waiting for the lock): the desired status only moves
        forward, so a stale answer costs only a call that teardown undoes."""
        return self.task.stop_requested

    def _definitions(self) -> list[dict]:
        return [c.definition for c in self.task.containers]

    def _shape(self) -> container_specs.TaskShape:
        return self.engine.task_shape(self.task, self.volumes)

    def _torn_down(self, error: Exception) -> bool:
        """A failed call of a task whose stop was asked for, that says its container (sandbox,
        network) is gone, or got no answer, or any failure once its engine's runtime is closed
        (a dockerd being removed answers 500s): a reset, a forced engine removal or the
        emulator's stop took them away under the runner, which is no fault to report."""
        return self._stop_requested() and (
            gone(error) or unanswered(error) or self.runtime.closed)

    def _quietly(self, fn, *args):
        try:
            return fn(*args)
        except Exception as error:  # teardown goes on: one failed removal must not leak the rest
            name = getattr(fn, "__name__", fn)
            if self._torn_down(error):
                log.debug("task %s: teardown step %s: %s", self.task.id, name, error)
            else:
                log.exception("teardown step %s failed", name)
            return None


def _volumes_from_first(containers: list) -> list:
    """Create order: a container that others take volumes from is created before them."""
    sources = {v.get("sourceContainer") for c in containers
               for v in c.definition.get("volumesFrom", [])}
    return sorted(containers, key=lambda c: c.name not in sources)
