"""What the emulator does when a Docker Engine stops answering and when it comes back.

While the engine is gone, its container instances show agentConnected false, as ECS shows an
instance whose agent lost its connection; the scheduler holds launches on it (scheduler.py asks
`answering`), and new task runners wait for it (TaskEngine.hold_for_engine) instead of failing
at once. Running tasks are left as they are at first: their containers may still run (an
engine that is only unreachable) or not (one that restarted: dockerd stops taking new calls,
then stops every container; the event stream it still holds open tells of each, and the task
engine, seeing the engine no longer answer, says so in the task's stoppedReason). An engine
that does not answer for `lost_after_s` loses its tasks: STOPPED as ECS stops those of an
instance it lost, asking nothing of the engine, so services replace them where engines answer.

When it answers again: instances connected again; every task's started containers are asked
for; those that no longer run are STOPPED with their exit code, and a task whose essential
container went says the engine restart killed it; then the dead task and pause containers that
no runner will remove any more (their removal failed while the engine was gone) are removed, at
once and again shortly after, once the runners of the tasks just stopped have finished.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading

from emulator.engine.engine_health import EngineHealth, Outage
from emulator.engine.sandbox_pool import POOL_NAME
from emulator.runtime import labels as runtime_labels
from emulator.runtime.status import ContainerStatus

log = logging.getLogger("emulator.engine")

ENGINE_GONE_REASON = ("Essential container in task exited: the Docker Engine at {} stopped or "
                      "restarted")
LOST_REASON = ("Task lost: the Docker Engine at {} of its container instance has not answered "
               "for {:g} s")
SWEEP_AGAIN_AFTER_S = (2.0, 10.0)  # the runners of the tasks the restart stopped finish by then


class EngineOutage:
    """Ties one engine's health to its container instances, its tasks and its leftovers."""

    def __init__(self, engine, health: EngineHealth, runtime, on_engine=lambda instance: True,
                 lost_after_s: float = 30.0):
        """`engine`: the TaskEngine; `on_engine(instance)`: whether a container instance's tasks
        run on this engine; after `lost_after_s` without an answer its tasks are lost."""
        self.engine = engine
        self.lost_after_s = lost_after_s
        self._lost_timer: threading.Timer | None = None
        self.state = engine.state
        self.health = health
        self.runtime = runtime
        self.on_engine = on_engine
        self.sandboxes = None  # the engine's SandboxPool (engines.py sets it): its leftovers
        # () -> another engine's name on this one's daemon (a duplicate found late), or None:
        # that engine's spares and sandboxes are on this daemon too, unknown to this pool.
        self.shares_daemon = lambda: None
        health.on_down.append(self.on_down)
        health.on_up.append(self.on_up)

    # -- agentConnected --------------------------------------------------------------------------

    def on_down(self) -> None:
        self._connect(False)
        self._lost_timer = threading.Timer(self.lost_after_s, self._lose_tasks)
        self._lost_timer.daemon = True
        self._lost_timer.start()

    def on_up(self, outage: Outage) -> None:
        if self._lost_timer is not None:
            self._lost_timer.cancel()
        self._connect(True)
        try:
            self._stop_what_died(outage)
            if self.sandboxes is not None:
                # The die events of spares that went with the engine (a dockerd crash, a host
                # reboot) may be lost: a ready spare might be dead, and a claim does not look.
                self.sandboxes.drain(forget_claims=False)  # for the sweep's `unowned`
            self.sweep()
        except Exception:  # the engine may have gone again; its next return tries again
            log.warning("could not reconcile tasks with the Docker Engine %s", self.health.name,
                        exc_info=True)
            return
        for delay in SWEEP_AGAIN_AFTER_S:
            timer = threading.Timer(delay, self._sweep_quietly)
            timer.daemon = True
            timer.start()

    def close(self) -> None:
        """No more listening (the engine is removed, or the emulator stops)."""
        if self._lost_timer is not None:
            self._lost_timer.cancel()
        for listeners, listener in ((self.health.on_down, self.on_down),
                                    (self.health.on_up, self.on_up)):
            if listener in listeners:
                listeners.remove(listener)

    def _connect(self, connected: bool) -> None:
        with self.state.lock:
            for store in self.state.stores():
                for instance in store.container_instances.values():
                    if instance.agent_connected != connected and self.on_engine(instance) \
                            and instance.status != "INACTIVE":
                        instance.agent_connected = connected
                        instance.version += 1
            self.state.changed.notify_all()

    # -- tasks lost with their engine -------------------------------------------------------------

    def _lose_tasks(self) -> None:
        """The engine has been gone too long: its tasks are STOPPED, as ECS stops the tasks of
        an instance it lost, and services replace them where engines answer. Should it come
        back, the sweep removes what is left of them."""
        if self.health.answering():
            return
        reason = LOST_REASON.format(self.health.address, self.lost_after_s)
        with self.state.lock:
            lost = [task for _, task in self.engine.live_tasks(self.runtime)
                    if not task.stop_requested]
            for task in lost:
                task.request_stop("TerminationNotice", reason)
            self.state.changed.notify_all()
        if lost:
            log.warning("%d tasks lost with the Docker Engine %s", len(lost), self.health.name)

    # -- tasks whose containers died while the engine was gone -----------------------------------

    def _stop_what_died(self, outage: Outage) -> None:
        with self.state.lock:
            watched = [(store, task, container, container.runtime_id)
                       for store, task in self.engine.live_tasks(self.runtime)
                       for container in task.containers
                       if container.runtime_id and container.started
                       and container.known < ContainerStatus.STOPPED]
        found = {runtime_id: self.runtime.inspect_container(runtime_id)
                 for _, _, _, runtime_id in watched}
        since = dt.datetime.fromtimestamp(outage.since, dt.timezone.utc)
        reason = engine_gone_reason(self.health.address)
        with self.state.lock:
            for store, task, container, runtime_id in watched:
                state = found[runtime_id]
                if state is not None and state.running:
                    continue
                if container.known >= ContainerStatus.STOPPED:
                    continue  # an event told us meanwhile
                container.known = ContainerStatus.STOPPED
                if state is not None and state.exit_code is not None:
                    container.exit_code = state.exit_code
                died_in_outage = state is None or _finished_after(state, since)
                if container.reason is None:
                    container.reason = reason if died_in_outage else None
                if container.essential and not task.stop_requested:
                    task.request_stop("EssentialContainerExited", reason if died_in_outage
                                      else "Essential container in task exited")
                self.engine.task_changed(store, task)
            self.state.changed.notify_all()

    # -- leftovers -------------------------------------------------------------------------------

    def sweep(self) -> int:
        """Remove this emulator's task and pause containers on the engine whose task has no
        runner left to remove them (STOPPED, or forgotten), and the pool's claimed sandboxes
        nobody owns (sandbox_pool.py: they carry no task label), unless another engine shares
        the daemon (its pool's spares would look nobody's here). Returns how many."""
        containers, _ = self.runtime.owned()
        spares = [c["Id"] for c in containers
                  if (c.get("Labels") or {}).get(runtime_labels.CONTAINER_NAME) == POOL_NAME]
        if spares and self.shares_daemon() is not None:
            spares = []
        with self.state.lock:
            live = self.engine.tasks_with_runners()
            sandboxes = {task.sandbox_id for _, task in self.engine.live_tasks(self.runtime)
                         if task.sandbox_id}
            # Asked under the lock that admits runners: a spare claimed after `live` was taken
            # would be handed to a runner not in it (`take` takes only the pool's own lock).
            unowned = (self.sandboxes.unowned(spares, live, sandboxes)
                       if spares and self.sandboxes is not None else [])
        dead = [c["Id"] for c in containers
                if (c.get("Labels") or {}).get(runtime_labels.TASK_ARN)
                and c["Labels"][runtime_labels.TASK_ARN] not in live] + unowned
        for container_id in dead:
            self.runtime.remove_container(container_id)
        if dead:
            log.info("removed %d containers of stopped tasks from the Docker Engine %s",
                     len(dead), self.health.name)
        return len(dead)

    def _sweep_quietly(self) -> None:
        if not self.health.answering():
            return
        try:
            self.sweep()
        except Exception:
            log.debug("sweep of the Docker Engine %s failed", self.health.name, exc_info=True)


def engine_gone_reason(address: str) -> str:
    return ENGINE_GONE_REASON.format(address)


def stopped_by_engine(task) -> bool:
    """Whether the task stopped because its engine went, or was removed (the scheduler does not
    count it as a failure of the task: no throttle, no circuit breaker)."""
    from emulator.engine.engine_removal import REMOVED_REASON

    return (task.stopped_reason or "").startswith(
        (ENGINE_GONE_REASON.split("{}")[0], LOST_REASON.split("{}")[0],
         REMOVED_REASON.split("{}")[0]))


def _finished_after(state, since: dt.datetime) -> bool:
    """Whether the container stopped after `since` (a little before: the engine stops answering
    a moment before it stops containers, and our probe sees it up to a second late)."""
    finished = _docker_time(getattr(state, "finished_at", None))
    if finished is None:
        return True  # Docker did not say: the outage is the likeliest cause
    return finished >= since - dt.timedelta(seconds=5)


def docker_timestamp(value: str | None) -> float | None:
    """A Docker RFC 3339 time (FinishedAt) as wall-clock seconds; None if unset or unreadable
    (Docker's zero time is year 1: it never finished)."""
    when = _docker_time(value)
    return None if when is None or when.year < 2000 else when.timestamp()


def _docker_time(value: str | None) -> dt.datetime | None:
    """Docker's RFC 3339 times carry nanoseconds, more than fromisoformat takes."""
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?", value or "")
    if match is None:
        return None
    micros = int((match.group(2) or "0")[:6].ljust(6, "0"))
    return dt.datetime.fromisoformat(match.group(1)).replace(microsecond=micros,
                                                             tzinfo=dt.timezone.utc)
