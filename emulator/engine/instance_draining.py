"""A service's tasks on a DRAINING container instance, moved off as ECS moves them.

From the Developer Guide's "Draining Amazon ECS container instances": the service's PENDING tasks
there stop at once; its RUNNING tasks there are stopped and replaced within the service's
deployment configuration: replacements start elsewhere as far as maximumPercent allows (the
tasks being drained still count against it), and a drained task stops only as far as
minimumHealthyPercent allows, counting steady tasks as healthy (so with 100% it stops once its
replacement is steady). The scheduler (scheduler.py) leaves tasks on draining instances out of
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
    allowance = sum(1 for t in rec.live if rec.steady(t)) - minimum
    victims = list(pending)
    for task in sorted(running, key=rec.steady):  # those not serving steadily go first
        if rec.steady(task):
            if allowance <= 0:
                break
            allowance -= 1
        victims.append(task)
    rec.stop_tasks(victims, DRAIN_REASON)
