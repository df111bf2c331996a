"""A service's tasks on a DRAINING container instance, moved off as ECS moves them.

From the Developer Guide's "Draining Amazon ECS container instances": the service's PENDING tasks
there stop at once; its RUNNING tasks there are stopped and replaced within the service's
deployment configuration: replacements start elsewhere as far as maximumPercent allows (the
tasks being drained still count against it), and a drained task stops only as far as
minimumHealthyPercent allows, counting replacements as healthy once steady and the drained
tasks while they run (so with 100% one stops once its replacement is steady). The scheduler (scheduler.py) leaves tasks on draining instances out of
the count of its deployment's tasks, so it launches their replacements and never scales in the
new ones in their place.
"""

from __future__ import annotations

import math

from emulator.runtime.status import TaskStatus

DRAIN_REASON = "Task stopped because its container instance is DRAINING"


def on_draining_instance(store, task) -> bool:
    if task.container_instance_arn is None:
        return False
    instance = store.container_instances.get(task.container_instance_arn)
    return instance is not None and instance.status == "DRAINING"


def drain(rec) -> None:
    """One pass of a replica service (`rec`: the scheduler's Reconciliation)."""
    draining = [t for t in rec.live if on_draining_instance(rec.store, t)]
    if not draining:
        return
    pending = [t for t in draining if t.known < TaskStatus.RUNNING]
    running = [t for t in draining if t.known >= TaskStatus.RUNNING]
    minimum = math.ceil(rec._desired() * rec.percent("minimumHealthyPercent") / 100)
    # A replacement counts once steady; a task being drained while it runs (ECS: a RUNNING task
    # of a service without a load balancer is healthy), so that none stops before its
    # replacement is up, however new it is.
    healthy = sum(1 for t in rec.live if rec.steady(t) or (t in running and t.serving))
    allowance = healthy - minimum
    victims = list(pending)
    for task in sorted(running, key=lambda t: t.serving):  # those not serving go first
        if task.serving:
            if allowance <= 0:
                break
            allowance -= 1
        victims.append(task)
    rec.stop_tasks(victims, DRAIN_REASON)
