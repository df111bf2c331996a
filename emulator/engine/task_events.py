"""What Docker tells of tasks' containers, and what the task engine makes of it: each engine's
event stream (die, destroy, oom, health_status), the deaths the exit reconciler finds that the
stream missed, and the exit codes a runner reads after its stop.

Apart from task_engine.py, which starts and stops runners, because this is the other half of the
engine's job: it never starts anything, only records what happened to containers (under the
state lock) and asks a task to stop when an essential container went. A mixin rather than an
object of its own: it reads and writes the same state, the same stop event and the same health
as the engine, and the runners, the reconciler and adoption call its methods on the engine.
"""

from __future__ import annotations

import logging
import time

from emulator.engine.engine_outage import docker_timestamp, engine_gone_reason
from emulator.engine.sandbox_pool import POOL_NAME
from emulator.runtime import labels as runtime_labels
from emulator.runtime.base import ENDING_SIGNALS
from emulator.runtime.status import ContainerStatus, HealthStatus

log = logging.getLogger("emulator.engine")

OOM_REASON = "OutOfMemoryError: Container killed due to memory usage"


class TaskEvents:
    """The engine's event handling (TaskEngine inherits it): needs the engine's `state`,
    `runtime`, `health`, `_stopping`, `events_since`, `docker_start`, `sandbox_pools`,
    `_find_task`, `task_changed` and `network_listeners`."""

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
        if event.action in ("start", "die", "destroy"):
            # At once: a start is recorded by the runner after Docker's call returns, an exit
            # after a ping; the container may call us (or its address be given) before.
            for listener in self.network_listeners:
                listener()
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
                task.ports_freed(container)
                # One of a task meant to stop was removed by the emulator (a reset, its
                # engine's removal): it takes the task's reason, as the runner settles it.
                if event.action == "destroy" and container.reason is None \
                        and not task.stop_requested:
                    container.reason = "Container removed outside the emulator"
            elif event.action == "oom":
                container.reason = OOM_REASON
            elif event.action == "kill":
                # Docker tells it before the die that follows (both under the container's
                # lock in dockerd): nothing changes yet, the die says what happened. Our own
                # stops (StopTask, a teardown's of the task's other containers) come after the
                # task is meant to stop and are no outside kill; nor is a HUP or USR1.
                if not task.stop_requested and (event.signal is None
                                                or event.signal in ENDING_SIGNALS):
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
        task.ports_freed(container)
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
        task.ports_freed(container)
        self.state.changed.notify_all()
