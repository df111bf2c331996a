"""The scheduler's part for services with the EXTERNAL deployment controller: task sets.

Each pass (reconciliation.py, under the state lock) keeps every task set's tasks at its
computedDesiredCount: it replaces tasks failing health checks, stops the excess (pending ones
first, then the newest), launches what is missing, and writes each set's stabilityStatus. A
DRAINING set keeps no tasks and is removed once they have all stopped. Task set tasks have the
set's id as startedBy, as ECS gives them.
"""

from __future__ import annotations

import time

from emulator.ecs import services as service_ops
from emulator.ecs.model import utcnow
from emulator.ecs.task_sets import TaskSet, computed_desired_count
from emulator.runtime.status import TaskStatus


def reconcile(rec) -> None:
    """One pass over an EXTERNAL service; `rec` is the scheduler's Reconciliation."""
    service = rec.service
    rec.replace_unhealthy()
    for task_set in list(service.task_sets):
        wanted = computed_desired_count(service, task_set)
        mine = [t for t in rec.live if t.started_by == task_set.id]
        if len(mine) > wanted:
            # Scale in: pending tasks first, then the newest.
            ordered = sorted(mine, key=lambda t: (t.known == TaskStatus.RUNNING,
                                                  -t.created_at.timestamp()))
            rec.stop_tasks(ordered[:len(mine) - wanted],
                      f"Scaling activity initiated by (deployment {task_set.id})")
        elif len(mine) < wanted and time.monotonic() >= service.next_launch_at:
            rec.launch_tasks(task_set, wanted - len(mine))
        _write_stability(rec, task_set, wanted)
    service.task_sets[:] = [s for s in service.task_sets
                            if s.status != "DRAINING" or _unstopped(rec, s)]
    if all(s.stability_status == "STEADY_STATE" for s in service.task_sets):
        if not service.steady_reported:
            service.add_event("has reached a steady state.")
            service.steady_reported = True


def _write_stability(rec, task_set: TaskSet, wanted: int) -> None:
    """STEADY_STATE when the set runs exactly its computed count, all healthy, with nothing
    pending, stopping, or on a DRAINING container instance; STABILIZING otherwise."""
    tasks = _unstopped(rec, task_set)
    live = [t for t in tasks if not t.stop_requested]
    steady = (len(tasks) == len(live) == wanted
              and all(t.serving for t in live)
              and not any(_on_draining_instance(rec, t) for t in live))
    status = "STEADY_STATE" if steady else "STABILIZING"
    if status != task_set.stability_status:
        task_set.stability_status = status
        task_set.stability_status_at = utcnow()


def _unstopped(rec, task_set: TaskSet) -> list:
    return [t for t in service_ops.tasks_of(rec.store, rec.service)
            if t.started_by == task_set.id and t.known < TaskStatus.STOPPED]



def _on_draining_instance(rec, task) -> bool:
    instance = rec.store.container_instances.get(task.container_instance_arn or "")
    return instance is not None and instance.status == "DRAINING"
