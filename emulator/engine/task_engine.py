"""The task engine: starts a runner for every new task, watches the runtime's events, and
forgets stopped tasks after the retention time.

New tasks are handed to it by the task door (ecs/task_door.py), which calls `admit`: the engine
never looks through the stores for work. State changes of containers come from the runtime's
event stream (die, oom, health), not from polling each task: what the engine makes of them
lives in task_events.py (TaskEngine inherits it), and the shape and volumes a runner builds its
containers from in task_volumes.py.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from emulator.config import Settings
from emulator.ecs.model import utcnow
from emulator.ecs.store import EcsState
from emulator.engine import container_specs, task_volumes
from emulator.engine.exit_reconciler import RECONCILE_EVERY_S, ExitReconciler
from emulator.engine.hooks import TaskHook
from emulator.engine.sandbox_pool import SandboxPool
from emulator.engine.task_events import TaskEvents
from emulator.engine.task_runner import TaskRunner
from emulator.runtime.status import ContainerStatus, TaskStatus

log = logging.getLogger("emulator.engine")

# How long a reset waits for the killed tasks' runners to remove their containers before it
# answers; what is left they finish in the background (and an emulator's stop removes).
RESET_WAIT_S = 5.0
SHUTDOWN_GRACE_S = 2  # SIGTERM to SIGKILL for each task when the emulator stops
ENGINE_HOLD_S = 30  # how long a new task waits for a Docker Engine that does not answer


class TaskEngine(TaskEvents):
    def __init__(self, state: EcsState, runtime_factory, settings: Settings,
                 hooks: list[TaskHook] | None = None):
        self.state = state
        self.settings = settings
        self.hooks: list[TaskHook] = list(hooks or [])
        # Made now (cheap: the Docker SDK is imported on first use), so every thread shares one.
        self._runtime = runtime_factory()
        self.sandboxes = SandboxPool(lambda: self._runtime, settings.sandbox_pool,
                                     settings.sandbox_pool_burst)
        # task ARN -> (its runner's thread, the task): the engine knows its tasks even after the
        # state forgot them (a reset drops the state first, then stops what still runs).
        self._runners: dict[str, tuple[threading.Thread, object]] = {}
        self._stopping = threading.Event()
        self._started = False
        self._waiting: list[tuple[object, object]] = []  # (store, task) admitted before start
        self._threads: list[threading.Thread] = []
        self._watch_ends: list[threading.Event] = []  # each other engine's stream's (watch)
        self.task_listeners: list = []  # fn(store, task) on every known-status change
        # fn() on each start, die or destroy Docker tells of a container of ours, before it is
        # recorded: the access checks' view of the network is stale from then (callers.py)
        self.network_listeners: list = []
        # The engine's health (engine_health.py), when watched: a broken event stream makes it
        # look at once, and new tasks wait for an engine that is gone (hold_for_engine).
        self.health = None
        self.engines = None  # the Docker Engines, when watched (engines.py)
        # Where the event stream starts (epoch seconds; None: now). Set by adoption, so a
        # container that dies while the engine starts is not missed.
        self.events_since: float | None = None
        # How often each engine's container list is compared with the tasks (exit_reconciler.py).
        self.reconcile_every_s = RECONCILE_EVERY_S
        state.door.engine = self.admit
        # The start-up's first calls to Docker (orphans, the event stream, the health probe)
        # wait for this; set unless a server holds them until its first answer (server.py).
        self.docker_start = threading.Event()
        self.docker_start.set()

    @property
    def runtime(self):
        return self._runtime

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        # Events from now on, even those that come while the first clean-up pass is still
        # removing a dead emulator's leftovers (before the stream is open): a task that dies
        # meanwhile is not left RUNNING.
        if self.events_since is None:
            self.events_since = time.time()
        reconciler = ExitReconciler(self, self._runtime, self.health)
        for target, name in ((self._watch_events, "task-events"), (self._purge_loop, "task-purge"),
                             (lambda: self._reconcile(reconciler, self._stopping), "task-reconcile")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        with self.state.lock:
            self._started = True
            waiting, self._waiting = self._waiting, []
            for store, task in waiting:
                # not one that stopped meanwhile, nor one adopted since
                if task.known < TaskStatus.STOPPED and task.arn not in self._runners:
                    self._run(store, task)
        for extra in self.engines.extra() if self.engines is not None else ():
            self.watch(extra.runtime, extra.health, extra.name, extra.unwatched)

    def watch(self, runtime, health, name: str, until: threading.Event | None = None) -> None:
        """Follow another engine's event stream (engines.py) until the engine stops, or until
        `until` is set (the engine is removed: engine_removal.py)."""
        until = until or threading.Event()
        self._watch_ends.append(until)
        thread = threading.Thread(target=self._watch_events, args=(runtime, health, until),
                                  name=f"task-events-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)
        reconciler = ExitReconciler(self, runtime, health)
        thread = threading.Thread(target=self._reconcile, args=(reconciler, until),
                                  name=f"task-reconcile-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _reconcile(self, reconciler: ExitReconciler, until: threading.Event) -> None:
        """Deaths the event stream missed, from the container list (exit_reconciler.py)."""
        while not self.docker_start.wait(0.05) and not until.is_set():
            pass  # as the event stream: not before the server's first answer
        reconciler.loop(until, self.reconcile_every_s)

    def stop(self, remove_everything: bool = True) -> None:
        """Stop every task (containers get their stop timeout), then the engine's threads."""
        self.stop_all_tasks("Emulator shutting down", grace_s=SHUTDOWN_GRACE_S)
        self.wait_for_runners(timeout=SHUTDOWN_GRACE_S + 1)
        # A stop already under way (a StopTask) waits out its own stopTimeout: cut it short.
        with self.state.lock:
            lingering = [task for thread, task in self._runners.values() if thread.is_alive()]
        self._kill_all(lingering)
        self.wait_for_runners(timeout=60)
        self._stopping.set()
        for until in self._watch_ends:
            until.set()
        for thread in self._threads:
            thread.join(timeout=5)
        for pool in self.sandbox_pools():
            pool.close()  # before the sweep: a spare made after it would be left
        if remove_everything:
            try:
                self._runtime.remove_labelled({})
            except Exception as error:  # the engine may be gone; the next emulator removes
                # orphans. One line: with no Docker Engine at all a trace of pages said nothing more.
                log.warning("could not remove this emulator's containers (%s); the next emulator "
                            "removes them", error)
                log.debug("removal failed", exc_info=True)
            if self.engines is not None:
                self.engines.remove_everything()

    def stop_all_tasks(self, reason: str, grace_s: int | None = None, runners=None) -> None:
        with self.state.lock:
            for _, task in (runners if runners is not None else self._runners).values():
                if grace_s is not None:
                    task.stop_grace_s = grace_s
                task.request_stop("TerminationNotice", reason)
            self.state.changed.notify_all()

    def reset(self) -> None:
        """Drop every task at once: a reset is not a StopTask. Containers are killed (no stop
        timeout, no SIGTERM for PID 1 to ignore), in parallel; the runners then remove them and
        their sandboxes. Only the runners known now are forgotten: a task run during the reset
        keeps its runner."""
        for pool in self.sandbox_pools():
            # Before the kills: a spare begun while the tasks stop would only be removed again,
            # and the reset would wait for both (the pytest plugin's cycle: two awsvpc tasks
            # make a shape wanted, and their RUNNING leaves the pool a quiet moment to fill).
            pool.forget_demand()
        with self.state.lock:
            stopping = dict(self._runners)
        # Killed before their stop is asked for, so that Docker is not also busy with twenty
        # runners' `docker stop` calls while it kills.
        self._kill_all([task for _, task in stopping.values()])
        self.stop_all_tasks("Emulator reset", grace_s=0, runners=stopping)
        deadline = time.monotonic() + RESET_WAIT_S
        for thread, _ in stopping.values():
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        with self.state.lock:
            for arn in stopping:
                self._runners.pop(arn, None)
        for pool in self.sandbox_pools():
            pool.drain()  # a reset leaves nothing of ours running

    def _kill_all(self, tasks: list) -> None:
        with self.state.lock:
            ids = [(self.runtime_of(task), c.runtime_id) for task in tasks for c in task.containers
                   if c.runtime_id and c.known < ContainerStatus.STOPPED]
        if not ids:
            return
        with ThreadPoolExecutor(max_workers=min(32, len(ids)),
                                thread_name_prefix="reset-kill") as pool:
            for _ in pool.map(lambda pair: self._kill_quietly(*pair), ids):
                pass

    def _kill_quietly(self, runtime, container_id: str) -> None:
        try:
            runtime.kill_container(container_id)
        except Exception:  # gone already, or Docker is; the runner's teardown removes it
            log.debug("reset could not kill %s", container_id, exc_info=True)

    def wait_for_runners(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread, _ in list(self._runners.values()):
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    # -- admitting new tasks ------------------------------------------------------------------------

    def adopt(self, task, runner) -> None:
        """Give `task` (its containers already run) the runner that sees it through to STOPPED,
        before the engine starts, so it is not admitted as a new task (call under the lock)."""
        thread = threading.Thread(target=runner.run, name=f"task-{task.id[:8]}", daemon=True)
        self._runners[task.arn] = (thread, task)
        thread.start()

    def admit(self, store, tasks: list) -> None:
        """The task door's hand-off: a runner for each new task (call under the state lock).
        Tasks admitted before the engine starts (a restarted emulator's, not yet begun) wait
        for it; after it stopped, none runs."""
        for task in tasks:
            if task.arn in self._runners or task.known >= TaskStatus.STOPPED:
                continue
            if not self._started:
                self._waiting.append((store, task))
            elif not self._stopping.is_set():
                self._run(store, task)

    def _run(self, store, task) -> None:
        runner = TaskRunner(self, store, task)
        thread = threading.Thread(target=runner.run, name=f"task-{task.id[:8]}", daemon=True)
        self._runners[task.arn] = (thread, task)
        thread.start()

    def _find_task(self, arn: str):
        for store in self.state.stores():
            task = store.tasks.get(arn)
            if task is not None:
                return store, task
        return None, None

    # -- retention ----------------------------------------------------------------------------------

    def _purge_loop(self) -> None:
        while not self._stopping.wait(10.0):
            try:
                self.purge_stopped()
            except Exception:  # one bad pass must not end the purging for good
                log.exception("purging stopped tasks failed")

    def purge_stopped(self) -> None:
        cutoff = utcnow().timestamp() - self.settings.task_retention_s
        with self.state.lock:
            for store in self.state.stores():
                for arn, task in list(store.tasks.items()):
                    if task.stopped_at is not None and task.stopped_at.timestamp() < cutoff:
                        del store.tasks[arn]
                        self._runners.pop(arn, None)
            # Finished runners of tasks no store holds (a cluster created again forgot its
            # predecessor's tasks: EcsStore.forget_cluster).
            held = {arn for store in self.state.stores() for arn in store.tasks}
            for arn, (thread, _) in list(self._runners.items()):
                if arn not in held and not thread.is_alive():
                    del self._runners[arn]
            if self.engines is not None:
                self.engines.forget_removed(self.state)

    # -- what runners ask of the engine -----------------------------------------------------------

    def hold_for_engine(self, task) -> None:
        """A new task waits (PROVISIONING) while its engine is known to be gone, up to
        ENGINE_HOLD_S, rather than failing at once; after that its first call fails and says
        the engine cannot be reached."""
        health = self.engines.health_of(task) if self.engines is not None else self.health
        if health is not None and not health.answering():
            health.wait_until_answering(
                ENGINE_HOLD_S, cancelled=lambda: task.stop_requested)

    def runtime_for(self, store, task):
        """The runtime of the engine that runs `task`, chosen now if none is yet (under the
        lock): the default engine's unless the emulator has several."""
        return self.engines.runtime_for(store, task) if self.engines is not None else self._runtime

    def runtime_of(self, task):
        return self.engines.runtime_of(task) if self.engines is not None else self._runtime

    def sandboxes_of(self, task) -> SandboxPool:
        """The ready awsvpc sandboxes of the task's engine (each engine keeps its own)."""
        return self.engines.sandboxes_of(task) if self.engines is not None else self.sandboxes

    def sandbox_pools(self) -> list[SandboxPool]:
        """Every engine's pool, the default engine's first."""
        extra = self.engines.extra() if self.engines is not None else ()
        return [self.sandboxes, *(engine.sandboxes for engine in extra)]

    def engine_answers(self, task) -> bool:
        """False only when the task's engine is known not to answer."""
        health = self.engines.health_of(task) if self.engines is not None else self.health
        return health is None or health.answering()

    def live_tasks(self, runtime=None) -> list:
        """(store, task) of every task whose runner still runs, on `runtime`'s engine if given
        (under the lock)."""
        found = []
        for thread, task in self._runners.values():
            if thread.is_alive() and task.known < TaskStatus.STOPPED and (
                    runtime is None or self.runtime_of(task) is runtime):
                store, known = self._find_task(task.arn)
                if known is task:
                    found.append((store, task))
        return found

    def tasks_with_runners(self) -> set[str]:
        """ARNs of tasks whose runner has not finished (it removes their containers itself)."""
        return {arn for arn, (thread, _) in self._runners.items() if thread.is_alive()}

    def labels_for(self, task, container_name: str) -> dict[str, str]:
        return task_volumes.labels_for(task, container_name)

    def task_shape(self, task, volumes: list[str]) -> container_specs.TaskShape:
        """The task's shape, its volumes made (task_volumes.py) on the task's engine."""
        return task_volumes.task_shape(task, volumes, self.settings.publish_host,
                                       self.runtime_of(task), self.settings.default_account_id)

    def environment_for(self, store, task, container) -> dict[str, str]:
        environment = {}
        for hook in self.hooks:
            environment.update(hook.environment(store, task, container))
        for item in container.definition.get("environment", []):
            environment[item["name"]] = item.get("value", "")
        return environment

    def resolve_image(self, store, image: str, engine: str | None = None):
        """The name `engine` (a task's; None: the default) pulls `image` by, and credentials."""
        for hook in self.hooks:
            resolved = hook.resolve_image(store, image, engine)
            if resolved is not None:
                return resolved
        return image, None

    def call_hooks(self, method: str, store, task, isolated: bool = False) -> None:
        """Call `method` of every hook. Isolated: one hook's failure is logged and the others
        still run (for what happens after the task's fate is decided)."""
        for hook in self.hooks:
            if not isolated:
                getattr(hook, method)(store, task)
                continue
            try:
                getattr(hook, method)(store, task)
            except Exception:
                log.exception("%s.%s failed for task %s", type(hook).__name__, method, task.id)

    def task_changed(self, store, task) -> None:
        for listener in self.task_listeners:
            listener(store, task)
