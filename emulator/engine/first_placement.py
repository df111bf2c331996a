"""CreateService and UpdateService answer once the tasks they make the scheduler place have
started (or failed), for at most `placement_wait_s`.

Why: a test creates a service and waits for it with boto3's services_stable waiter, whose first
DescribeServices comes as soon as CreateService has answered. The scheduler has not placed the
tasks yet, so the waiter sleeps its delay (15 s by default, often 1 s in tests) although the
tasks are RUNNING a few hundred milliseconds later. Holding the answer until then spares every
such test that sleep, and changes nothing a client can see in the answer: it is built from the
state at the call, as AWS's (the new deployment IN_PROGRESS, no task running yet); the wait
comes after it is built, with the state lock released (aws/json_service.py's after-call hooks).

What is waited for is the call's own first placement: the scheduler's first pass after the call
(it is woken by the call, not by its one-second tick), and the tasks that pass left pending
(those of the service's primary deployment not yet RUNNING). It is over when none of them is
pending any more (RUNNING, or failed and stopping), when the pass launched nothing (no room,
launches throttled, a lifecycle hook holding them), when the service or its deployment changes
under it, or at the bound: tasks whose images pull or whose start is slow never hold the call
for long. A call that leaves nothing to place (a scale-in, a change that starts no deployment)
does not wait. At most a quarter of the server's worker threads wait at once, so that a burst
of CreateService calls never keeps other requests from a worker; the others answer at once.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

from emulator.config import Settings
from emulator.ecs import arns
from emulator.ecs import services as service_ops
from emulator.ecs.service_model import Service
from emulator.ecs.store import EcsState, EcsStore

OPERATIONS = ("CreateService", "UpdateService")
# The longest the wait goes without looking again at the state, in case a change that ends it
# (a reset dropping the store) notified no one.
_LOOK_AGAIN_S = 0.25


@dataclass
class _Placement:
    """One call's first placement: the service and deployment it made the scheduler place."""

    store: EcsStore
    service: Service
    deployment_id: str
    after_pass: int  # the scheduler's pass count at the call: the first pass since ends it
    tasks: list | None = field(default=None)  # what that pass left pending, once it ran


def install(ecs, scheduler, task_listeners: list, settings: Settings) -> "FirstPlacements":
    """Make `ecs` (the ECS JsonService) wait for the first placements of OPERATIONS, told of the
    passes of `scheduler` and, through `task_listeners` (the task engine's), of task changes."""
    placements = FirstPlacements(ecs.state, settings)
    placements.stopped = scheduler.stopped
    scheduler.pass_listeners.append(placements.on_pass)
    task_listeners.append(placements.on_task_changed)
    ecs.after_call.update({operation: placements.after_call for operation in OPERATIONS})
    return placements


class FirstPlacements:
    """The ECS JsonService's after-call hook of OPERATIONS, and the scheduler's and the task
    engine's listener (both called under the state lock)."""

    def __init__(self, state: EcsState, settings: Settings):
        self.state = state
        # A bound that is not a finite positive number (nan, inf) would never end a wait.
        bound = settings.placement_wait_s
        self.bound_s = bound if math.isfinite(bound) and bound > 0 else 0.0
        # The scheduler stopped (the emulator stops): no pass will come (looked at every
        # _LOOK_AGAIN_S).
        self.stopped = lambda: False
        self._changed = threading.Condition(state.lock)
        self._slots = threading.BoundedSemaphore(max(settings.threads // 4, 1))
        # The scheduler's passes over the services. Each runs whole under the lock, so a count
        # above the one seen at a call (under the lock too) means a whole pass since the call.
        self.passes = 0

    # -- the scheduler's and the task engine's news (under the lock) --------------------------------

    def on_pass(self) -> None:
        self.passes += 1
        self._changed.notify_all()

    def on_task_changed(self, store, task) -> None:
        self._changed.notify_all()


    # -- the calls ----------------------------------------------------------------------------------

    def after_call(self, call, output: dict):
        """Under the lock, after the handler: what the call leaves to place, as a function that
        waits for it once the lock is released; None if there is nothing to wait for."""
        if self.bound_s <= 0:
            return None
        placement = self._placement_of(call.store, output.get("service") or {})
        return (lambda: self._wait(placement)) if placement is not None else None

    def _placement_of(self, store: EcsStore, wire: dict) -> _Placement | None:
        cluster = arns.name_from(wire.get("clusterArn", ""), "cluster")
        service = store.services.get((cluster, wire.get("serviceName")))
        if (service is None or service.status != "ACTIVE" or not service.deployments
                or service.scheduling_strategy != "REPLICA"):
            return None  # no deployments: EXTERNAL (task sets); DAEMON: not this scheduler's way
        primary = service.primary
        if primary.rollout_state == "FAILED":
            return None
        placed = sum(1 for t in service_ops.tasks_of(store, service)
                     if t.started_by == primary.id and not t.stop_requested)
        if placed >= primary.desired_count:
            return None
        return _Placement(store, service, primary.id, self.passes)

    def _wait(self, placement: _Placement) -> None:
        if not self._slots.acquire(blocking=False):
            return  # enough calls wait already: this one answers as it would without the wait
        try:
            deadline = time.monotonic() + self.bound_s
            with self._changed:  # waiting releases the lock
                while not self._settled(placement):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return
                    self._changed.wait(min(left, _LOOK_AGAIN_S))
        finally:
            self._slots.release()

    def _settled(self, placement: _Placement) -> bool:
        """Under the lock: is the call's first placement over?"""
        service = placement.service
        if self.stopped():
            return True
        if (not any(store is placement.store for store in self.state.stores())
                or placement.store.services.get((service.cluster_name, service.name)) is not service
                or service.status != "ACTIVE" or not service.deployments
                or service.primary.id != placement.deployment_id):
            return True  # reset, deleted, or another deployment took over: nothing of ours left
        if self.passes <= placement.after_pass:
            return False  # the scheduler's first pass since the call has not run yet
        if placement.tasks is None:
            placement.tasks = [t for t in service_ops.tasks_of(placement.store, service)
                               if t.started_by == placement.deployment_id and t.pending]
        return not any(t.pending for t in placement.tasks)
