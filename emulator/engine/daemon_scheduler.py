"""The scheduler's part for DAEMON services: one task on each eligible container instance.

Eligible instances are the cluster's ACTIVE ones (the local Docker host is registered on demand,
as for RunTask) that satisfy the service's and the task definition's memberOf constraints; the
service's desiredCount is their number (distinctInstance holds by construction). Each pass, as
one reconciliation.Reconciliation under the state lock:
1. tasks on an instance that is no longer eligible (DRAINING, deregistered, a constraint no longer
   met) are stopped, and so is a second task of the deployment on one instance;
2. a rolling update stops first: old deployments' tasks go at once if not healthy, healthy ones
   as far as minimumHealthyPercent allows (0% by default for daemons);
3. then the primary deployment's task is started on each instance without one, within
   maximumPercent (100% by default) while old tasks remain, on that very instance.
Health-check replacement, the circuit breaker and finishing deployments are the replica
scheduler's own steps.
"""

from __future__ import annotations

import dataclasses
import math
import time

from emulator.aws.errors import AwsError
from emulator.ecs import container_instances, placement, task_door
from emulator.ecs.cluster_query import compile_expression
from emulator.ecs.model import ContainerInstance
from emulator.runtime.status import TaskStatus


def reconcile(rec) -> None:
    """One pass over a DAEMON service; `rec` is the scheduler's Reconciliation."""
    service = rec.service
    cluster = rec.store.clusters.get(service.cluster_name)
    if cluster is None:
        return
    instances = eligible_instances(rec, cluster)
    service.desired_count = len(instances)
    service.primary.desired_count = len(instances)
    rec.replace_unhealthy()
    rec.check_circuit_breaker()
    _stop_misplaced(rec, instances)
    rec.stop_surplus()  # old deployments within minimumHealthyPercent
    _launch_missing(rec, cluster, instances)
    rec.finish_deployments()


def eligible_instances(rec, cluster) -> list[ContainerInstance]:
    service = rec.service
    active = placement.ensure_instances(rec.store, cluster)
    constraints = [c for c in service.placement_constraints
                   + service.primary.task_definition.spec.get("placementConstraints", [])
                   if c.get("type") == "memberOf"]
    try:
        predicates = [compile_expression(c.get("expression") or "") for c in constraints]
    except AwsError as error:
        _note(rec, f"was unable to place a task. Reason: {error.message}")
        return []
    return [i for i in active if all(p(_facts(rec, i)) for p in predicates)]


def _facts(rec, instance: ContainerInstance):
    """The instance as the query language sees it, without this service's own tasks, so that an
    expression such as `runningTasksCount == 0` is not undone by the daemon task itself."""
    facts = container_instances.facts_of(rec.store, instance)
    group = rec.service.task_group
    own_running = sum(1 for t in rec.live if t.container_instance_arn == instance.arn
                      and t.known == TaskStatus.RUNNING)
    return dataclasses.replace(facts, running_tasks_count=facts.running_tasks_count - own_running,
                               task_groups=facts.task_groups - {group})


def _stop_misplaced(rec, instances: list[ContainerInstance]) -> None:
    eligible = {i.arn for i in instances}
    gone = [t for t in rec.live if t.container_instance_arn not in eligible]
    rec.stop_tasks(gone, "Container instance is no longer eligible for the daemon service "
                    "(draining, deregistered, or failing its placement constraints).")
    # A second task of one deployment on one instance: keep the running one, the oldest.
    seen, doubles = set(), []
    ordered = sorted(rec.live, key=lambda t: (t.known != TaskStatus.RUNNING,
                                              t.created_at.timestamp()))
    for task in ordered:
        key = (task.container_instance_arn, task.started_by)
        if key in seen:
            doubles.append(task)
        seen.add(key)
    rec.stop_tasks(doubles, f"Scaling activity initiated by (deployment {rec.service.primary.id})")


def _launch_missing(rec, cluster, instances: list[ContainerInstance]) -> None:
    service, primary = rec.service, rec.service.primary
    if primary.rollout_state == "FAILED" or time.monotonic() < service.next_launch_at:
        return
    covered = {t.container_instance_arn for t in rec.live if t.started_by == primary.id}
    occupied = {t.container_instance_arn for t in rec.live}
    # Free instances first: an instance whose old task still runs takes the new one only if
    # maximumPercent leaves room for both.
    waiting = sorted((i for i in instances if i.arn not in covered),
                     key=lambda i: i.arn in occupied)
    old_remain = any(t.started_by != primary.id for t in rec.live)
    maximum = math.floor(len(instances) * rec.percent("maximumPercent") / 100)
    room = maximum - len(rec.live) if old_remain else len(waiting)
    for instance in waiting[:max(room, 0)]:
        _launch_on(rec, cluster, instance)


def _launch_on(rec, cluster, instance: ContainerInstance) -> None:
    request = rec.launch_request(rec.service.primary, instance=instance.arn)
    try:
        admitted = rec.store.door.launch(rec.store, request)
    except AwsError as error:
        _note(rec, f"was unable to place a task. Reason: {error.message}")
        rec.scheduler.note_failure(rec.service)
        return
    if admitted.failures and admitted.failures[0].reason == task_door.NOT_EC2:
        _note(rec, "was unable to place a task. Reason: the DAEMON scheduling strategy runs "
                   "tasks on container instances (EC2 launch type) only.")
    elif admitted.failures:
        _note(rec, "was unable to place a task on container instance "
                   f"{instance.instance_id}. Reason: {admitted.failures[0].reason}")
    rec.note_started(admitted.tasks)


def _note(rec, message: str) -> None:
    """An event, unless it is the latest one already (a pass runs every second)."""
    rec.service.add_event_once(message)
