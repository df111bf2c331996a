"""Task scale-in protection: UpdateTaskProtection and GetTaskProtection, and the rule the service
scheduler keeps (a protected task is not stopped to scale in or to roll a deployment forward).

Protection is an expiry time on the task; it is on while that time is ahead, so it lapses on time
with no timer (the scheduler's passes, a second apart, see the change). Only tasks of a service
can be protected: others answer the failure TASK_NOT_VALID, as on ECS.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from emulator.ecs import tasks
from emulator.ecs.errors import InvalidParameterException
from emulator.ecs.model import utcnow
from emulator.ecs.store import EcsStore
from emulator.ecs.task_model import Task

DEFAULT_MINUTES = 120
MAX_MINUTES = 2880
MAX_UPDATE = 10
MAX_GET = 100

NOT_VALID = "TASK_NOT_VALID"
NOT_IN_SERVICE = "The task is not part of a service; only tasks of a service can be protected."
NOT_RUNNING = "The task is not running."


@dataclass(frozen=True)
class Refused:
    """A task named that cannot be protected (or was not found): the API's Failure."""

    arn: str
    reason: str
    detail: str | None = None


def is_protected(task: Task, now: dt.datetime | None = None) -> bool:
    return task.protected_until is not None and (now or utcnow()) < task.protected_until


def split_protected(candidates: list[Task]) -> tuple[list[Task], list[Task]]:
    """(unprotected, protected): what the scheduler may stop, and what it must leave running."""
    now = utcnow()
    protected = [t for t in candidates if is_protected(t, now)]
    return [t for t in candidates if t not in protected], protected


def update(store: EcsStore, cluster_ref: str | None, refs: list[str], enabled: bool,
           minutes: int | None = None) -> tuple[list[Task], list[Refused]]:
    """Protect the tasks named (for `minutes`, else DEFAULT_MINUTES), or end their protection."""
    cluster = store.cluster(cluster_ref)
    _check_count(refs, MAX_UPDATE)
    if enabled and minutes is not None and not 1 <= minutes <= MAX_MINUTES:
        raise InvalidParameterException(
            f"expiresInMinutes must be between 1 and {MAX_MINUTES} minutes.")
    found, failures = _resolve(store, cluster.name, refs)
    for task in found:
        if enabled:
            task.protected_until = utcnow() + dt.timedelta(minutes=minutes or DEFAULT_MINUTES)
        else:
            task.protected_until = None
    if found:
        store.changed()  # the scheduler may stop a task it had to spare
    return found, failures


def get(store: EcsStore, cluster_ref: str | None,
        refs: list[str] | None) -> tuple[list[Task], list[Refused]]:
    """The tasks named, or (refs None: the model lets them out) the cluster's protected ones."""
    cluster = store.cluster(cluster_ref)
    if refs is None:
        now = utcnow()
        return [t for t in sorted(store.tasks_of(cluster.name), key=lambda t: t.arn)
                if not t.stop_requested and is_protected(t, now)], []
    _check_count(refs, MAX_GET)
    return _resolve(store, cluster.name, refs)


def _check_count(refs: list[str], limit: int) -> None:
    if not 1 <= len(refs) <= limit:
        raise InvalidParameterException(f"tasks must list between 1 and {limit} tasks.")


def _resolve(store: EcsStore, cluster_name: str,
             refs: list[str]) -> tuple[list[Task], list[Refused]]:
    found, failures = [], []
    for ref in refs:
        task = tasks.find(store, cluster_name, ref)
        if task is None:
            failures.append(Refused(ref, "MISSING"))
        elif not (task.group or "").startswith("service:"):
            failures.append(Refused(task.arn, NOT_VALID, NOT_IN_SERVICE))
        elif task.stop_requested:
            failures.append(Refused(task.arn, NOT_VALID, NOT_RUNNING))
        elif task not in found:
            found.append(task)
    return found, failures
