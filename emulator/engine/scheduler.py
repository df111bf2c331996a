"""The service scheduler: keeps every service at its desired count and rolls out deployments.

Each pass, under the state lock, compares a service's deployments with its live tasks (desired
RUNNING): it stops what must go (old deployments within minimumHealthyPercent, excess tasks,
tasks failing health checks), then starts what is missing within maximumPercent, and marks a
deployment COMPLETED or, with the circuit breaker, FAILED. Launches after repeated failures are
throttled with a growing delay, as ECS throttles them. Tasks are launched through the task door
(ecs/task_door.py) with a LaunchRequest per deployment, task set or daemon instance; the door
admits them and hands them to the task engine, which starts the containers. What one pass
over one service decides is reconciliation.py's (a Reconciliation); this module runs the passes.
"""

from __future__ import annotations

import logging
import threading

from emulator.config import Settings
from emulator.ecs import daemons
from emulator.ecs.service_model import Service
from emulator.ecs.store import EcsState, EcsStore
from emulator.engine.reconciliation import Reconciliation
from emulator.engine.service_failures import FailureCounter
from emulator.runtime.status import TaskStatus

log = logging.getLogger("emulator.scheduler")


class ServiceScheduler:
    def __init__(self, state: EcsState, settings: Settings, placer=None):
        self.state = state
        self.settings = settings
        self._placer = placer  # fn(store, cluster, tasks, constraints, strategy) -> (placed, failures)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        # fn(store, service) after each pass over a service and after counting one of its
        # tasks' changes, under the lock (EventBridge events); never for a daemon's service
        self.service_listeners: list = []
        # fn() after each whole pass over the services, under the lock (first_placement.py)
        self.pass_listeners: list = []
        self.failures = FailureCounter(settings)
        # fn(store, alarm names) -> those in the ALARM state (CloudWatch in moto; app.py wires it)
        self.alarms_in_alarm = lambda store, names: []
        # Whether the Docker Engine answers (engine_health.py): while it does not, launches are
        # held, not sent to fail and trip the throttle.
        self.engine_answers = lambda: True
        state.listeners.append(self._wake.set)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="service-scheduler", daemon=True)
        self._thread.start()

    def stopped(self) -> bool:
        """Whether stop() was called: no pass comes after it."""
        return self._stopping.is_set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            try:
                self.reconcile_all()
            except Exception:  # one bad pass must not end the scheduler
                log.exception("scheduler pass failed")

    def reconcile_all(self) -> None:
        with self.state.lock:
            try:
                for store in self.state.stores():
                    for service in list(store.services.values()):
                        if service.status != "INACTIVE":
                            self._reconcile(store, service)
                    for daemon in list(store.daemons.values()):  # each runs as a DAEMON service
                        if daemon.status != "DELETED":
                            # no service events for it: EventBridge's are about services
                            self._reconcile(store, daemon.service, notify=False)
                            daemons.after_pass(store, daemon)
            finally:  # a pass that failed is over too: nobody waits for it (first_placement.py)
                for listener in self.pass_listeners:
                    listener()

    def _reconcile(self, store: EcsStore, service: Service, notify: bool = True) -> None:
        try:  # one service's fault must not stop the others being scheduled
            Reconciliation(self, store, service).run()
            for listener in self.service_listeners if notify else ():
                listener(store, service)
        except Exception:
            log.exception("scheduling service %s failed", service.arn)

    # -- what the task engine tells us -------------------------------------------------------------

    def on_task_changed(self, store: EcsStore, task) -> None:
        """Called under the lock on every task status change."""
        service = _service_of(store, task)
        if service is None:
            return
        daemon = (task.group or "").startswith("daemon:")
        if task.known == TaskStatus.STOPPED and daemon:
            daemons.on_task_stopped(store, store.daemons[(task.cluster_name, task.group[7:])],
                                    task)
        self.failures.on_task_changed(service, task)
        for listener in self.service_listeners if not daemon else ():
            listener(store, service)  # what was counted may be news (starts impaired)
        self._wake.set()

    def count_failures(self, store: EcsStore, service: Service, ending: list) -> None:
        """Count the failures of tasks a pass finds still being torn down, and tell the
        listeners at once, as on_task_changed does: a rollback later in the same pass resets
        the count, and starts impaired would go unreported."""
        counted = len(service.counted_failures)
        for task in ending:
            self.failures.count_failure(service, task)
        if len(service.counted_failures) != counted:
            for listener in self.service_listeners:
                listener(store, service)

    def note_failure(self, service: Service) -> None:
        """A launch that could not be placed (the DAEMON and REPLICA passes)."""
        self.failures.note_unplaced(service)


def _service_of(store: EcsStore, task) -> Service | None:
    """The service (or daemon's service) whose group the task is in."""
    group = task.group or ""
    if group.startswith("service:"):
        return store.services.get((task.cluster_name, group[len("service:"):]))
    if group.startswith("daemon:"):
        daemon = store.daemons.get((task.cluster_name, group[len("daemon:"):]))
        return daemon.service if daemon is not None else None
    return None
