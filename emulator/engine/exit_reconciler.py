"""The safety net under the event stream: every few seconds, one container list per engine,
and a task whose container Docker lists as exited (or no longer has) while we still think it
runs is told of the death as its die event would have told it.

The event stream is how deaths are known (task_engine.py); but dockerd drops events for a
subscriber slower than 100 ms (a loaded host), and a stream that drops loses what happened
while it was reopened beyond Docker's buffer. The ECS agent reconciles with Docker for the same
reason. One list per engine and pass (never an inspect per task); one inspect only for a
container found dead, for its exit code and OOM verdict.

Deaths of an engine's outage are the outage handling's (engine_outage.py) to record as the
engine's: no pass while the engine does not answer nor while it recovers (its return's
listeners still run), and a death found later that Docker says finished in the outage is
recorded as the engine's too (record_missed_exit), so that no service counts it as a failure.
"""

from __future__ import annotations

import logging
import threading
import time

from emulator.runtime.status import ContainerStatus

log = logging.getLogger("emulator.engine")

RECONCILE_EVERY_S = 5.0
# A container whose start its runner noted less than this ago is left alone: its die event
# may be on its way, and the list may have been made before the start.
START_SETTLE_S = 1.0
_ALIVE = ("running", "paused", "restarting", "created")


class ExitReconciler:
    """One engine's reconciliation (the engine's runtime, for its tasks only)."""

    def __init__(self, engine, runtime, health=None):
        self.engine = engine
        self.runtime = runtime
        self.health = health  # the engine's (engine_health.py), when watched
        self._noted: dict[str, float] = {}  # container id -> when first seen started (monotonic)

    def loop(self, until: threading.Event, every_s: float = RECONCILE_EVERY_S) -> None:
        while not until.wait(every_s):
            try:
                self.reconcile()
            except Exception:  # the engine may be down: its health watch handles that
                log.debug("reconciliation with the container list failed", exc_info=True)

    def reconcile(self) -> int:
        """One pass; how many deaths it recorded."""
        runtime = self.runtime
        due = self._due(runtime)
        if not due:
            return 0
        listed = {entry["Id"]: entry for entry in runtime.listed_containers()}
        dead = [(store, task, container) for store, task, container in due
                if listed.get(container.runtime_id, {}).get("State") not in _ALIVE]
        if dead and not self._engine_answers(runtime):
            return 0  # deaths of an engine going down: its outage handling says so (as die does)
        recorded = 0
        for store, task, container in dead:
            entry = listed.get(container.runtime_id)
            # Dead or gone: what Docker knows of it (None once removed).
            state = runtime.inspect_container(container.runtime_id) if entry else None
            if state is not None and state.running:
                continue  # (a list made before a restart; never ours, but never a false death)
            with self.engine.state.lock:
                if self.engine.record_missed_exit(store, task, container, state,
                                                  self._health(runtime)):
                    recorded += 1
                    log.warning("task %s: container %s exited unseen by the event stream",
                                task.id, container.name)
        return recorded

    def _engine_answers(self, runtime) -> bool:
        """It answers, and is not recovering from an outage: what died in it is the outage
        handling's to record (as the engine's), not ours (as the task's own exit)."""
        health = self._health(runtime)
        return health is None or (health.check() and not health.recovering)

    def _health(self, runtime):
        # (the default engine's health may be watched only after the engine started)
        return self.health or (self.engine.health if runtime is self.engine.runtime else None)

    def _due(self, runtime) -> list:
        """(store, task, container) for each container of a live task on `runtime` whose start
        was noted long enough ago and whose death is not yet known, of tasks not stopping."""
        now = time.monotonic()
        due, noted = [], {}
        health = self._health(runtime)
        if health is not None and (not health.answering() or health.recovering):
            return []  # a lost engine's tasks are engine_outage.py's, until it has recovered
        with self.engine.state.lock:
            for store, task in self.engine.live_tasks(runtime):
                if task.stop_requested:
                    continue  # its runner's teardown records each exit
                for container in task.containers:
                    if not (container.runtime_id and container.started
                            and container.known < ContainerStatus.STOPPED):
                        continue
                    first = self._noted.get(container.runtime_id, now)
                    noted[container.runtime_id] = first
                    if now - first >= START_SETTLE_S:
                        due.append((store, task, container))
        self._noted = noted
        return due
