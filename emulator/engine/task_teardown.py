"""The end of a task's life: its runner's teardown, from DEACTIVATING to STOPPED. Containers
are stopped (each with its stop timeout, in parallel), their exits recorded as Docker saw them,
the hooks told, and the containers, sandbox and task-scoped volumes removed.

Apart from task_runner.py, which brings a task up, because a task goes down the same way
however far its start got (a failed pull, a StopTask, a lost engine, an adopted task of an
earlier run: persistence/adoption.py). A mixin of TaskRunner, as it works on the runner's own
task, sandbox and volumes under the runner's lock.
"""

from __future__ import annotations

import threading
import time

from emulator.engine import container_specs
from emulator.runtime import labels as runtime_labels
from emulator.runtime.status import ContainerStatus, TaskStatus

OOM_VERDICT_WAIT_S = 0.2  # a SIGKILLed container: when Docker has surely noted an OOM kill


class TaskTeardown:
    """TaskRunner's stopping half: needs the runner's `engine`, `store`, `task`, `runtime`,
    `lock`, `sandbox`, `volumes`, `unsure`, `_advance` and `_quietly`."""

    def _teardown(self) -> None:
        with self.lock:
            self.task.request_stop("TaskFailedToStart", "Task failed to start")  # no-op if set
            self._advance(TaskStatus.DEACTIVATING)
        self.engine.call_hooks("on_stopping", self.store, self.task, isolated=True)
        with self.lock:
            self._advance(TaskStatus.STOPPING)
        # A task lost with its engine asks nothing of it (each call would wait out the client's
        # timeout); the engine's return removes what is left (engine_outage.py).
        engine_answers = self.engine.engine_answers(self.task)
        if engine_answers:
            self._record_exits(self._stop_all())
        with self.lock:
            self._advance(TaskStatus.DEPROVISIONING)
        self.engine.call_hooks("on_stopped", self.store, self.task, isolated=True)
        # A bridge task's pooled sandbox holds only the pause process once its container is gone
        # (ECS's bridge mode has no network of the task's own to tear down before STOPPED):
        # it goes right after, before the runner ends, so a reset or the engine's stop still
        # waits for it. An awsvpc task's goes before, as its ENI is deleted before STOPPED.
        sandbox_after = self.task.network_mode == "bridge" and self.sandbox is not None \
            and self.sandbox.sandbox_id is not None
        if engine_answers:
            self._remove_all(with_sandbox=not sandbox_after)
        with self.lock:
            for attachment in self.task.attachments:
                attachment["status"] = "DELETED"
            self._settle_containers()
            self._advance(TaskStatus.STOPPED)
        if engine_answers and sandbox_after:
            self._quietly(self.runtime.remove_sandbox, self.sandbox)

    def _settle_containers(self) -> None:
        """A STOPPED task's containers are all STOPPED: those that never ran say why (the
        task's reason, unless their own, such as a failed pull, says more), and hold no port."""
        for container in self.task.containers:
            if container.known < ContainerStatus.STOPPED:
                container.known = ContainerStatus.STOPPED
            if container.exit_code is None and container.reason is None:
                container.reason = self.task.stopped_reason
            if not container.started:
                container.network_bindings = []

    def _stop_all(self) -> list:
        """Stop the running containers (in parallel); those it stopped."""
        running = [c for c in self.task.containers if c.runtime_id and c.started
                   and c.known < ContainerStatus.STOPPED]
        if len(running) == 1:  # the common task: no thread to start and join
            self._quietly(self.runtime.stop_container, running[0].runtime_id,
                          self._stop_timeout(running[0]))
            return running
        threads = [
            threading.Thread(
                target=self._quietly,
                args=(self.runtime.stop_container, c.runtime_id, self._stop_timeout(c)),
                daemon=True,
            )
            for c in running
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return running

    def _stop_timeout(self, container) -> int:
        if self.task.stop_grace_s is not None:
            return self.task.stop_grace_s
        return container.definition.get("stopTimeout", container_specs.DEFAULT_STOP_TIMEOUT_S)

    def _record_exits(self, stopped: list) -> None:
        stopped_ids = {c.runtime_id for c in stopped}
        for container in self.task.containers:
            if not container.runtime_id:
                continue
            with self.lock:  # stopped by us, and its die event told the exit code: nothing to ask
                told = container.runtime_id in stopped_ids and container.exit_code is not None \
                    and container.known >= ContainerStatus.STOPPED
            state = None if told else self._quietly(self.runtime.inspect_container,
                                                    container.runtime_id)
            if (state is not None and state.exit_code == 137 and not state.oom_killed
                    and self.task.stop_code == "EssentialContainerExited"
                    and container.runtime_id not in stopped_ids and container.reason is None
                    and not container.killed):
                # Killed, not by us (not a StopTask, reset or shutdown) nor through Docker (a
                # `docker kill`: its kill event told): Docker may mark an out-of-memory kill a
                # moment after the exit (containerd's OOM event comes separately); ask once more.
                time.sleep(OOM_VERDICT_WAIT_S)
                state = self._quietly(self.runtime.inspect_container, container.runtime_id) \
                    or state
            with self.lock:
                self.engine.record_exit(self.task, container, state)

    def _remove_all(self, with_sandbox: bool = True) -> None:
        # The sandbox (a pause container) goes beside the task's containers, not after them:
        # they have exited, so neither removal waits for the other's.
        sandbox = None
        if with_sandbox and self.sandbox is not None and self.sandbox.sandbox_id is not None:
            sandbox = threading.Thread(target=self._quietly,
                                       args=(self.runtime.remove_sandbox, self.sandbox),
                                       daemon=True)
            sandbox.start()
        for container in self.task.containers:
            if container.runtime_id:
                self._quietly(self.runtime.remove_container, container.runtime_id)
        if sandbox is not None:
            sandbox.join()
        for volume in self.volumes:
            self._quietly(self.runtime.remove_volume, volume)
        if self.unsure:
            self._quietly(self.runtime.remove_labelled, {runtime_labels.TASK_ARN: self.task.arn})
