"""Adoption: a restarted emulator takes back the containers of the tasks it persisted.

The runtime's instance id is the persisted one, so this run's Docker labels and network are the
previous run's. Before the engine starts, every task not yet STOPPED is matched to its containers
by their labels (task ARN, container name): a container still running belongs to its task again,
the same container; one that died while the emulator was down is recorded as Docker saw it
(exit code, OOM), and a task whose essential container died, or that was still starting, is
stopped as ECS would stop it. Each such task gets an AdoptedTaskRunner, which sees it through
to STOPPED (its teardown is the usual one). Containers and task volumes of this instance that
no persisted task owns are removed.
"""

from __future__ import annotations

import logging
import time

from emulator.engine.task_runner import TaskRunner
from emulator.runtime import labels
from emulator.runtime.base import TaskSandbox
from emulator.runtime.status import ContainerStatus, TaskStatus

log = logging.getLogger("emulator.persistence")

SANDBOX = "~sandbox"
VOLUME_PREFIX = "~volume-"
STARTING_REASON = "The emulator restarted while the task was starting"
REMOVED_REASON = "Container removed outside the emulator"


class AdoptedTaskRunner(TaskRunner):
    """A runner for a task whose containers a previous run of the emulator created."""

    def __init__(self, engine, store, task, sandbox: TaskSandbox | None, volumes: list[str]):
        super().__init__(engine, store, task)
        self.sandbox = sandbox
        self.volumes = volumes

    def run(self) -> None:
        try:
            if not self._stop_requested():
                for hook in self.engine.hooks:
                    adopted = getattr(hook, "on_adopted", None)
                    if adopted is not None:
                        self._quietly(adopted, self.store, self.task)
            self._wait_for_stop_request()
        finally:
            self._teardown()


def adopt(engine, state) -> int:
    """Adopt what the persisted tasks still run; remove what no task owns. How many adopted."""
    engine.events_since = time.time()  # before looking: a death from now on is an event
    containers, volumes = engine.runtime.owned()
    by_task: dict[str, dict[str, dict]] = {}
    for container in containers:
        tags = container.get("Labels") or {}
        by_task.setdefault(tags.get(labels.TASK_ARN, ""), {})[
            tags.get(labels.CONTAINER_NAME, "")] = container
    with state.lock:
        live = [(store, task) for store in state.stores() for task in store.tasks.values()
                if task.known < TaskStatus.STOPPED]
    for store, task in live:
        found = by_task.pop(task.arn, {})
        sandbox = _sandbox(found.pop(SANDBOX, None), task)
        inspected = {name: engine.runtime.inspect_container(c["Id"]) for name, c in found.items()}
        task_volumes = [v["Name"] for v in volumes if _task_volume(v, task.arn)]
        with state.lock:
            _reconcile(engine, task, found, inspected)
            engine.adopt(task, AdoptedTaskRunner(engine, store, task, sandbox, task_volumes))
            state.changed.notify_all()
    _remove_unowned(engine.runtime, by_task, volumes, {task.arn for _, task in live})
    return len(live)


def _reconcile(engine, task, found: dict[str, dict], inspected: dict) -> None:
    """Make the task's containers what Docker says they are now (under the lock)."""
    for container in task.containers:
        entry = found.get(container.name)
        if entry is not None:
            container.runtime_id = entry["Id"]
        state = inspected.get(container.name)
        if state is not None and state.running:
            container.started = True
            container.known = max(container.known, ContainerStatus.RUNNING)
        elif state is not None:
            engine.record_exit(task, container, state)  # exit code and OOM as Docker saw them
        elif container.started and container.known < ContainerStatus.STOPPED:
            container.known = ContainerStatus.STOPPED
            container.reason = container.reason or REMOVED_REASON
    task.version += 1
    if task.desired >= TaskStatus.STOPPED:
        return
    if task.known < TaskStatus.RUNNING:
        task.request_stop("TaskFailedToStart", STARTING_REASON)
    elif any(c.essential and c.known >= ContainerStatus.STOPPED for c in task.containers):
        task.request_stop("EssentialContainerExited", "Essential container in task exited")


def _sandbox(container: dict | None, task) -> TaskSandbox | None:
    if container is None:
        return None
    return TaskSandbox(network=f"container:{container['Id']}", ip_address=task.private_ip,
                       sandbox_id=container["Id"])


def _task_volume(volume: dict, task_arn: str) -> bool:
    """A volume of that task's own (engine/task_engine.py names them; a shared one, which
    outlives tasks, is named otherwise)."""
    tags = volume.get("Labels") or {}
    task_id = task_arn.rsplit("/", 1)[-1]
    return (tags.get(labels.TASK_ARN) == task_arn
            and tags.get(labels.CONTAINER_NAME, "").startswith(VOLUME_PREFIX)
            and volume["Name"].startswith(f"ecs-{task_id[:12]}-"))


def _remove_unowned(runtime, by_task: dict, volumes: list[dict], live: set[str]) -> None:
    """Containers of tasks that are gone (or that never reached the state file), sandboxes
    included, and the volumes of tasks that are not live."""
    for containers in by_task.values():
        for container in containers.values():
            _quietly(runtime.remove_container, container["Id"])
    for volume in volumes:
        arn = (volume.get("Labels") or {}).get(labels.TASK_ARN, "")
        if arn not in live and _task_volume(volume, arn):
            _quietly(runtime.remove_volume, volume["Name"])


def _quietly(fn, *args) -> None:
    try:
        fn(*args)
    except Exception:  # one failed removal must not stop the start
        log.warning("could not remove %s", args[0], exc_info=True)
