"""The task engine: starts a runner for every new task, watches the runtime's events, and
forgets stopped tasks after the retention time.

New tasks are handed to it by the task door (ecs/task_door.py), which calls `admit`: the engine
never looks through the stores for work. State changes of containers come from the runtime's
event stream (die, oom, health), not from polling each task.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from emulator.config import Settings
from emulator.ecs.model import utcnow
from emulator.ecs.store import EcsState
from emulator.engine import container_specs
from emulator.engine.engine_outage import docker_timestamp, engine_gone_reason
from emulator.engine.exit_reconciler import RECONCILE_EVERY_S, ExitReconciler
from emulator.engine.hooks import TaskHook
from emulator.engine.sandbox_pool import POOL_NAME, SandboxPool
from emulator.engine.task_runner import TaskRunner
from emulator.runtime import labels as runtime_labels
from emulator.runtime.status import ContainerStatus, HealthStatus, TaskStatus

log = logging.getLogger("emulator.engine")

OOM_REASON = "OutOfMemoryError: Container killed due to memory usage"
# How long a reset waits for the killed tasks' runners to remove their containers before it
# answers; what is left they finish in the background (and an emulator's stop removes).
RESET_WAIT_S = 5.0
SHUTDOWN_GRACE_S = 2  # SIGTERM to SIGKILL for each task when the emulator stops
ENGINE_HOLD_S = 30  # how long a new task waits for a Docker Engine that does not answer


class TaskEngine:
    def __init__(self, state: EcsState, runtime_factory, settings: Settings,
                 hooks: list[TaskHook] | None = None):
        self.state = state
        self.settings = settings
        self.hooks: list[TaskHook] = list(hooks or [])
        # Made now (cheap: the Docker SDK is imported on first use), so every thread shares one.
        self._runtime = runtime_factory()
        self.sandboxes = SandboxPool(lambda: self._runtime, settings.sandbox_pool)
        # task ARN -> (its runner's thread, the task): the engine knows its tasks even after the
        # state forgot them (a reset drops the state first, then stops what still runs).
        self._runners: dict[str, tuple[threading.Thread, object]] = {}
        self._stopping = threading.Event()
        self._started = False
        self._waiting: list[tuple[object, object]] = []  # (store, task) admitted before start
        self._threads: list[threading.Thread] = []
        self._watch_ends: list[threading.Event] = []  # each other engine's stream's (watch)
        self.task_listeners: list = []  # fn(store, task) on every known-status change
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
            except Exception:  # the engine may be gone; the next emulator removes orphans
                log.exception("could not remove this emulator's containers")
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

    # -- runtime events -----------------------------------------------------------------------------

    def _watch_events(self, runtime=None, health=None, until=None) -> None:
        """One engine's event stream (the default engine's unless told another), until
        `until` is set (default: the engine stops)."""
        runtime = runtime or self.runtime
        health = health or self.health
        until = until or self._stopping
        since = self.events_since  # each engine's stream goes on from its own last event
        cleaned = False
        while not self.docker_start.wait(0.05) and not until.is_set():
            pass  # (events_since is set: nothing that happens meanwhile is missed)
        while not until.is_set():
            if not cleaned:  # until the engine answers once: it may be down at start-up
                cleaned = self._remove_orphans(runtime)
            try:
                for event in runtime.events(until, since=since):
                    self._on_event(event, health)
                    # a stream opened again (the engine restarted) goes on from here
                    since = max(since or 0.0, event.time)
            except Exception:  # the engine may be restarting; try again shortly
                log.debug("runtime event stream ended", exc_info=True)
            if health is not None and not until.is_set():
                health.looks_gone()
            until.wait(1.0)

    def _remove_orphans(self, runtime) -> bool:
        """What emulators that died left behind; False while the engine does not answer."""
        try:
            removed = runtime.remove_orphans()
        except Exception:
            log.debug("no Docker Engine to clean up yet", exc_info=True)
            return False
        if removed:
            log.info("removed %d resources left by emulators that are gone", removed)
        return True

    def _on_event(self, event, health=None) -> None:
        task_arn = event.labels.get(runtime_labels.TASK_ARN)
        name = event.labels.get(runtime_labels.CONTAINER_NAME)
        if name == POOL_NAME and event.action in ("die", "destroy"):
            for pool in self.sandbox_pools():  # container ids are unique across engines
                pool.discard(event.container_id)
            return
        if not task_arn or not name:
            return
        # A dockerd going down stops its containers after it stopped answering new calls (the
        # event stream, already open, still tells of them): such a death is the engine's doing.
        health = health or self.health
        with self.state.lock:
            store, task = self._find_task(task_arn)
        # Ask the engine (a ping) only about a death nobody asked for: a stopped task's is ours.
        # One told late, the engine back (a stream opened again replays it), is the engine's
        # too if it happened in the outage.
        engine_gone = (event.action == "die" and health is not None and task is not None
                       and not task.stop_requested
                       and (not health.check() or health.in_outage(event.time or time.time())))
        with self.state.lock:
            container = task.container(name) if task else None
            if container is None:
                return
            if event.action == "health_status":
                container.health = (HealthStatus.HEALTHY if event.health == "healthy"
                                    else HealthStatus.UNHEALTHY)
                task.health = task.aggregate_health()
                task.version += 1
            elif event.action in ("die", "destroy"):
                if container.known >= ContainerStatus.STOPPED:
                    return  # already known (e.g. the destroy that follows our own removal)
                container.known = ContainerStatus.STOPPED
                container.exit_code = event.exit_code
                if event.action == "destroy" and container.reason is None:
                    container.reason = "Container removed outside the emulator"
            elif event.action == "oom":
                container.reason = OOM_REASON
            elif event.action == "kill":
                # Docker tells it before the die that follows (both under the container's
                # lock in dockerd): nothing changes yet, the die says what happened.
                container.killed = True
                return
            else:
                return
            if event.action == "die" and engine_gone:
                self._after_engine_exit(task, container, health)
            elif event.action in ("die", "destroy"):
                self._after_exit(task, container)
            self.state.changed.notify_all()
            self.task_changed(store, task)

    def record_missed_exit(self, store, task, container, state, health=None) -> bool:
        """A death the event stream did not tell, found by reconciliation, recorded as its die
        event (or destroy, when Docker no longer has the container) would have (under the
        lock); False if it is known meanwhile or the task is stopping. One that Docker says
        finished while `health`'s engine did not answer is the engine's doing."""
        if container.known >= ContainerStatus.STOPPED or task.stop_requested:
            return False
        container.known = ContainerStatus.STOPPED
        if state is None:
            container.reason = container.reason or "Container removed outside the emulator"
        else:
            container.exit_code = state.exit_code
            if state.oom_killed:
                container.reason = OOM_REASON
        if state is not None and health is not None and health.in_outage(
                docker_timestamp(state.finished_at)):
            self._after_engine_exit(task, container, health)
        else:
            self._after_exit(task, container)
        self.state.changed.notify_all()
        self.task_changed(store, task)
        return True

    def _after_exit(self, task, container) -> None:
        # A die event means the container did run (possibly before its runner noted the start).
        if container.essential and not task.stop_requested:
            task.request_stop("EssentialContainerExited", "Essential container in task exited")

    def _after_engine_exit(self, task, container, health) -> None:
        reason = engine_gone_reason(health.address)
        if container.reason is None:
            container.reason = reason
        if container.essential and not task.stop_requested:
            task.request_stop("EssentialContainerExited", reason)

    def record_exit(self, task, container, state) -> None:
        """After a stop: the exit code and OOM verdict as Docker observed them (under the lock)."""
        if state is not None and not state.running:
            if state.exit_code is not None and (container.exit_code is None or
                                                 container.known < ContainerStatus.STOPPED):
                container.exit_code = state.exit_code
            if state.oom_killed:
                container.reason = OOM_REASON
        if container.known < ContainerStatus.STOPPED:
            container.known = ContainerStatus.STOPPED
        self.state.changed.notify_all()

    def _find_task(self, arn: str):
        for store in self.state.stores():
            task = store.tasks.get(arn)
            if task is not None:
                return store, task
        return None, None

    # -- retention ----------------------------------------------------------------------------------

    def _purge_loop(self) -> None:
        while not self._stopping.wait(10.0):
            self.purge_stopped()

    def purge_stopped(self) -> None:
        cutoff = utcnow().timestamp() - self.settings.task_retention_s
        with self.state.lock:
            for store in self.state.stores():
                for arn, task in list(store.tasks.items()):
                    if task.stopped_at is not None and task.stopped_at.timestamp() < cutoff:
                        del store.tasks[arn]
                        self._runners.pop(arn, None)

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
        """What names a resource's task; the runtime adds the labels naming this emulator."""
        return {
            runtime_labels.CLUSTER: task.cluster_name,
            runtime_labels.TASK_ARN: task.arn,
            runtime_labels.CONTAINER_NAME: container_name,
        }

    def task_shape(self, task, volumes: list[str]) -> container_specs.TaskShape:
        sources, kinds = self._volumes(task, volumes)
        return container_specs.TaskShape(
            task_id=task.id,
            family=task.definition.family,
            revision=task.definition.revision,
            network_mode=task.network_mode,
            task_cpu=_units(task.cpu),
            task_memory=_units(task.memory),
            publish_ip=self.settings.publish_host,
            volumes=sources,
            volume_kinds=kinds,
            pid_mode=task.definition.spec.get("pidMode"),
            ipc_mode=task.definition.spec.get("ipcMode"),
        )

    def _volumes(self, task, created: list[str]):
        """ECS volumes -> runtime sources. Docker volumes are created here, once per task."""
        sources, kinds = {}, {}
        for volume in task.definition.spec.get("volumes", []):
            name = volume["name"]
            host = volume.get("host") or {}
            docker_config = volume.get("dockerVolumeConfiguration")
            efs = volume.get("efsVolumeConfiguration")
            if host.get("sourcePath"):
                sources[name], kinds[name] = host["sourcePath"], "bind"
                continue
            if efs:
                volume_name = f"ecs-emulator-efs-{efs['fileSystemId']}"
                shared = True
            elif docker_config and docker_config.get("scope") == "shared":
                volume_name, shared = name, True
            else:
                volume_name, shared = f"ecs-{task.id[:12]}-{name}", False
            if volume_name not in created:
                labels = self.labels_for(task, f"~volume-{name}")
                self.runtime_of(task).ensure_volume(
                    volume_name, labels,
                    driver=(docker_config or {}).get("driver"),
                    driver_opts=(docker_config or {}).get("driverOpts"),
                )
                if not shared:
                    created.append(volume_name)
            sources[name], kinds[name] = volume_name, "volume"
        return sources, kinds

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


def _units(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None
