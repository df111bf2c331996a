"""Adoption: a restarted emulator takes back the containers of the tasks it persisted.

The runtime's instance id is the persisted one, so this run's Docker labels and network are the
previous run's. Before the engine starts, every task not yet STOPPED is matched to its containers
by their labels (task ARN, container name) in one list of Docker's: a container still running
(its state read from that list) belongs to its task again, the same container; one that died
while the emulator was down is recorded as Docker saw it (exit code, OOM: it alone is
inspected), and a task whose essential container died is stopped as ECS would stop it.
A task the state file saw starting (PROVISIONING, PENDING or ACTIVATING: task states reach the
file a moment after they change) whose containers had all been started and whose essential
containers all run is what a user expects it to be: RUNNING, its network read back from Docker
where the file predates it; one still part-way through its start is stopped as having failed to
start. Containers' health is what Docker reports now (health events missed while the emulator
was down are not replayed). Each such task gets an AdoptedTaskRunner, which sees it through to
STOPPED (its teardown is the usual one). On Docker's default bridge each adopted task's namespace holders are admitted to
this process's anti-spoofing guard again (runtime/bridge_guard.py). A task for which nothing
was made yet is handed to
the engine as a new task (TaskEngine.admit), which starts it as any other. Containers and task
volumes of this instance that no persisted task owns are removed. An awsvpc task whose sandbox
came from the pool (engine/sandbox_pool.py: no task labels) gets it back through its containers'
NetworkMode; unclaimed spares are removed. All this is done on each engine configured at start
(engine/engines.py) with that engine's own list and runtime, for the tasks that ran on it; an
extra engine that does not answer has its tasks held for its outage handling (`_hold`); the
tasks of an engine not configured at this start wait for an `engines add` of its name
(late_engines.py), which adopts them on it then.
"""

from __future__ import annotations

import logging
import time

from emulator.ecs.local_instance import DEFAULT_ENGINE
from emulator.engine.sandbox_pool import POOL_NAME
from emulator.engine.task_provisioning import network_bindings as bindings_of
from emulator.engine.task_runner import TaskRunner
from emulator.runtime import labels
from emulator.runtime.base import ContainerStartError, TaskSandbox
from emulator.runtime.status import ContainerStatus, HealthStatus, TaskStatus

log = logging.getLogger("emulator.persistence")

SANDBOX = "~sandbox"
VOLUME_PREFIX = "~volume-"
STARTING_REASON = "The emulator restarted while the task was starting"
REMOVED_REASON = "Container removed outside the emulator"
GUARD_REASON = "The emulator restarted and could not guard the task's address"
_HEALTH = {"healthy": HealthStatus.HEALTHY, "unhealthy": HealthStatus.UNHEALTHY}


class AdoptedTaskRunner(TaskRunner):
    """A runner for a task whose containers a previous run of the emulator created."""

    def __init__(self, engine, store, task, sandbox: TaskSandbox | None, volumes: list[str],
                 caught_up: bool = False):
        super().__init__(engine, store, task)
        self.sandbox = sandbox
        self.volumes = volumes
        self.caught_up = caught_up  # it reached RUNNING after the last state was written

    def run(self) -> None:
        try:
            self._guard_holders()
            if self.caught_up:
                self._restore_network()
                self._mark_running()  # as a runner would have: RUNNING, then the hooks' on_running
            elif not self._stop_requested():
                for hook in self.engine.hooks:
                    adopted = getattr(hook, "on_adopted", None)
                    if adopted is not None:
                        self._quietly(adopted, self.store, self.task)
            self._wait_for_stop_request()
        finally:
            self._teardown()

    def _guard_holders(self) -> None:
        """On Docker's default bridge the anti-spoofing guard is each process's own: the
        previous run's admissions went with it, so the task's namespace holders (its sandbox,
        or its bridge containers still running) are admitted again before anything is served
        to it. One the guard refuses stops the task (nobody guards its address)."""
        if self.sandbox is not None and self.sandbox.sandbox_id:
            holders = [self.sandbox.sandbox_id]
        elif self.task.network_mode == "bridge":
            holders = [c.runtime_id for c in self.task.containers
                       if c.runtime_id and c.known < ContainerStatus.STOPPED]
        else:
            holders = []
        for holder in holders:
            try:
                self.runtime.guard_holder(holder)
            except ContainerStartError as error:  # the guard refused it
                log.warning("task %s: %s", self.task.id, error)
                self._fail("TaskFailedToStart", f"{GUARD_REASON}: {error}")
                return
            except Exception as error:  # noqa: BLE001 - Docker away: its calls are refused
                log.warning("task %s: its holder %s could not be guarded again: %s",
                            self.task.id, holder, self.runtime.explain(error))

    def _restore_network(self) -> None:
        """The file saw the task PROVISIONING: what its runner wrote on the way to PENDING (the
        private IP, the ENI, the sandbox's published ports) is read back from the sandbox."""
        if self.task.known >= TaskStatus.PENDING:
            return
        published = []
        if self.sandbox is not None and self.sandbox.sandbox_id is not None:
            state = self.runtime.inspect_container(self.sandbox.sandbox_id)
            if state is not None:
                published = bindings_of(state)
                self.sandbox = TaskSandbox(network=self.sandbox.network,
                                           ip_address=state.ip_address,
                                           sandbox_id=self.sandbox.sandbox_id)
        self._connected(published)


def adopt(engine, state) -> int:
    """Adopt what the persisted tasks still run; remove what no task owns. How many adopted.
    Each engine configured at start is asked for its own containers, and its tasks are matched
    against those alone."""
    engine.events_since = time.time()  # before looking: a death from now on is an event
    with state.lock:
        live = [(store, task) for store in state.stores() for task in store.tasks.values()
                if task.known < TaskStatus.STOPPED]
    live_arns = {task.arn for _, task in live}
    live = _hold_for_late_engines(engine, state, live)
    adopted = 0
    for name, runtime in _runtimes(engine):
        mine = [(store, task) for store, task in live if engine.runtime_of(task) is runtime]
        if name is None:  # the default engine: it must answer (the caller refuses to start)
            owned = runtime.owned()
        else:
            try:
                owned = runtime.owned()
            except Exception as error:
                adopted += _hold(engine, state, mine, name, error)
                continue
        adopted += adopt_on(engine, state, runtime, owned, mine, live_arns)
    return adopted


def _hold_for_late_engines(engine, state, live: list) -> list:
    """The tasks of engines not configured now are held (late_engines.py); the others."""
    engines = engine.engines
    if engines is None:
        return live
    configured = set(engines.engines) | {None, DEFAULT_ENGINE}
    late: dict[str, list] = {}
    for store, task in live:
        if task.engine not in configured:
            late.setdefault(task.engine, []).append((store, task))
    if late:
        from emulator.persistence.late_engines import LateEngines

        waiting = LateEngines(engine, state, engines.settings.engine_lost_after_s)
        for name, tasks in late.items():
            waiting.hold(name, tasks)
        engines.on_added.append(waiting.added)
    return [(store, task) for store, task in live if task.engine in configured]


def _runtimes(engine) -> list[tuple[str | None, object]]:
    """(name, runtime) of every engine configured at start, the default one first (None)."""
    engines = engine.engines
    if engines is None:
        return [(None, engine.runtime)]
    return [(None, engines.default.runtime)] + [(e.name, e.runtime) for e in engines.extra()]


def adopt_on(engine, state, runtime, owned, live: list, live_arns: set[str]) -> int:
    """Adoption on one engine: `owned`, its containers and volumes; `live`, its tasks."""
    containers, volumes = owned
    listed = {c["Id"]: c for c in containers}
    by_task: dict[str, dict[str, dict]] = {}
    spares: dict[str, dict] = {}  # pool sandboxes by id: claimed ones carry no task's labels
    for container in containers:
        tags = container.get("Labels") or {}
        if tags.get(labels.CONTAINER_NAME) == POOL_NAME:
            spares[container["Id"]] = container
            continue
        by_task.setdefault(tags.get(labels.TASK_ARN, ""), {})[
            tags.get(labels.CONTAINER_NAME, "")] = container
    adopted = 0
    for store, task in live:
        found = by_task.pop(task.arn, {})
        if not found and task.known == TaskStatus.PROVISIONING:
            with state.lock:  # nothing was made for it yet: the engine starts it as a new task
                engine.admit(store, [task])
            continue
        sandbox = _sandbox(found.pop(SANDBOX, None) or _claimed_spare(found, spares), task)
        inspected = {name: _state_of(runtime, c, listed) for name, c in found.items()}
        task_volumes = [v["Name"] for v in volumes if _task_volume(v, task.arn)]
        with state.lock:
            caught_up = _reconcile(engine, task, found, inspected)
            engine.adopt(task, AdoptedTaskRunner(engine, store, task, sandbox, task_volumes,
                                                 caught_up))
            state.changed.notify_all()
        adopted += 1
    by_task[POOL_NAME] = spares  # unclaimed spares go: the pool makes new ones on demand
    _remove_unowned(runtime, by_task, volumes, live_arns)
    return adopted


def _hold(engine, state, live: list, name: str, error: Exception) -> int:
    """An extra engine that does not answer at start: its tasks are taken back as the state
    file has them, each with a runner, and so left to the engine's outage handling
    (engine/engine_outage.py) as a running task of an engine gone quiet is: should the engine
    answer again, those whose containers died are stopped and the dead task's leftovers swept;
    should it stay away, its tasks are lost after ECS_EMULATOR_ENGINE_LOST_AFTER. Nothing is
    asked of the engine now (its task volumes and pool sandboxes are not known: its own clean-up
    of a later start removes them)."""
    log.warning("Docker Engine %s does not answer at start (%s): its %d tasks are held",
                name, error, len(live))
    held = 0
    with state.lock:
        for store, task in live:
            if task.known == TaskStatus.PROVISIONING and not any(
                    c.runtime_id for c in task.containers):
                engine.admit(store, [task])  # nothing made: started once the engine answers
                continue
            if task.known < TaskStatus.RUNNING and not task.stop_requested:
                # part-way through its start: what it got to cannot be read now
                task.request_stop("TaskFailedToStart", STARTING_REASON)
            sandbox = (TaskSandbox(network=f"container:{task.sandbox_id}",
                                   ip_address=task.private_ip, sandbox_id=task.sandbox_id)
                       if task.sandbox_id else None)  # so its teardown removes it
            engine.adopt(task, AdoptedTaskRunner(engine, store, task, sandbox, []))
            held += 1
        state.changed.notify_all()
    return held


def _state_of(runtime, container: dict, listed: dict[str, dict]):
    """A running container's state as the list said it (one list, not an inspect each); any
    other's as Docker tells it when asked (its exit code, the OOM verdict)."""
    state = runtime.listed_state(container, listed)
    return state if state is not None else runtime.inspect_container(container["Id"])


def _claimed_spare(found: dict[str, dict], spares: dict[str, dict]) -> dict | None:
    """The pool sandbox whose namespace the task's containers joined (NetworkMode
    "container:<id>"), taken out of the spares."""
    for container in found.values():
        mode = (container.get("HostConfig") or {}).get("NetworkMode") or ""
        if mode.startswith("container:"):
            joined = mode.split(":", 1)[1]
            for spare_id in list(spares):
                if spare_id == joined or spare_id.startswith(joined):
                    return spares.pop(spare_id)
    return None


def _reconcile(engine, task, found: dict[str, dict], inspected: dict) -> bool:
    """Make the task's containers what Docker says they are now (under the lock). True when the
    task was starting as the state was last written and every container runs now: it is
    RUNNING, the state file had not caught up yet."""
    for container in task.containers:
        entry = found.get(container.name)
        if entry is not None:
            container.runtime_id = entry["Id"]
        state = inspected.get(container.name)
        if state is not None and state.running:
            container.started = True
            container.known = max(container.known, ContainerStatus.RUNNING)
            # Docker's ports now, not those persisted: a container restarted since (by the
            # engine, say) may publish others, and the old ones are any program's. A pooled
            # task's are its sandbox's, kept.
            if task.network_mode == "bridge" and task.sandbox_id is None:
                container.network_bindings = bindings_of(state)
            if container.has_health_check:
                container.health = _HEALTH.get(state.health, HealthStatus.UNKNOWN)
        elif state is not None and state.status == "created":
            pass  # made, never started: its task was part-way through its start
        elif state is not None:
            engine.record_exit(task, container, state)  # exit code and OOM as Docker saw them
        elif container.started and container.known < ContainerStatus.STOPPED:
            container.known = ContainerStatus.STOPPED
            container.reason = container.reason or REMOVED_REASON
    task.health = task.aggregate_health()
    task.version += 1
    if task.stop_requested:
        return False
    if any(c.essential and c.known >= ContainerStatus.STOPPED for c in task.containers):
        task.request_stop("EssentialContainerExited", "Essential container in task exited")
        return False
    if task.known >= TaskStatus.RUNNING:
        return False
    if _fully_started(task, inspected):
        return True
    task.request_stop("TaskFailedToStart", STARTING_REASON)
    return False


def _fully_started(task, inspected: dict) -> bool:
    """Every container was started (a non-essential one may have exited since, as a runner
    would have let it) and every essential one runs: the task had reached RUNNING."""
    states = [(c, inspected.get(c.name)) for c in task.containers]
    return all(state is not None and state.status != "created"
               and (state.running or not container.essential) for container, state in states)


def _sandbox(container: dict | None, task) -> TaskSandbox | None:
    if container is None:
        return None
    return TaskSandbox(network=f"container:{container['Id']}", ip_address=task.private_ip,
                       sandbox_id=container["Id"])


def _task_volume(volume: dict, task_arn: str) -> bool:
    """A volume of that task's own (engine/task_volumes.py names them; a shared one, which
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
